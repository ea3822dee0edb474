<?php

declare(strict_types=1);

namespace SkynetTest;

/**
 * The wake-up: POST /api/wake after a task is queued, sent once the request ends, over a real
 * socket to a peer in another process.
 */
final class WakeTest extends SkynetTestCase
{
    /** @var list<resource> */
    private array $peers = [];

    protected function tearDown(): void
    {
        foreach ($this->peers as $peer) {
            proc_terminate($peer, SIGKILL);
            proc_close($peer);
        }
        parent::tearDown();
    }

    /** Starts wake-peer; returns [port, file the request lands in]. */
    private function peer(string $mode): array
    {
        $file = "$this->dir/request";
        $proc = proc_open([__DIR__ . '/../support/wake-peer.php', $file, $mode], [0 => ['file', '/dev/null', 'r'], 1 => ['pipe', 'w'],
            2 => ['file', "$this->dir/peer.err", 'w']], $pipes);
        $this->peers[] = $proc;
        $port = (int) fgets($pipes[1]);
        $this->assertGreaterThan(0, $port, 'the peer listens: ' . @file_get_contents("$this->dir/peer.err"));
        return [$port, $file];
    }

    private function awaitFile(string $file): string
    {
        $deadline = microtime(true) + 10;
        while (!is_file($file) && microtime(true) < $deadline) {
            usleep(10000);
        }
        clearstatcache();
        return (string) @file_get_contents($file);
    }

    private function task(int $status): object
    {
        return (object) ['nid' => 100, 'type' => 'task', 'task_status' => $status];
    }

    public function testAQueuedTaskSchedulesOneWakeUpForTheEndOfTheRequest(): void
    {
        hosting_skynet_node_insert($this->task(0));
        hosting_skynet_node_update($this->task(0));
        hosting_skynet_node_insert($this->task(0));

        $this->assertCount(1, World::$shutdown);
        $this->assertSame('hosting_skynet_wake', World::$shutdown[0][0]);
    }

    /** @return array<string, array{0: object}> */
    public static function nodesThatNeedNoWake(): array
    {
        return [
            'processing task' => [(object) ['type' => 'task', 'task_status' => -1]],
            'finished task' => [(object) ['type' => 'task', 'task_status' => 1]],
            'site' => [(object) ['type' => 'site', 'task_status' => 0]],
            'task without status' => [(object) ['type' => 'task']],
        ];
    }

    /** @dataProvider nodesThatNeedNoWake */
    public function testOtherNodesScheduleNothing(object $node): void
    {
        hosting_skynet_node_update($node);

        $this->assertSame([], World::$shutdown);
    }

    public function testTheWakeUpPostsToTheApiAndReadsItsAnswer(): void
    {
        [$port, $file] = $this->peer('answer');

        $this->assertSame(202, hosting_skynet_wake("127.0.0.1:$port"));

        $request = $this->awaitFile($file);
        $this->assertStringStartsWith("POST /api/wake HTTP/1.1\r\n", $request);
        $this->assertStringContainsString("Content-Length: 0\r\n", $request);
    }

    public function testAQueuedTaskReachesTheDaemonOnlyAfterTheRequest(): void
    {
        [$port, $file] = $this->peer('answer');
        variable_set('hosting_skynet_api_listen', "0.0.0.0:$port");

        hosting_add_task(3, 'verify');
        $this->assertFileDoesNotExist($file, 'nothing is sent while the task is being saved');
        $results = World::runShutdownFunctions();

        $this->assertSame([202], $results);
        $this->assertStringStartsWith('POST /api/wake ', $this->awaitFile($file));
    }

    public function testAClosedPortReturnsWithoutError(): void
    {
        $server = stream_socket_server('tcp://127.0.0.1:0');
        $port = parse_url('tcp://' . stream_socket_get_name($server, false), PHP_URL_PORT);
        fclose($server);

        $this->assertSame(0, hosting_skynet_wake("127.0.0.1:$port"));
    }

    public function testADaemonThatNeverAnswersCostsOnlyTheBudget(): void
    {
        [$port, $file] = $this->peer('silent');

        $this->assertSame(0, hosting_skynet_wake("127.0.0.1:$port"), 'gives up instead of waiting for the answer');
        $this->assertStringStartsWith('POST /api/wake ', $this->awaitFile($file), 'the request was sent all the same');
    }

    public function testAnEmptyAddressTurnsTheWakeUpOff(): void
    {
        $this->assertSame(0, hosting_skynet_wake(''));
        $this->assertNull(hosting_skynet_wake_address(''));
    }

    public function testWildcardAddressesAreReachedOnLoopback(): void
    {
        $this->assertSame(['127.0.0.1', 8000], hosting_skynet_wake_address('0.0.0.0:8000'));
        $this->assertSame(['127.0.0.1', 8000], hosting_skynet_wake_address(':8000'));
        $this->assertSame(['::1', 8000], hosting_skynet_wake_address('[::]:8000'));
        $this->assertSame(['10.0.0.5', 81], hosting_skynet_wake_address('10.0.0.5:81'));
        $this->assertNull(hosting_skynet_wake_address('localhost'));
        $this->assertNull(hosting_skynet_wake_address("127.0.0.1\n:80"));
    }
}
