<?php

declare(strict_types=1);

namespace AegirSim\Tests;

/**
 * The simulator run as a real child process, the way the daemon runs it: no shell, an explicit
 * environment, stdout and stderr to files (so a flooding child can never block on a full pipe).
 */
final class DrushProcess
{
    /** @var resource */
    private $proc;
    public readonly int $pid;
    private ?array $finalStatus = null;

    /**
     * @param list<string> $command argv, argv[0] being the program
     * @param array<string,string> $env the child's whole environment
     */
    public function __construct(array $command, array $env, private string $stdoutFile, private string $stderrFile)
    {
        $this->proc = proc_open($command, [0 => ['file', '/dev/null', 'r'], 1 => ['file', $stdoutFile, 'w'],
            2 => ['file', $stderrFile, 'w']], $pipes, sys_get_temp_dir(), $env);
        if ($this->proc === false) {
            throw new \RuntimeException('Cannot start ' . implode(' ', $command));
        }
        $status = proc_get_status($this->proc);
        $this->pid = $status['pid'];
        $this->keep($status);
    }

    public function isRunning(): bool
    {
        return $this->finalStatus === null && $this->keep(proc_get_status($this->proc));
    }

    /** Waits (bounded) for the child to end; a child still running after $timeout is killed. */
    public function wait(float $timeout = 30.0): DrushResult
    {
        $deadline = microtime(true) + $timeout;
        while ($this->isRunning()) {
            if (microtime(true) > $deadline) {
                proc_terminate($this->proc, SIGKILL);
                proc_close($this->proc);
                $this->finalStatus = ['signaled' => true, 'termsig' => SIGKILL, 'exitcode' => -1];
                throw new \RuntimeException("drush (pid $this->pid) still running after {$timeout}s; killed. "
                    . 'stderr: ' . file_get_contents($this->stderrFile));
            }
            usleep(10000);
        }
        proc_close($this->proc);
        $status = $this->finalStatus;
        return new DrushResult(
            $status['signaled'] ? null : $status['exitcode'],
            $status['signaled'] ? $status['termsig'] : null,
            (string) file_get_contents($this->stdoutFile),
            (string) file_get_contents($this->stderrFile),
            $this->pid,
        );
    }

    public function terminate(int $signal = SIGTERM): DrushResult
    {
        if ($this->isRunning()) {
            proc_terminate($this->proc, $signal);
        }
        return $this->wait(10.0);
    }

    /** proc_get_status() reports the exit status only once (PHP < 8.3), so it is kept here. */
    private function keep(array $status): bool
    {
        if (!$status['running']) {
            $this->finalStatus ??= $status;
        }
        return $status['running'];
    }
}

final class DrushResult
{
    public function __construct(
        public readonly ?int $exitCode,
        public readonly ?int $signal,
        public readonly string $stdout,
        public readonly string $stderr,
        public readonly int $pid,
    ) {
    }
}
