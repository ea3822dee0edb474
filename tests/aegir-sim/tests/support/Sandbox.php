<?php

declare(strict_types=1);

namespace AegirSim\Tests;

use mysqli;

/**
 * The one private MariaDB of a test run (tests/support/mariadb-sandbox), started on first use.
 * It is stopped by SandboxExtension after the last test, by a shutdown function if PHPUnit ends
 * any other way, and by the sandbox's own watchdog (--owner-pid) if this process is killed.
 */
final class Sandbox
{
    private const SCRIPT = __DIR__ . '/../../../support/mariadb-sandbox';
    public const USER = 'aegir';
    public const PASSWORD = 'aegir-test-password';

    private static ?self $instance = null;

    private function __construct(public readonly string $dir)
    {
    }

    public static function get(): self
    {
        if (self::$instance === null) {
            $dir = Files::tempDir('aegir-sim-db-');
            rmdir($dir); // the script initialises the directory itself
            register_shutdown_function([self::class, 'stop']);
            self::$instance = new self($dir);
            self::run(['start', $dir, '--owner-pid', (string) getmypid()]);
        }
        return self::$instance;
    }

    public static function stop(): void
    {
        if (self::$instance !== null) {
            $dir = self::$instance->dir;
            self::$instance = null;
            self::run(['stop', $dir]);
        }
    }

    public function socket(): string
    {
        return "$this->dir/mysqld.sock";
    }

    /** A database with the Aegir schema and the fixture's base rows. */
    public function createDatabase(string $name): void
    {
        self::run(['create-db', $this->dir, $name]);
    }

    /** A connection as the application user, integers returned as PHP ints. */
    public function connect(string $database): mysqli
    {
        mysqli_report(MYSQLI_REPORT_ERROR | MYSQLI_REPORT_STRICT);
        $db = mysqli_init();
        $db->options(MYSQLI_OPT_INT_AND_FLOAT_NATIVE, 1);
        $db->real_connect('localhost', self::USER, self::PASSWORD, $database, 0, $this->socket());
        return $db;
    }

    /** @param list<string> $args */
    private static function run(array $args): void
    {
        $out = tempnam(sys_get_temp_dir(), 'aegir-sim-sandbox-');
        // Output to a file, not a pipe: the server and its watchdog outlive the script.
        $proc = proc_open(array_merge([self::SCRIPT], $args), [0 => ['file', '/dev/null', 'r'],
            1 => ['file', $out, 'w'], 2 => ['file', $out, 'a']], $pipes);
        $code = proc_close($proc);
        $output = (string) file_get_contents($out);
        unlink($out);
        if ($code !== 0) {
            throw new \RuntimeException('mariadb-sandbox ' . implode(' ', $args) . " failed ($code): $output");
        }
    }
}
