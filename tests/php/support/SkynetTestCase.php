<?php

declare(strict_types=1);

namespace SkynetTest;

use AegirSim\Tests\Files;
use AegirSim\Tests\Sandbox;
use PDO;
use PHPUnit\Framework\TestCase;

/**
 * Each test gets its own hostmaster database in the run's MariaDB (Aegir schema and base rows,
 * hosting_skynet enabled in Drupal's system table), a fresh World behind the stand-ins, and a
 * temporary folder.
 */
abstract class SkynetTestCase extends TestCase
{
    /** Whether the test's database also gets Skynet's own tables. */
    protected bool $skynetTables = false;
    private static int $databases = 0;
    protected string $dbName;
    protected PDO $db;
    protected string $dir;

    protected function setUp(): void
    {
        $sandbox = Sandbox::get();
        $this->dbName = sprintf('skynet_php_%d_%d', getmypid(), ++self::$databases);
        $sandbox->createDatabase($this->dbName);
        $this->db = self::connect($this->dbName);
        // Drupal's variable cache, which variable_set() and the hook clear.
        $this->db->exec("CREATE TABLE IF NOT EXISTS cache_bootstrap (cid varchar(255) NOT NULL DEFAULT '', data longblob,
            expire int NOT NULL DEFAULT 0, created int NOT NULL DEFAULT 0, serialized smallint NOT NULL DEFAULT 0, PRIMARY KEY (cid))");
        $this->setModule('hosting', true);
        $this->setModule('hosting_skynet', true);
        $this->setModule('hosting_queued', false);
        if ($this->skynetTables) {
            SkynetTables::copyInto($this->db, $this->dbName);
        }
        World::reset($this->db);
        $this->dir = Files::tempDir('skynet-php-');
    }

    protected function tearDown(): void
    {
        $this->db->exec("DROP DATABASE `$this->dbName`");
        World::reset(null);
        if (is_dir($this->dir)) {
            // A test may have taken write permission away.
            exec('chmod -R u+rwx ' . escapeshellarg($this->dir));
            Files::remove($this->dir);
        }
    }

    /** Values come back as strings, as Drupal 7's database layer has always handed them out. */
    public static function connect(string $database): PDO
    {
        return new PDO('mysql:unix_socket=' . Sandbox::get()->socket() . ";dbname=$database;charset=utf8mb4",
            Sandbox::USER, Sandbox::PASSWORD, [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION, PDO::ATTR_STRINGIFY_FETCHES => true,
                PDO::ATTR_EMULATE_PREPARES => true]);
    }

    /** Drupal's system table (in the fixture) says whether a module is enabled. */
    protected function setModule(string $name, bool $enabled): void
    {
        $update = $this->db->prepare("UPDATE system SET status = ? WHERE name = ? AND type = 'module'");
        $update->execute([$enabled ? 1 : 0, $name]);
        if ($update->rowCount() === 0 && (int) $this->value("SELECT COUNT(*) FROM system WHERE name = ? AND type = 'module'", [$name]) === 0) {
            $this->db->prepare("INSERT INTO system (filename, name, type, status) VALUES (?, ?, 'module', ?)")
                ->execute(["sites/all/modules/$name/$name.module", $name, $enabled ? 1 : 0]);
        }
    }

    /** The raw serialized value of a variable, or null. */
    protected function rawVariable(string $name): ?string
    {
        $statement = $this->db->prepare('SELECT value FROM variable WHERE name = ?');
        $statement->execute([$name]);
        $value = $statement->fetchColumn();
        return $value === false ? null : $value;
    }

    protected function value(string $sql, array $params = []): mixed
    {
        $statement = $this->db->prepare($sql);
        $statement->execute($params);
        return $statement->fetchColumn();
    }

    protected function rows(string $sql, array $params = []): array
    {
        $statement = $this->db->prepare($sql);
        $statement->execute($params);
        return $statement->fetchAll(PDO::FETCH_ASSOC);
    }

    /** @return list<array{nid: string, task_type: string, rid: string, task_status: string}> current revisions of task nodes */
    protected function tasks(): array
    {
        return $this->rows("SELECT t.nid, t.task_type, t.rid, t.task_status FROM hosting_task t JOIN node n ON n.vid = t.vid
                            WHERE n.type = 'task' ORDER BY t.nid");
    }

    /** @return list<string> messages of one type shown by drupal_set_message() */
    protected function messages(string $type = 'status'): array
    {
        return array_values(array_map(fn ($m) => $m[0], array_filter(World::$messages, fn ($m) => $m[1] === $type)));
    }
}
