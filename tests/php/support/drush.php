<?php
/**
 * Stand-ins for the drush 8 and provision functions drush/skynet.drush.inc calls. Shell commands
 * really run; d() answers from World::$contexts (each an object with the context's properties);
 * messages, errors and printed lines are recorded in World.
 */

declare(strict_types=1);

use SkynetTest\World;

const DRUSH_BOOTSTRAP_NONE = 0;
const DRUSH_BOOTSTRAP_DRUSH = 1;
const DRUSH_BOOTSTRAP_DRUPAL_FULL = 6;

function dt(string $string, array $args = []): string
{
    return strtr($string, array_map('strval', $args));
}

function d(?string $name = null): ?object
{
    return World::$contexts[$name ?? '@self'] ?? null;
}

function drush_log(string $message, string $type = 'notice'): bool
{
    World::$drushLog[] = [$message, $type];
    return true;
}

function drush_set_error(string $error, string $message = ''): bool
{
    World::$drushErrors[] = [$error, $message];
    return false;
}

function drush_get_option(string $name, mixed $default = null): mixed
{
    return World::$options[$name] ?? $default;
}

function drush_get_context(string $context): array
{
    return $context === 'site' ? World::$siteContext : [];
}

function drush_server_home(): string
{
    return (string) getenv('HOME');
}

function drush_shell_exec(string $command, mixed ...$args): bool
{
    $command = vsprintf($command, array_map('escapeshellarg', array_map('strval', $args)));
    World::$shell[] = $command;
    $output = [];
    exec($command . ' 2>&1', $output, $status);
    World::$shellOutput = $output;
    return $status === 0;
}

function drush_shell_exec_output(): array
{
    return World::$shellOutput;
}

function drush_print(string $message = ''): void
{
    World::$printed[] = $message;
}

function drush_print_table(array $rows, bool $header = false): void
{
    foreach ($rows as $row) {
        World::$printed[] = implode(' | ', array_map('strval', $row));
    }
}
