<?php

declare(strict_types=1);

namespace AegirSim\Tests;

/** hosting-task refuses tasks that are not queued unless --force, and tasks it cannot find. */
final class RefusalTest extends SimulatorTestCase
{
    /** @return array<string,array{int,string}> */
    public static function notQueued(): array
    {
        return [
            'processing' => [-1, 'HOSTING_TASK_RUNNING'],
            'successful' => [1, 'HOSTING_TASK_NOT_QUEUED'],
            'failed' => [2, 'HOSTING_TASK_NOT_QUEUED'],
            'warning' => [3, 'HOSTING_TASK_NOT_QUEUED'],
        ];
    }

    /** @dataProvider notQueued */
    public function testATaskThatIsNotQueuedIsRefusedWithoutChanges(int $status, string $code): void
    {
        $task = $this->queueTask(10, 'verify', 'succeed', $status);
        $before = $this->snapshot();
        $result = $this->hostingTask($task['nid']);

        $this->assertSame(1, $result->exitCode);
        $this->assertStringContainsString("($code)", $result->stderr);
        $this->assertSame($before, $this->snapshot());
    }

    /** @return array<string,array{int,string}> */
    public static function forced(): array
    {
        $cases = [];
        foreach ([-1, 1, 2, 3] as $status) {
            foreach (['--force', '--force=1'] as $option) {
                $cases["status $status with $option"] = [$status, $option];
            }
        }
        return $cases;
    }

    /** @dataProvider forced */
    public function testForceTakesATaskThatIsNotQueued(int $status, string $option): void
    {
        $task = $this->queueTask(11, 'verify', 'warn', $status);
        $before = time();
        $result = $this->hostingTask($task['nid'], $option);

        $this->assertSame(0, $result->exitCode, $result->stderr);
        $this->assertTaken($task, 3, $before, time());
        $this->assertOldRevisionUntouched($task, $status);
    }

    public function testForceZeroDoesNotForce(): void
    {
        $task = $this->queueTask(11, 'verify', 'succeed', -1);
        $before = $this->snapshot();
        $result = $this->hostingTask($task['nid'], '--force=0');

        $this->assertSame(1, $result->exitCode);
        $this->assertStringContainsString('HOSTING_TASK_RUNNING', $result->stderr);
        $this->assertSame($before, $this->snapshot());
    }

    /** @return array<string,array{string}> */
    public static function unknownNids(): array
    {
        return ['no such node' => ['999'], 'a site node, not a task' => ['10'], 'not a number' => ['abc']];
    }

    /** @dataProvider unknownNids */
    public function testAnUnknownTaskIsReportedLikeDrush(string $nid): void
    {
        $this->queueTask(10, 'verify', 'succeed');
        $before = $this->snapshot();
        $result = $this->drush('@hostmaster', 'hosting-task', $nid, '--strict=0');

        $this->assertSame(1, $result->exitCode);
        $this->assertSame("Could not find task $nid\n", $result->stderr);
        $this->assertSame($before, $this->snapshot());
    }

    public function testASecondRunOfAFinishedTaskIsRefused(): void
    {
        $task = $this->queueTask(12, 'verify', 'succeed');
        $this->assertSame(0, $this->hostingTask($task['nid'])->exitCode);
        $before = $this->snapshot();

        $again = $this->hostingTask($task['nid']);
        $this->assertSame(1, $again->exitCode);
        $this->assertStringContainsString('HOSTING_TASK_NOT_QUEUED', $again->stderr);
        $this->assertSame($before, $this->snapshot());
    }
}
