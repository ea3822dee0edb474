<?php

declare(strict_types=1);

namespace AegirSim;

/**
 * The `drush` stand-in: parses a drush command line, and runs `hosting-task` (what Aegir's own
 * command does to the database, with a behaviour chosen per task by its `sim_behaviour`
 * argument) or `sim-queue-task` (what hosting_add_task() does). Returns the process exit code.
 */
final class Simulator
{
    private ?string $alias = null;
    private ?string $command = null;
    /** @var list<string> */
    private array $args = [];
    /** @var array<string,string|true> */
    private array $options = [];

    /** @param list<string> $argv the full command line, argv[0] included */
    public function __construct(private array $argv)
    {
        foreach (array_slice($argv, 1) as $arg) {
            if (str_starts_with($arg, '--')) {
                $parts = explode('=', substr($arg, 2), 2);
                $this->options[$parts[0]] = $parts[1] ?? true;
            } elseif (str_starts_with($arg, '-') && $arg !== '-') {
                // Short drush flags (-v, -y, ...) change nothing here.
            } elseif ($this->alias === null && $this->command === null && str_starts_with($arg, '@')) {
                $this->alias = $arg;
            } elseif ($this->command === null) {
                $this->command = $arg;
            } else {
                $this->args[] = $arg;
            }
        }
    }

    public function run(): int
    {
        try {
            // Recorded before anything can fail, so tests also see invocations that were refused.
            if ($this->command === 'hosting-task') {
                $this->recordInvocation();
            }
            if ($this->alias !== Site::ALIAS) {
                throw new DrushError($this->alias === null
                    ? 'No site alias given; the simulator only knows ' . Site::ALIAS . '.'
                    : "The alias {$this->alias} could not be found; the simulator only knows " . Site::ALIAS . '.');
            }
            return match ($this->command) {
                'hosting-task' => $this->hostingTask(),
                'sim-queue-task' => $this->queueTask(),
                null => throw new DrushError('No command given.'),
                default => throw new DrushError("Command {$this->command} not found."),
            };
        } catch (DrushError $e) {
            fwrite(STDERR, $e->getMessage() . "\n");
            return 1;
        } catch (\mysqli_sql_exception $e) {
            fwrite(STDERR, 'Database error: ' . $e->getMessage() . "\n");
            return 1;
        }
    }

    /** `hosting-task <nid> [--force]`: refuse, take, simulate provision, finalize. */
    private function hostingTask(): int
    {
        $nid = $this->args[0] ?? throw new DrushError('hosting-task needs a task nid.');
        $db = $this->database();
        $task = ctype_digit($nid) ? $db->row(
            "SELECT n.nid, n.vid, n.title, t.task_type, t.rid, t.task_status
               FROM {node} n JOIN {hosting_task} t ON t.vid = n.vid
              WHERE n.nid = ? AND n.type = 'task'", [$nid]) : null;
        if ($task === null) {
            throw new DrushError("Could not find task $nid");
        }
        $behaviour = (string) ($db->value("SELECT value FROM {hosting_task_arguments}
                                            WHERE vid = ? AND name = 'sim_behaviour' LIMIT 1", [$task['vid']]) ?? 'succeed');

        // provision_drush_init() stops every drush command under load, before hosting-task runs.
        if ($behaviour === 'exit-early') {
            throw new DrushError('The load average on this server is too high. (PROVISION_OVERLOAD)');
        }
        if (!$this->force()) {
            // Aegir compares loosely, so a NULL status counts as queued.
            $status = (int) $task['task_status'];
            if ($status === TaskRun::PROCESSING) {
                throw new DrushError("This task is already running, use --force (HOSTING_TASK_RUNNING)");
            }
            if ($status !== TaskRun::QUEUED) {
                throw new DrushError("This task is not queued, use --force (HOSTING_TASK_NOT_QUEUED)");
            }
        }

        $run = TaskRun::take($db, $task);
        $run->log('queue', "Task starts processing: {$run->title}");
        fwrite(STDOUT, "Running provision-{$run->type} (simulated: $behaviour)\n");
        $provision = "provision-{$run->type}";
        [$name, $param] = self::parseBehaviour($behaviour);
        switch ($name) {
            case 'succeed':
                break;
            case 'fail':
                $run->log('error', "Simulated failure of $provision.", 'SIM_PROVISION_FAILED');
                break;
            case 'warn':
                $run->log('warning', "Simulated warning from $provision.");
                break;
            case 'sleep':
                $seconds = (float) $param;
                time_nanosleep((int) $seconds, (int) (fmod($seconds, 1.0) * 1e9));
                break;
            case 'crash':
                // What a PHP fatal error looks like to the parent: one line on stderr, exit 255,
                // and no shutdown function finalizes the task.
                fwrite(STDERR, "PHP Fatal error:  Simulated crash during $provision in " . __FILE__ . ' on line ' . __LINE__ . "\n");
                return 255;
            case 'crash-after':
                // Runs a while, then dies without finalizing: for a crash while no daemon watches.
                $seconds = (float) $param;
                time_nanosleep((int) $seconds, (int) (fmod($seconds, 1.0) * 1e9));
                fwrite(STDERR, "PHP Fatal error:  Simulated crash during $provision\n");
                return 255;
            case 'bytes':
                // Output that is not valid UTF-8: a 0xff byte, and a character cut at the very end.
                fwrite(STDOUT, "before \xff\xfe after caf\xc3\xa9 and a cut \xe2\x82");
                break;
            case 'hang-group':
                // A member of the task's process group that ignores SIGTERM: only SIGKILL ends it.
                $child = proc_open(['/bin/sh', '-c', 'trap "" TERM; echo "stubborn pid $$"; while :; do sleep 1; done'],
                    [1 => STDOUT, 2 => STDERR], $pipes);
                while (true) {
                    sleep(60);
                }
            case 'hang':
                // No signal handlers: the default SIGTERM action must end this process.
                while (true) {
                    sleep(60);
                }
            case 'flood':
                self::flood((int) $param);
                break;
            default:
                $run->log('error', "Unknown simulator behaviour '$behaviour'", 'SIM_UNKNOWN_BEHAVIOUR');
        }
        return $run->finish() === TaskRun::ERROR ? 1 : 0;
    }

    /** `sim-queue-task <rid> <task_type> [behaviour]`: a QUEUED task as hosting_add_task() makes it. */
    private function queueTask(): int
    {
        [$rid, $type] = $this->args + [null, null];
        $behaviour = $this->args[2] ?? null;
        if ($rid === null || !ctype_digit($rid) || $type === null || !preg_match('/^[A-Za-z0-9_-]+$/', $type)) {
            throw new DrushError('Usage: drush @hostmaster sim-queue-task <rid> <task_type> [behaviour]');
        }
        $db = $this->database();
        $target = $db->value('SELECT title FROM {node} WHERE nid = ?', [$rid])
            ?? throw new DrushError("Could not find node $rid to queue a $type task for.");
        // hosting_task_set_title(): "<task title>: <title of the node it acts on>".
        $title = ucfirst(strtr($type, '-_', '  ')) . ': ' . $target;
        $now = time();
        $nid = $db->transaction(function () use ($db, $rid, $type, $title, $now, $behaviour): int {
            // As node_save() does for a new node: node row, its first revision, then node.vid.
            $db->query("INSERT INTO {node} (vid, type, language, title, uid, status, created, changed)
                        VALUES (NULL, 'task', 'und', ?, 1, 1, ?, ?)", [$title, $now, $now]);
            $nid = $db->insertId();
            $db->query("INSERT INTO {node_revision} (nid, uid, title, log, timestamp, status) VALUES (?, 1, ?, '', ?, 1)",
                [$nid, $title, $now]);
            $vid = $db->insertId();
            $db->query('UPDATE {node} SET vid = ? WHERE nid = ?', [$vid, $nid]);
            $db->query('INSERT INTO {hosting_task} (vid, nid, task_type, rid, task_status, executed, delta)
                        VALUES (?, ?, ?, ?, ?, 0, 0)', [$vid, $nid, $type, $rid, TaskRun::QUEUED]);
            if ($behaviour !== null) {
                $db->query("INSERT INTO {hosting_task_arguments} (vid, nid, name, value) VALUES (?, ?, 'sim_behaviour', ?)",
                    [$vid, $nid, $behaviour]);
            }
            return $nid;
        });
        fwrite(STDOUT, "$nid\n");
        return 0;
    }

    /** @return array{0: string, 1: ?string} the behaviour's name and parameter; name '' if unknown */
    private static function parseBehaviour(string $behaviour): array
    {
        [$name, $param] = explode(':', $behaviour, 2) + [1 => null];
        $valid = match ($name) {
            'succeed', 'fail', 'warn', 'crash', 'hang', 'bytes', 'hang-group' => $param === null,
            'sleep', 'crash-after' => $param !== null && preg_match('/^\d+(\.\d+)?$/', $param) === 1,
            'flood' => $param !== null && ctype_digit($param),
            default => false,
        };
        return $valid ? [$name, $param] : ['', null];
    }

    /** Writes exactly $bytes bytes to stdout, as lines of 'x' ending in "\n". */
    private static function flood(int $bytes): void
    {
        $line = str_repeat('x', 99) . "\n";
        $chunk = str_repeat($line, 656);
        for ($left = $bytes; $left > 0; $left -= $written) {
            $piece = $left >= strlen($chunk) ? $chunk
                : str_repeat($line, intdiv($left, 100)) . ($left % 100 ? str_repeat('x', $left % 100 - 1) . "\n" : '');
            $written = fwrite(STDOUT, $piece);
            if ($written === false || $written === 0) {
                throw new DrushError('Could not write the flood output to stdout.');
            }
        }
    }

    private function force(): bool
    {
        $value = $this->options['force'] ?? false;
        return $value === true || ($value !== false && !in_array(strtolower($value), ['', '0', 'false', 'no'], true));
    }

    private function database(): Database
    {
        [$options, $drushrc] = Site::databaseOptions(self::home());
        return Database::connect($options, $drushrc);
    }

    private static function home(): string
    {
        $home = getenv('HOME');
        if ($home === false || $home === '') {
            throw new DrushError('HOME is not set; the simulator finds the ' . Site::ALIAS . ' alias under $HOME/.drush.');
        }
        return $home;
    }

    /**
     * Appends one JSON line per hosting-task invocation to $HOME/.aegir-sim/invocations.log, so tests
     * can check each task ran once, with which command line, environment and process group.
     * flock: several simulators may append at the same time.
     */
    private function recordInvocation(): void
    {
        $dir = self::home() . '/.aegir-sim';
        if (!is_dir($dir) && !@mkdir($dir, 0700, true) && !is_dir($dir)) {
            throw new DrushError("Cannot create $dir for the invocation log.");
        }
        $env = getenv();
        ksort($env);
        $entry = json_encode([
            'argv' => $this->argv,
            'pid' => getmypid(),
            'ppid' => posix_getppid(),
            'pgid' => posix_getpgid(0),
            'env' => ['HOME' => $env['HOME'] ?? null, 'USER' => $env['USER'] ?? null, 'PATH' => $env['PATH'] ?? null],
            'env_names' => array_keys($env),
            'time' => time(),
        ], JSON_UNESCAPED_SLASHES | JSON_THROW_ON_ERROR) . "\n";
        $file = @fopen("$dir/invocations.log", 'a');
        if ($file === false || !flock($file, LOCK_EX)) {
            throw new DrushError("Cannot append to $dir/invocations.log.");
        }
        fwrite($file, $entry);
        fflush($file);
        flock($file, LOCK_UN);
        fclose($file);
    }
}
