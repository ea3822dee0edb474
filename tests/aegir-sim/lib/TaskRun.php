<?php

declare(strict_types=1);

namespace AegirSim;

/**
 * One run of a task by `hosting-task`: the PROCESSING revision it saved, the log entries written
 * for that revision, and the final status computed from them by Aegir's rule.
 */
final class TaskRun
{
    public const PROCESSING = -1;
    public const QUEUED = 0;
    public const SUCCESS = 1;
    public const ERROR = 2;
    public const WARNING = 3;

    private function __construct(
        private Database $db,
        public readonly int $nid,
        public readonly int $vid,
        public readonly string $title,
        public readonly string $type,
        public readonly int $executed,
    ) {
    }

    /**
     * Takes the task as hosting-task does: the node is saved as a NEW revision at PROCESSING with
     * `executed` = now, the arguments are copied to it, and the previous revision's row is left as
     * it was. One transaction, so a reader never sees node.vid pointing at a half-written revision.
     *
     * @param array<string,mixed> $task the current revision (nid, vid, title, task_type, rid)
     */
    public static function take(Database $db, array $task): self
    {
        $now = time();
        $vid = $db->transaction(function () use ($db, $task, $now): int {
            $db->query("INSERT INTO {node_revision} (nid, uid, title, log, timestamp, status) VALUES (?, 1, ?, '', ?, 1)",
                [$task['nid'], $task['title'], $now]);
            $vid = $db->insertId();
            $db->query('UPDATE {node} SET vid = ?, changed = ? WHERE nid = ?', [$vid, $now, $task['nid']]);
            $db->query('INSERT INTO {hosting_task} (vid, nid, task_type, rid, task_status, executed, delta)
                        VALUES (?, ?, ?, ?, ?, ?, 0)',
                [$vid, $task['nid'], $task['task_type'], $task['rid'], self::PROCESSING, $now]);
            $db->query('INSERT INTO {hosting_task_arguments} (vid, nid, name, value)
                        SELECT ?, nid, name, value FROM {hosting_task_arguments} WHERE vid = ?',
                [$vid, $task['vid']]);
            return $vid;
        });
        return new self($db, (int) $task['nid'], $vid, (string) $task['title'], (string) $task['task_type'], $now);
    }

    /** Writes a drush log entry into hosting_task_log for this revision and echoes it like drush. */
    public function log(string $type, string $message, string $error = ''): void
    {
        $this->db->query('INSERT INTO {hosting_task_log} (vid, nid, type, message, error, timestamp) VALUES (?, ?, ?, ?, ?, ?)',
            [$this->vid, $this->nid, $type, $message, $error, time()]);
        if ($type === 'error' || $type === 'failed') {
            fwrite(STDERR, "$message [$type]\n");
        } else {
            fwrite(STDOUT, $type === 'warning' ? "$message [warning]\n" : "$message\n");
        }
    }

    /**
     * Ends the run as hosting-task does after the provision command: a closing log entry,
     * `delta` = seconds since `executed`, then the status of this revision by Aegir's rule.
     */
    public function finish(): int
    {
        $failed = $this->statusFromLog() === self::ERROR;
        $this->log($failed ? 'notice' : 'success',
            "Simulated provision-{$this->type} finished" . ($failed ? ' with errors' : ''));
        $this->db->query('UPDATE {hosting_task} SET delta = ? WHERE vid = ?', [time() - $this->executed, $this->vid]);
        $status = $this->statusFromLog();
        $this->db->query('UPDATE {hosting_task} SET task_status = ? WHERE vid = ?', [$status, $this->vid]);
        return $status;
    }

    /** Aegir's rule: SUCCESS, unless an `error`/`failed` entry (ERROR) or else a `warning` (WARNING). */
    private function statusFromLog(): int
    {
        $types = $this->db->column("SELECT DISTINCT type FROM {hosting_task_log}
                                     WHERE vid = ? AND type IN ('error', 'failed', 'warning')", [$this->vid]);
        if (array_intersect($types, ['error', 'failed'])) {
            return self::ERROR;
        }
        return in_array('warning', $types, true) ? self::WARNING : self::SUCCESS;
    }
}
