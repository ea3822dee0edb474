<?php

declare(strict_types=1);

namespace AegirSim\Tests;

/** How the simulator finds its database from $HOME, and what it says when it cannot. */
final class ConfigurationTest extends SimulatorTestCase
{
    public function testAnAliasOtherThanHostmasterIsRefused(): void
    {
        $task = $this->queueTask(10, 'verify', 'succeed');
        $before = $this->snapshot();
        $result = $this->drush('@example.com', 'hosting-task', (string) $task['nid'], '--strict=0');

        $this->assertSame(1, $result->exitCode);
        $this->assertStringContainsString('The alias @example.com could not be found', $result->stderr);
        $this->assertSame($before, $this->snapshot());
    }

    public function testACommandWithoutAliasIsRefused(): void
    {
        $task = $this->queueTask(10, 'verify', 'succeed');
        $result = $this->drush('hosting-task', (string) $task['nid']);

        $this->assertSame(1, $result->exitCode);
        $this->assertStringContainsString('No site alias given', $result->stderr);
        $this->assertSame(0, $this->current($task['nid'])['task_status']);
    }

    public function testAMissingAliasFileIsAClearError(): void
    {
        unlink($this->aliasFile());
        $result = $this->drush('@hostmaster', 'hosting-task', '100', '--strict=0');

        $this->assertSame(1, $result->exitCode);
        $this->assertStringContainsString("Cannot read {$this->aliasFile()}", $result->stderr);
    }

    public function testAnAliasFileWithoutHostmasterIsAClearError(): void
    {
        file_put_contents($this->aliasFile(), "<?php\n\$aliases['other'] = array('root' => '/tmp', 'uri' => 'x');\n");
        $result = $this->drush('@hostmaster', 'hosting-task', '100');

        $this->assertSame(1, $result->exitCode);
        $this->assertStringContainsString("does not define \$aliases['hostmaster']", $result->stderr);
    }

    public function testAMissingSiteDrushrcIsAClearError(): void
    {
        unlink($this->drushrcFile());
        $result = $this->drush('@hostmaster', 'sim-queue-task', '10', 'verify');

        $this->assertSame(1, $result->exitCode);
        $this->assertStringContainsString("Cannot read {$this->drushrcFile()}", $result->stderr);
    }

    public function testWrongDatabaseCredentialsAreAClearError(): void
    {
        $this->writeSiteConfig(['db_passwd' => 'not-the-password']);
        $result = $this->drush('@hostmaster', 'sim-queue-task', '10', 'verify');

        $this->assertSame(1, $result->exitCode);
        $this->assertStringContainsString("Could not connect to the hostmaster database '$this->dbName'", $result->stderr);
        $this->assertSame(0, $this->value("SELECT COUNT(*) FROM node WHERE type = 'task'"));
    }

    public function testWithoutHomeTheSimulatorCannotFindItsSite(): void
    {
        $env = $this->childEnv();
        unset($env['HOME']);
        $result = $this->start([], [self::DRUSH, '@hostmaster', 'sim-queue-task', '10', 'verify'], $env)->wait();

        $this->assertSame(1, $result->exitCode);
        $this->assertStringContainsString('HOME is not set', $result->stderr);
    }

    public function testAnUnknownCommandIsNotFound(): void
    {
        $result = $this->drush('@hostmaster', 'hosting-frobnicate', '--strict=0');

        $this->assertSame(1, $result->exitCode);
        $this->assertSame("Command hosting-frobnicate not found.\n", $result->stderr);
    }

    public function testTheTablePrefixIsAppliedToEveryTable(): void
    {
        $tables = $this->db->query('SHOW TABLES')->fetch_all();
        $this->db->query('RENAME TABLE ' . implode(', ', array_map(fn ($t) => "`$t[0]` TO `aegir_$t[0]`", $tables)));

        // Without the prefix the simulator looks for tables that are not there.
        $unprefixed = $this->drush('@hostmaster', 'sim-queue-task', '10', 'verify', 'warn');
        $this->assertSame(1, $unprefixed->exitCode);
        $this->assertStringContainsString("$this->dbName.node' doesn't exist", $unprefixed->stderr);

        $this->writeSiteConfig(['db_prefix' => 'aegir_']);
        $queued = $this->drush('@hostmaster', 'sim-queue-task', '10', 'verify', 'warn');
        $this->assertSame(0, $queued->exitCode, $queued->stderr);
        $nid = (int) $queued->stdout;
        $result = $this->hostingTask($nid);

        $this->assertSame(0, $result->exitCode, $result->stderr);
        $current = $this->row('SELECT t.vid, t.task_status FROM aegir_node n JOIN aegir_hosting_task t ON t.vid = n.vid
                               WHERE n.nid = ?', [$nid]);
        $this->assertSame(3, $current['task_status']);
        $this->assertSame(2, $this->value('SELECT COUNT(*) FROM aegir_node_revision WHERE nid = ?', [$nid]));
        $this->assertSame(['queue', 'warning', 'success'], array_column($this->rows(
            'SELECT type FROM aegir_hosting_task_log WHERE vid = ? ORDER BY lid', [$current['vid']]), 'type'));
        $this->assertSame(2, $this->value('SELECT COUNT(*) FROM aegir_hosting_task_arguments WHERE nid = ?', [$nid]));
    }
}
