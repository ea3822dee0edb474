<?php

declare(strict_types=1);

namespace AegirSim\Tests;

/** What `hosting-task <nid>` leaves in the database and returns, for each sim_behaviour. */
final class BehaviourTest extends SimulatorTestCase
{
    public function testSucceedSavesANewRevisionAndFinishesItAsSuccessful(): void
    {
        $task = $this->queueTask(10, 'verify', 'succeed', 0, ['description' => 'nightly']);
        $before = time();
        $result = $this->hostingTask($task['nid']);
        $after = time();

        $this->assertSame(0, $result->exitCode, $result->stderr);
        $vid = $this->assertTaken($task, 1, $before, $after);
        $this->assertOldRevisionUntouched($task);
        $this->assertSame(['description' => 'nightly', 'sim_behaviour' => 'succeed'], $this->arguments($vid));
        $this->assertSame(['queue', 'success'], array_column($this->logEntries($vid), 'type'));
        $this->assertSame('Simulated provision-verify finished', $this->logEntries($vid)[1]['message']);
        $this->assertThat($this->current($task['nid'])['delta'], $this->logicalAnd(
            $this->greaterThanOrEqual(0), $this->lessThanOrEqual($after - $before)));
        $this->assertStringContainsString("Task starts processing: Verify: example.com\n", $result->stdout);
        $this->assertStringContainsString('Running provision-verify', $result->stdout);
    }

    public function testATaskWithoutBehaviourArgumentSucceeds(): void
    {
        $task = $this->queueTask(11, 'backup', null, 0, ['description' => 'before upgrade']);
        $result = $this->hostingTask($task['nid']);

        $this->assertSame(0, $result->exitCode, $result->stderr);
        $this->assertSame(1, $this->current($task['nid'])['task_status']);
        $this->assertSame(['description' => 'before upgrade'], $this->arguments($this->current($task['nid'])['vid']));
    }

    public function testFailLogsAnErrorAndEndsWithStatusErrorAndExitOne(): void
    {
        $task = $this->queueTask(10, 'verify', 'fail');
        $before = time();
        $result = $this->hostingTask($task['nid']);

        $this->assertSame(1, $result->exitCode);
        $vid = $this->assertTaken($task, 2, $before, time());
        $this->assertOldRevisionUntouched($task);
        $entries = $this->logEntries($vid);
        $this->assertSame(['queue', 'error', 'notice'], array_column($entries, 'type'));
        $this->assertSame('SIM_PROVISION_FAILED', $entries[1]['error']);
        $this->assertStringContainsString('Simulated failure of provision-verify', $result->stderr);
    }

    public function testWarnLogsAWarningAndEndsWithStatusWarningAndExitZero(): void
    {
        $task = $this->queueTask(12, 'backup', 'warn');
        $before = time();
        $result = $this->hostingTask($task['nid']);

        $this->assertSame(0, $result->exitCode, $result->stderr);
        $vid = $this->assertTaken($task, 3, $before, time());
        $this->assertSame(['queue', 'warning', 'success'], array_column($this->logEntries($vid), 'type'));
    }

    public function testSleepTakesTheTaskThenWaitsFractionalSecondsAndRecordsTheDuration(): void
    {
        $task = $this->queueTask(10, 'verify', 'sleep:1.5');
        $started = microtime(true);
        $result = $this->hostingTask($task['nid']);
        $elapsed = microtime(true) - $started;

        $this->assertSame(0, $result->exitCode, $result->stderr);
        $this->assertGreaterThanOrEqual(1.5, $elapsed);
        $current = $this->current($task['nid']);
        $this->assertSame(1, $current['task_status']);
        $this->assertGreaterThanOrEqual(1, $current['delta'], 'delta = now - executed');
        $this->assertLessThanOrEqual((int) ceil($elapsed), $current['delta']);
    }

    public function testCrashLeavesTheNewRevisionProcessingAndExits255(): void
    {
        $task = $this->queueTask(11, 'verify', 'crash');
        $before = time();
        $result = $this->hostingTask($task['nid']);

        $this->assertSame(255, $result->exitCode);
        $this->assertStringContainsString('PHP Fatal error:', $result->stderr);
        $vid = $this->assertTaken($task, -1, $before, time());
        $this->assertOldRevisionUntouched($task);
        $this->assertSame(0, $this->current($task['nid'])['delta'], 'not finalized');
        $this->assertSame(['queue'], array_column($this->logEntries($vid), 'type'));
    }

    public function testHangKeepsTheTaskProcessingUntilSigtermKillsIt(): void
    {
        $task = $this->queueTask(12, 'verify', 'hang');
        $before = time();
        $process = $this->start(['@hostmaster', 'hosting-task', (string) $task['nid'], '--strict=0']);

        // Poll the database (bounded) until the child has taken the task and logged its start.
        $deadline = microtime(true) + 20;
        while (true) {
            $current = $this->current($task['nid']);
            $taken = $current['vid'] !== $task['vid'] && $this->logEntries($current['vid']) !== [];
            if ($taken || microtime(true) > $deadline) {
                break;
            }
            $this->assertTrue($process->isRunning(), 'the hanging child exited early');
            usleep(20000);
        }
        $this->assertTrue($taken, 'the child took the task within 20 s');
        $this->assertTrue($process->isRunning(), 'the child hangs after taking the task');

        $result = $process->terminate(SIGTERM);
        $this->assertSame(SIGTERM, $result->signal, 'default SIGTERM handling ends it');
        $vid = $this->assertTaken($task, -1, $before, time());
        $this->assertSame(0, $this->current($task['nid'])['delta']);
        $this->assertSame(['queue'], array_column($this->logEntries($vid), 'type'));
        $this->assertOldRevisionUntouched($task);
    }

    public function testExitEarlyLeavesEveryTableUntouched(): void
    {
        $task = $this->queueTask(10, 'verify', 'exit-early');
        $before = $this->snapshot();
        $result = $this->hostingTask($task['nid']);

        $this->assertSame(1, $result->exitCode);
        $this->assertStringContainsString('(PROVISION_OVERLOAD)', $result->stderr);
        $this->assertSame($before, $this->snapshot());
    }

    public function testExitEarlyHappensBeforeTheQueuedCheck(): void
    {
        // The daemon's case: it claimed the task (status -1 on the queued revision) and runs --force;
        // without --force the overload error still comes first.
        $task = $this->queueTask(10, 'verify', 'exit-early', -1);
        $before = $this->snapshot();
        foreach ([[], ['--force']] as $options) {
            $result = $this->hostingTask($task['nid'], ...$options);
            $this->assertSame(1, $result->exitCode);
            $this->assertStringContainsString('PROVISION_OVERLOAD', $result->stderr);
            $this->assertStringNotContainsString('HOSTING_TASK_RUNNING', $result->stderr);
        }
        $this->assertSame($before, $this->snapshot());
    }

    public function testFloodWritesExactlyNBytesOfLinesThenSucceeds(): void
    {
        $bytes = 300007; // not a multiple of the line length: the last line is short
        $task = $this->queueTask(11, 'verify', "flood:$bytes");
        $result = $this->hostingTask($task['nid']);

        $this->assertSame(0, $result->exitCode, $result->stderr);
        $this->assertSame(1, $this->current($task['nid'])['task_status']);
        $floodLines = preg_grep('/^x+$/', explode("\n", $result->stdout));
        $this->assertSame($bytes, array_sum(array_map(fn ($line) => strlen($line) + 1, $floodLines)));
        $this->assertStringEndsWith("\n", $result->stdout);
    }

    /** @return array<string,array{string}> */
    public static function unknownBehaviours(): array
    {
        return ['unknown word' => ['explode'], 'sleep without a number' => ['sleep:soon'],
            'flood without a size' => ['flood:'], 'parameter where none is taken' => ['succeed:1']];
    }

    /** @dataProvider unknownBehaviours */
    public function testUnknownBehaviourIsLoggedAsAnErrorAndFinalizedAsFailed(string $behaviour): void
    {
        $task = $this->queueTask(10, 'verify', $behaviour);
        $before = time();
        $result = $this->hostingTask($task['nid']);

        $this->assertSame(1, $result->exitCode);
        $vid = $this->assertTaken($task, 2, $before, time());
        $entries = $this->logEntries($vid);
        $this->assertSame('error', $entries[1]['type']);
        $this->assertSame("Unknown simulator behaviour '$behaviour'", $entries[1]['message']);
        $this->assertSame('SIM_UNKNOWN_BEHAVIOUR', $entries[1]['error']);
    }
}
