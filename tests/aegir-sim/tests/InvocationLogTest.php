<?php

declare(strict_types=1);

namespace AegirSim\Tests;

/** $HOME/.aegir-sim/invocations.log: one JSON line per hosting-task invocation. */
final class InvocationLogTest extends SimulatorTestCase
{
    /** @return list<array<string,mixed>> */
    private function invocations(): array
    {
        $file = "$this->home/.aegir-sim/invocations.log";
        $this->assertFileExists($file);
        return array_map(fn ($line) => json_decode($line, true, 512, JSON_THROW_ON_ERROR),
            file($file, FILE_IGNORE_NEW_LINES));
    }

    public function testEachInvocationIsRecordedWithArgvPidProcessGroupAndEnvironment(): void
    {
        $task = $this->queueTask(10, 'verify', 'succeed');
        $before = time();
        $result = $this->hostingTask($task['nid'], '--interactive=true');

        $this->assertSame(0, $result->exitCode, $result->stderr);
        $log = $this->invocations();
        $this->assertCount(1, $log);
        $entry = $log[0];
        $this->assertSame([self::DRUSH, '@hostmaster', 'hosting-task', (string) $task['nid'], '--strict=0',
            '--interactive=true'], $entry['argv']);
        $this->assertSame($result->pid, $entry['pid']);
        $this->assertSame(getmypid(), $entry['ppid']);
        $this->assertSame(posix_getpgid(0), $entry['pgid'], 'proc_open keeps the child in our process group');
        $this->assertSame($this->childEnv(), $entry['env']);
        $this->assertSame(['HOME', 'PATH', 'USER'], $entry['env_names']);
        $this->assertThat($entry['time'], $this->logicalAnd($this->greaterThanOrEqual($before), $this->lessThanOrEqual(time())));
    }

    public function testRefusedInvocationsAreRecordedTooButQueueingIsNot(): void
    {
        $queued = $this->drush('@hostmaster', 'sim-queue-task', '10', 'verify');
        $this->assertSame(0, $queued->exitCode, $queued->stderr);
        $this->assertFileDoesNotExist("$this->home/.aegir-sim/invocations.log");

        $nid = trim($queued->stdout);
        $this->assertSame(0, $this->drush('@hostmaster', 'hosting-task', $nid)->exitCode);
        $this->assertSame(1, $this->drush('@hostmaster', 'hosting-task', $nid)->exitCode);
        $this->assertSame(1, $this->drush('@elsewhere', 'hosting-task', $nid)->exitCode);

        $this->assertSame([['@hostmaster', 'hosting-task', $nid], ['@hostmaster', 'hosting-task', $nid],
            ['@elsewhere', 'hosting-task', $nid]], array_map(fn ($e) => array_slice($e['argv'], 1), $this->invocations()));
    }

    public function testAChildStartedInItsOwnProcessGroupRecordsThatGroup(): void
    {
        $setsid = trim((string) shell_exec('command -v setsid'));
        if ($setsid === '') {
            $this->markTestSkipped('setsid(1) is not installed');
        }
        $task = $this->queueTask(11, 'verify', 'succeed');
        $result = $this->start([], [$setsid, self::DRUSH, '@hostmaster', 'hosting-task', (string) $task['nid']])->wait();

        $this->assertSame(0, $result->exitCode, $result->stderr);
        $entry = $this->invocations()[0];
        $this->assertSame($entry['pid'], $entry['pgid']);
        $this->assertNotSame(posix_getpgid(0), $entry['pgid']);
    }

    public function testConcurrentInvocationsEachAppendOneWholeLine(): void
    {
        $nids = [];
        foreach ([10, 11, 12, 3] as $rid) {
            $nids[] = $this->queueTask($rid, 'verify', 'sleep:0.2')['nid'];
        }
        $processes = array_map(fn ($nid) => $this->start(['@hostmaster', 'hosting-task', (string) $nid, '--strict=0']), $nids);
        foreach ($processes as $process) {
            $result = $process->wait();
            $this->assertSame(0, $result->exitCode, $result->stderr);
        }

        $log = $this->invocations();
        $this->assertCount(4, $log);
        $logged = array_map(fn ($e) => (int) $e['argv'][3], $log);
        sort($logged);
        $this->assertSame($nids, $logged);
        $this->assertEqualsCanonicalizing(array_map(fn ($p) => $p->pid, $processes), array_column($log, 'pid'));
        foreach ($nids as $nid) {
            $this->assertSame(1, $this->current($nid)['task_status']);
        }
    }
}
