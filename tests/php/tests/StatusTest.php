<?php

declare(strict_types=1);

namespace SkynetTest;

/**
 * The status page, the pause button, the drush commands, the requirements and the uninstall,
 * on the tables the built daemon creates.
 */
final class StatusTest extends SkynetTestCase
{
    protected bool $skynetTables = true;
    private const NOW = 1800000000.0;
    private int $runs = 0;

    private function worker(float $heartbeat, ?float $stopped = null): int
    {
        $this->db->prepare("INSERT INTO skynet_worker (host, pid, version, started, heartbeat, stopped) VALUES ('aegir', 4242, '0.1.0', ?, ?, ?)")
            ->execute([$heartbeat - 100, $heartbeat, $stopped]);
        return (int) $this->db->lastInsertId();
    }

    private function addRun(array $columns): int
    {
        $columns += ['kind' => 'task', 'token' => sprintf('%032x', ++$this->runs), 'command' => 'drush', 'host' => 'aegir'];
        $this->db->prepare('INSERT INTO skynet_run (' . implode(', ', array_keys($columns)) . ') VALUES ('
            . implode(', ', array_fill(0, count($columns), '?')) . ')')->execute(array_values($columns));
        return (int) $this->db->lastInsertId();
    }

    private function queuedTask(int $rid): int
    {
        return hosting_add_task($rid, 'verify')->nid;
    }

    public function testWithoutSkynetsTablesThePageSaysTheDaemonNeverConnected(): void
    {
        foreach (hosting_skynet_tables() as $table) {
            $this->db->exec("DROP TABLE $table");
        }
        $this->queuedTask(10);

        $data = hosting_skynet_status_data(self::NOW);
        $build = hosting_skynet_status_build($data, self::NOW);

        $this->assertFalse($data['tables']);
        $this->assertSame(1, $data['queued']);
        $this->assertStringContainsString('never connected', $build['none']['#markup']);
        $this->assertArrayNotHasKey('workers', $build);
    }

    public function testEachDaemonIsUpOrDownFromItsHeartbeat(): void
    {
        $up = $this->worker(self::NOW - 5);
        $stale = $this->worker(self::NOW - 31);
        $stopped = $this->worker(self::NOW - 2, self::NOW - 1);
        $this->worker(self::NOW - 90000, self::NOW - 90000);

        $data = hosting_skynet_status_data(self::NOW);

        $this->assertSame([(string) $stopped => false, (string) $stale => false, (string) $up => true],
            array_column(array_map(fn ($w) => (array) $w, $data['workers']), 'up', 'id'), 'a day-old stopped worker is left out');
        $rows = hosting_skynet_status_build($data, self::NOW)['workers']['#rows'];
        $this->assertSame(['stopped', 'down', 'up'], array_column($rows, 3));
        $this->assertSame('5 s ago', $rows[2][4]);
    }

    public function testRunningTasksShowTheirAgeAndLinkToTheTaskNode(): void
    {
        $nid = $this->queuedTask(10);
        $this->addRun(['task_nid' => $nid, 'task_type' => 'verify', 'state' => 'running', 'started' => self::NOW - 125, 'pid' => 77]);
        $this->addRun(['task_nid' => $nid, 'task_type' => 'verify', 'state' => 'succeeded', 'started' => self::NOW - 300, 'stopped' => self::NOW - 200]);

        $rows = hosting_skynet_status_build(hosting_skynet_status_data(self::NOW), self::NOW)['running']['#rows'];

        $this->assertCount(1, $rows);
        $this->assertSame("<a href=\"/node/$nid\">Verify: example.com</a>", $rows[0][0]);
        $this->assertSame('2 mins 5 secs', $rows[0][2]);
        $this->assertSame('aegir:77', $rows[0][3]);
    }

    public function testRecentRunsShowDurationAndOutcomeNewestFirst(): void
    {
        $nid = $this->queuedTask(11);
        $this->addRun(['task_nid' => $nid, 'task_type' => 'backup', 'state' => 'failed', 'started' => self::NOW - 60, 'stopped' => self::NOW - 50.5, 'exit_code' => 1]);
        $this->addRun(['task_nid' => $nid, 'task_type' => 'backup', 'state' => 'timed_out', 'started' => self::NOW - 40, 'stopped' => self::NOW - 10,
            'term_signal' => 9, 'message' => 'killed after 30 s']);

        $rows = hosting_skynet_status_build(hosting_skynet_status_data(self::NOW), self::NOW)['recent']['#rows'];

        $this->assertSame([['30 s', 'timed_out (signal 9)', 'killed after 30 s'], ['9.5 s', 'failed (exit 1)', '']],
            array_map(fn ($r) => [$r[2], $r[3], $r[4]], $rows));
    }

    public function testTheQueueDepthCountsCurrentRevisionsOnly(): void
    {
        $this->queuedTask(10);
        $taken = $this->queuedTask(11);
        // hosting-task took it: a new revision at -1, the queued one stays behind at 0.
        $this->db->exec("INSERT INTO node_revision (nid, uid, title, log, timestamp, status) VALUES ($taken, 1, 'x', '', 0, 1)");
        $vid = $this->db->lastInsertId();
        $this->db->exec("UPDATE node SET vid = $vid WHERE nid = $taken");
        $this->db->exec("INSERT INTO hosting_task (vid, nid, task_type, rid, task_status, executed, delta) VALUES ($vid, $taken, 'verify', 11, -1, 0, 0)");

        $this->assertSame(1, hosting_skynet_status_data(self::NOW)['queued']);
    }

    public function testLackeyRunsAreListed(): void
    {
        $this->db->exec("INSERT INTO skynet_project (name, created, changed) VALUES ('sims', 0, 0)");
        $this->db->exec("INSERT INTO skynet_application (project_id, name, command, created, changed) VALUES (LAST_INSERT_ID(), 'nightly', 'make', 0, 0)");
        $app = $this->db->lastInsertId();
        $this->addRun(['kind' => 'job', 'application_id' => $app, 'state' => 'succeeded', 'started' => self::NOW - 20, 'stopped' => self::NOW - 8]);

        $rows = hosting_skynet_status_build(hosting_skynet_status_data(self::NOW), self::NOW)['jobs']['#rows'];

        $this->assertSame([['nightly', 'succeeded', '12 s']], array_map(fn ($r) => [$r[1], $r[2], $r[3]], $rows));
        $this->assertSame([], hosting_skynet_status_data(self::NOW)['recent'], 'jobs are not task runs');
    }

    public function testThePauseButtonIsForAdministratorsAndTogglesThePause(): void
    {
        $this->assertArrayNotHasKey('pause', hosting_skynet_status_build(hosting_skynet_status_data(self::NOW), self::NOW));
        World::$permissions['administer skynet'] = true;

        $form = hosting_skynet_status_build(hosting_skynet_status_data(self::NOW), self::NOW)['pause'];
        $this->assertSame('Pause the queue', $form['toggle']['#value']);
        $state = [];
        hosting_skynet_pause_form_submit($form, $state);
        $this->assertSame('b:1;', $this->rawVariable('hosting_skynet_paused'));

        $form = hosting_skynet_pause_form([], $state);
        $this->assertSame('Resume the queue', $form['toggle']['#value']);
        hosting_skynet_pause_form_submit($form, $state);
        $this->assertSame('b:0;', $this->rawVariable('hosting_skynet_paused'));
    }

    public function testThePauseFormRefusesWithoutPermission(): void
    {
        $form = hosting_skynet_pause_form([], $state);
        World::$permissions = [];

        hosting_skynet_pause_form_submit($form, $state);

        $this->assertNull($this->rawVariable('hosting_skynet_paused'));
        $this->assertCount(1, $this->messages('error'));
    }

    public function testDrushPauseResumeAndStatus(): void
    {
        $this->worker(microtime(true));
        $this->queuedTask(10);

        $this->assertTrue(drush_skynet_pause());
        $this->assertTrue(hosting_skynet_paused());
        drush_skynet_status();
        $this->assertSame('Queue: paused, 1 waiting', World::$printed[0]);
        $this->assertMatchesRegularExpression('/^\d+ \| aegir \| 4242 \| up \| \d s ago$/', World::$printed[2]);

        $this->assertTrue(drush_skynet_resume());
        $this->assertFalse(hosting_skynet_paused());
    }

    public function testRequirementsNeedARecentHeartbeatAndTheBinary(): void
    {
        variable_set('hosting_skynet_binary', "$this->dir/skynet");

        $requirements = hosting_skynet_requirements('runtime');
        $this->assertSame(REQUIREMENT_ERROR, $requirements['hosting_skynet_daemon']['severity']);
        $this->assertSame('Never started', $requirements['hosting_skynet_daemon']['value']);
        $this->assertSame(REQUIREMENT_ERROR, $requirements['hosting_skynet_binary']['severity']);

        touch("$this->dir/skynet");
        $this->worker(microtime(true) - 120);
        $this->assertSame(REQUIREMENT_ERROR, hosting_skynet_requirements('runtime')['hosting_skynet_daemon']['severity'], 'a stale heartbeat is down');
        $this->worker(microtime(true) - 1, microtime(true));
        $this->assertSame(REQUIREMENT_ERROR, hosting_skynet_requirements('runtime')['hosting_skynet_daemon']['severity'], 'a stopped worker is down');

        $this->worker(microtime(true) - 1);
        $requirements = hosting_skynet_requirements('runtime');
        $this->assertSame(REQUIREMENT_OK, $requirements['hosting_skynet_daemon']['severity']);
        $this->assertSame(REQUIREMENT_OK, $requirements['hosting_skynet_binary']['severity']);
    }

    public function testUninstallDropsSkynetsTablesIndexAndVariablesOnly(): void
    {
        $this->queuedTask(10);
        variable_set('hosting_skynet_concurrency', 3);
        variable_set('hosting_skynet_paused', true);
        $this->assertTrue(db_index_exists('hosting_task', 'skynet_task_status'), 'the daemon adds this index');
        $tables = $this->db->query("SHOW TABLES LIKE 'skynet\\_%'")->fetchAll(\PDO::FETCH_COLUMN);
        sort($tables);
        $expected = hosting_skynet_tables();
        sort($expected);
        $this->assertSame($expected, $tables, 'the module knows every table the daemon creates');

        hosting_skynet_uninstall();

        $this->assertSame([], $this->db->query("SHOW TABLES LIKE 'skynet\\_%'")->fetchAll());
        $this->assertFalse(db_index_exists('hosting_task', 'skynet_task_status'));
        $this->assertSame('0', $this->value("SELECT COUNT(*) FROM variable WHERE name LIKE 'hosting\\_skynet\\_%'"));
        $this->assertSame('s:1:"3";', $this->rawVariable('aegir_hostmaster_site_nid'), "Aegir's variables stay");
        $this->assertCount(1, $this->tasks(), "Aegir's tasks stay");
    }
}
