<?php

declare(strict_types=1);

foreach (['Files', 'Sandbox', 'SandboxExtension', 'DrushProcess', 'SimulatorTestCase'] as $class) {
    require_once __DIR__ . "/support/$class.php";
}
