<?php

declare(strict_types=1);

namespace AegirSim\Tests;

use mysqli;
use PHPUnit\Framework\TestCase;

/**
 * Each test gets its own database (Aegir schema + base rows) and its own temporary HOME whose
 * drush alias and drushrc.php point at it, and runs the simulator as a real subprocess.
 */
abstract class SimulatorTestCase extends TestCase
{
    protected const DRUSH = __DIR__ . '/../../drush';
    /** node.created / node.changed of the tasks queued by queueTask(). */
    protected const QUEUED_AT = 1700000100;
    protected const TABLES = ['node', 'node_revision', 'hosting_task', 'hosting_task_arguments', 'hosting_task_log'];

    private static int $databases = 0;
    private int $outputs = 0;
    /** @var list<DrushProcess> every child started by this test, killed in tearDown if still alive */
    private array $processes = [];
    protected string $dir;
    protected string $home;
    protected string $dbName;
    protected mysqli $db;

    protected function setUp(): void
    {
        $sandbox = Sandbox::get();
        $this->dbName = sprintf('sim_%d_%d', getmypid(), ++self::$databases);
        $sandbox->createDatabase($this->dbName);
        $this->db = $sandbox->connect($this->dbName);
        $this->dir = Files::tempDir('aegir-sim-test-');
        $this->home = "$this->dir/home";
        $this->writeSiteConfig();
    }

    protected function tearDown(): void
    {
        foreach ($this->processes as $process) {
            if ($process->isRunning()) {
                $process->terminate(SIGKILL);
            }
        }
        $this->db->query("DROP DATABASE `$this->dbName`");
        $this->db->close();
        Files::remove($this->dir);
    }

    /** The alias file and the hostmaster site's drushrc.php, with $overrides applied to the options. */
    protected function writeSiteConfig(array $overrides = []): void
    {
        $root = "$this->dir/platform";
        @mkdir("$this->home/.drush", 0700, true);
        @mkdir("$root/sites/aegir.example.com", 0700, true);
        file_put_contents($this->aliasFile(), "<?php\n\$aliases['hostmaster'] = "
            . var_export(['root' => $root, 'uri' => 'aegir.example.com'], true) . ";\n");
        $options = array_merge([
            'db_type' => 'mysql', 'db_host' => 'localhost', 'db_port' => '3306', 'db_name' => $this->dbName,
            'db_user' => Sandbox::USER, 'db_passwd' => Sandbox::PASSWORD, 'db_socket' => Sandbox::get()->socket(),
        ], $overrides);
        $php = "<?php\n";
        foreach ($options as $key => $value) {
            $php .= "\$options['$key'] = " . var_export($value, true) . ";\n";
        }
        file_put_contents($this->drushrcFile(), $php);
    }

    protected function aliasFile(): string
    {
        return "$this->home/.drush/hostmaster.alias.drushrc.php";
    }

    protected function drushrcFile(): string
    {
        return "$this->dir/platform/sites/aegir.example.com/drushrc.php";
    }

    /** The environment the daemon gives its child: HOME, USER and PATH only. */
    protected function childEnv(): array
    {
        return ['HOME' => $this->home, 'USER' => posix_getpwuid(posix_geteuid())['name'] ?? 'aegir',
            'PATH' => (string) getenv('PATH')];
    }

    /** @param list<string> $command full argv; defaults to the simulator with $args */
    protected function start(array $args, ?array $command = null, ?array $env = null): DrushProcess
    {
        $n = ++$this->outputs;
        return $this->processes[] = new DrushProcess($command ?? array_merge([self::DRUSH], $args),
            $env ?? $this->childEnv(), "$this->dir/stdout.$n", "$this->dir/stderr.$n");
    }

    protected function drush(string ...$args): DrushResult
    {
        return $this->start($args)->wait();
    }

    protected function hostingTask(int $nid, string ...$options): DrushResult
    {
        return $this->drush('@hostmaster', 'hosting-task', (string) $nid, '--strict=0', ...$options);
    }

    /**
     * Inserts a task node the way hosting_add_task() leaves it, with the given status on its
     * only revision, written here in SQL so these tests do not depend on sim-queue-task.
     *
     * @param array<string,string> $arguments extra hosting_task_arguments rows
     * @return array{nid: int, vid: int, title: string}
     */
    protected function queueTask(int $rid, string $type, ?string $behaviour, int $status = 0, array $arguments = []): array
    {
        $title = ucfirst($type) . ': ' . $this->value('SELECT title FROM node WHERE nid = ?', [$rid]);
        $this->db->execute_query("INSERT INTO node (type, language, title, uid, status, created, changed)
                                  VALUES ('task', 'und', ?, 1, 1, ?, ?)", [$title, self::QUEUED_AT, self::QUEUED_AT]);
        $nid = (int) $this->db->insert_id;
        $this->db->execute_query("INSERT INTO node_revision (nid, uid, title, log, timestamp, status)
                                  VALUES (?, 1, ?, '', ?, 1)", [$nid, $title, self::QUEUED_AT]);
        $vid = (int) $this->db->insert_id;
        $this->db->execute_query('UPDATE node SET vid = ? WHERE nid = ?', [$vid, $nid]);
        $this->db->execute_query('INSERT INTO hosting_task (vid, nid, task_type, rid, task_status, executed, delta)
                                  VALUES (?, ?, ?, ?, ?, ?, 0)',
            [$vid, $nid, $type, $rid, $status, $status === 0 ? null : self::QUEUED_AT]);
        if ($behaviour !== null) {
            $arguments = ['sim_behaviour' => $behaviour] + $arguments;
        }
        foreach ($arguments as $name => $value) {
            $this->db->execute_query('INSERT INTO hosting_task_arguments (vid, nid, name, value) VALUES (?, ?, ?, ?)',
                [$vid, $nid, $name, $value]);
        }
        return ['nid' => $nid, 'vid' => $vid, 'title' => $title];
    }

    protected function rows(string $sql, array $params = []): array
    {
        return $this->db->execute_query($sql, $params)->fetch_all(MYSQLI_ASSOC);
    }

    protected function row(string $sql, array $params = []): ?array
    {
        return $this->rows($sql, $params)[0] ?? null;
    }

    protected function value(string $sql, array $params = []): mixed
    {
        $row = $this->db->execute_query($sql, $params)->fetch_row();
        return $row[0] ?? null;
    }

    /** node.vid/changed and the hosting_task row of the task's current revision. */
    protected function current(int $nid): array
    {
        return $this->row('SELECT n.vid AS node_vid, n.changed, t.* FROM node n JOIN hosting_task t ON t.vid = n.vid
                            WHERE n.nid = ?', [$nid]);
    }

    /** @return list<array{type: string, message: string, error: string}> */
    protected function logEntries(int $vid): array
    {
        return $this->rows('SELECT type, message, error FROM hosting_task_log WHERE vid = ? ORDER BY lid', [$vid]);
    }

    /** @return array<string,string> */
    protected function arguments(int $vid): array
    {
        $rows = $this->rows('SELECT name, value FROM hosting_task_arguments WHERE vid = ? ORDER BY name', [$vid]);
        return array_column($rows, 'value', 'name');
    }

    /** Every row of the tables hosting-task may touch, for "nothing changed" assertions. */
    protected function snapshot(): array
    {
        $tables = [];
        foreach (self::TABLES as $table) {
            $rows = $this->rows("SELECT * FROM $table");
            sort($rows);
            $tables[$table] = $rows;
        }
        return $tables;
    }

    /**
     * The facts every run that took the task shares: a new current revision at $status, made
     * between $before and $after, with the old revision's row, its arguments and the revision
     * metadata as hosting-task leaves them. Returns the new vid.
     */
    protected function assertTaken(array $task, int $status, int $before, int $after): int
    {
        $current = $this->current($task['nid']);
        $vid = $current['vid'];
        $this->assertGreaterThan($task['vid'], $vid, 'a new revision is current');
        $this->assertSame($vid, $current['node_vid']);
        $this->assertThat($current['changed'], $this->logicalAnd($this->greaterThanOrEqual($before), $this->lessThanOrEqual($after)));
        $this->assertSame($task['nid'], $current['nid']);
        $this->assertSame($status, $current['task_status']);
        $this->assertThat($current['executed'], $this->logicalAnd($this->greaterThanOrEqual($before), $this->lessThanOrEqual($after)));

        $revision = $this->row('SELECT * FROM node_revision WHERE vid = ?', [$vid]);
        $this->assertSame(['nid' => $task['nid'], 'vid' => $vid, 'uid' => 1, 'title' => $task['title'], 'log' => '',
            'timestamp' => $current['executed'], 'status' => 1], array_intersect_key($revision, array_flip(
                ['nid', 'vid', 'uid', 'title', 'log', 'timestamp', 'status'])));
        $this->assertSame(2, $this->value('SELECT COUNT(*) FROM node_revision WHERE nid = ?', [$task['nid']]));

        $this->assertSame($this->arguments($task['vid']), $this->arguments($vid), 'arguments copied to the new revision');
        $this->assertNotEmpty($this->arguments($vid));

        $entries = $this->logEntries($vid);
        $this->assertSame(['type' => 'queue', 'message' => "Task starts processing: {$task['title']}", 'error' => ''], $entries[0]);
        $this->assertSame([], $this->logEntries($task['vid']), 'nothing is logged on the queued revision');
        $this->assertSame([$task['nid']], array_values(array_unique(array_column(
            $this->rows('SELECT nid FROM hosting_task_log WHERE vid = ?', [$vid]), 'nid'))));
        return $vid;
    }

    /** The queued revision's row is exactly as queueTask() wrote it. */
    protected function assertOldRevisionUntouched(array $task, int $status = 0): void
    {
        $this->assertSame(['task_status' => $status, 'executed' => $status === 0 ? null : self::QUEUED_AT, 'delta' => 0],
            $this->row('SELECT task_status, executed, delta FROM hosting_task WHERE vid = ?', [$task['vid']]));
    }
}
