<?php

declare(strict_types=1);

namespace AegirSim\Tests;

use PHPUnit\Runner\AfterLastTestHook;

/** Stops the test run's MariaDB once the last test is done. */
final class SandboxExtension implements AfterLastTestHook
{
    public function executeAfterLastTest(): void
    {
        Sandbox::stop();
    }
}
