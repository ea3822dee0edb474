<?php

declare(strict_types=1);

namespace AegirSim\Tests;

/** `sim-queue-task <rid> <task_type> [behaviour]` writes what hosting_add_task() writes. */
final class QueueTaskTest extends SimulatorTestCase
{
    public function testQueuesATaskNodeWithOneRevisionAtStatusQueued(): void
    {
        $before = time();
        $result = $this->drush('@hostmaster', 'sim-queue-task', '10', 'verify', 'fail');
        $after = time();

        $this->assertSame(0, $result->exitCode, $result->stderr);
        $this->assertMatchesRegularExpression('/^\d+\n$/', $result->stdout);
        $nid = (int) $result->stdout;
        $this->assertGreaterThanOrEqual(100, $nid, 'after the fixture nodes');

        $node = $this->row('SELECT * FROM node WHERE nid = ?', [$nid]);
        $this->assertSame(['type' => 'task', 'language' => 'und', 'title' => 'Verify: example.com', 'uid' => 1, 'status' => 1],
            array_intersect_key($node, array_flip(['type', 'language', 'title', 'uid', 'status'])));
        $this->assertSame($node['created'], $node['changed']);
        $this->assertThat($node['created'], $this->logicalAnd($this->greaterThanOrEqual($before), $this->lessThanOrEqual($after)));

        $revisions = $this->rows('SELECT nid, vid, uid, title, log, timestamp, status FROM node_revision WHERE nid = ?', [$nid]);
        $this->assertSame([['nid' => $nid, 'vid' => $node['vid'], 'uid' => 1, 'title' => 'Verify: example.com',
            'log' => '', 'timestamp' => $node['created'], 'status' => 1]], $revisions);

        $this->assertSame([['vid' => $node['vid'], 'nid' => $nid, 'task_type' => 'verify', 'rid' => 10,
            'task_status' => 0, 'executed' => 0, 'delta' => 0]], $this->rows('SELECT * FROM hosting_task WHERE nid = ?', [$nid]));
        $this->assertSame(['sim_behaviour' => 'fail'], $this->arguments($node['vid']));
        $this->assertSame([], $this->rows('SELECT * FROM hosting_task_log'));
    }

    public function testWithoutBehaviourNoArgumentIsStoredAndTheTitleNamesTheType(): void
    {
        $result = $this->drush('@hostmaster', 'sim-queue-task', '11', 'login-reset');

        $this->assertSame(0, $result->exitCode, $result->stderr);
        $nid = (int) $result->stdout;
        $this->assertSame('Login reset: shop.example.com', $this->value('SELECT title FROM node WHERE nid = ?', [$nid]));
        $this->assertSame(0, $this->value('SELECT COUNT(*) FROM hosting_task_arguments WHERE nid = ?', [$nid]));
    }

    public function testAQueuedTaskRunsThroughHostingTask(): void
    {
        $nid = (int) $this->drush('@hostmaster', 'sim-queue-task', '12', 'backup', 'fail')->stdout;
        $result = $this->hostingTask($nid);

        $this->assertSame(1, $result->exitCode);
        $this->assertSame(2, $this->current($nid)['task_status']);
        $this->assertSame(2, $this->value('SELECT COUNT(*) FROM hosting_task WHERE nid = ?', [$nid]));
    }

    /** @return array<string,list<string>> */
    public static function badArguments(): array
    {
        return ['unknown rid' => ['999', 'verify'], 'no type' => ['10'], 'rid not a number' => ['example.com', 'verify']];
    }

    /** @dataProvider badArguments */
    public function testBadArgumentsQueueNothing(string ...$args): void
    {
        $result = $this->drush('@hostmaster', 'sim-queue-task', ...$args);

        $this->assertSame(1, $result->exitCode);
        $this->assertNotSame('', $result->stderr);
        $this->assertSame(0, $this->value("SELECT COUNT(*) FROM node WHERE type = 'task'"));
        $this->assertSame(0, $this->value('SELECT COUNT(*) FROM hosting_task'));
    }
}
