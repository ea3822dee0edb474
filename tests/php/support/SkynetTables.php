<?php

declare(strict_types=1);

namespace SkynetTest;

use AegirSim\Tests\Files;
use AegirSim\Tests\Sandbox;
use PDO;

/**
 * Skynet's own tables as the daemon creates them: once per test run, the built daemon is started
 * on a database of its own until it has migrated; tests copy the tables from there. So the PHP
 * side is tested against the schema the C++ side really writes, not a copy of it.
 */
final class SkynetTables
{
    private static ?string $template = null;

    public static function binary(): string
    {
        $binary = getenv('SKYNET_BINARY') ?: dirname(__DIR__, 3) . '/build/native/skynet';
        if (!is_executable($binary)) {
            throw new \RuntimeException("The daemon binary $binary is not built (set SKYNET_BINARY).");
        }
        return $binary;
    }

    /** The database holding the daemon's tables. */
    public static function template(): string
    {
        if (self::$template !== null) {
            return self::$template;
        }
        $name = 'skynet_php_tables_' . getmypid();
        $sandbox = Sandbox::get();
        $sandbox->createDatabase($name);
        $dir = Files::tempDir('skynet-php-tables-');
        $conf = "$dir/skynet.conf";
        file_put_contents($conf, "[database]\nsocket = {$sandbox->socket()}\ndb = $name\nuser = " . Sandbox::USER
            . "\npasswd = " . Sandbox::PASSWORD . "\n[queue]\ndrush = " . dirname(__DIR__, 2) . "/aegir-sim/drush\n"
            . "poll_interval = 0.1\n[api]\nlisten =\n[log]\ntask_output = $dir/logs\n");
        $proc = proc_open([self::binary(), 'queued', "--config_file=$conf"], [0 => ['file', '/dev/null', 'r'],
            1 => ['file', "$dir/out", 'w'], 2 => ['file', "$dir/err", 'w']], $pipes, $dir,
            ['HOME' => $dir, 'USER' => 'skynet', 'PATH' => '/usr/local/bin:/usr/bin:/bin']);
        $db = $sandbox->connect($name);
        $deadline = microtime(true) + 60;
        $ready = fn () => (int) $db->query("SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = '$name'
                                            AND TABLE_NAME = 'hosting_task' AND INDEX_NAME = 'skynet_task_status'")->fetch_row()[0] > 0
            && (int) $db->query("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$name' AND TABLE_NAME = 'skynet_worker'")->fetch_row()[0] > 0
            && (int) $db->query("SELECT COUNT(*) FROM `$name`.skynet_worker")->fetch_row()[0] > 0;
        while (!$ready()) {
            if (microtime(true) > $deadline || !proc_get_status($proc)['running']) {
                proc_terminate($proc, SIGKILL);
                throw new \RuntimeException('The daemon did not create its tables: ' . file_get_contents("$dir/err"));
            }
            usleep(20000);
        }
        proc_terminate($proc, SIGTERM);
        proc_close($proc);
        $db->close();
        Files::remove($dir);
        return self::$template = $name;
    }

    /** Skynet's tables, empty, and its index on hosting_task, in database $target. */
    public static function copyInto(PDO $db, string $target): void
    {
        $template = self::template();
        $tables = $db->query("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$template'
                              AND TABLE_NAME LIKE 'skynet\\_%'")->fetchAll(PDO::FETCH_COLUMN);
        foreach ($tables as $table) {
            $db->exec("CREATE TABLE `$target`.`$table` LIKE `$template`.`$table`");
        }
        $db->exec("INSERT INTO `$target`.skynet_schema SELECT * FROM `$template`.skynet_schema");
        $db->exec("ALTER TABLE `$target`.hosting_task ADD INDEX skynet_task_status (task_status)");
    }
}
