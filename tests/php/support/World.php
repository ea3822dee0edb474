<?php

declare(strict_types=1);

namespace SkynetTest;

use PDO;

/**
 * The state behind the Drupal and drush stand-ins (drupal.php, drush.php): the test's database
 * connection and what the code under test said or asked for. reset() before each test.
 */
final class World
{
    public static ?PDO $db = null;
    /** @var list<array{0: string, 1: string}> drupal_set_message(): [message, type] */
    public static array $messages = [];
    /** @var array<string,string> form_set_error(): field => message */
    public static array $formErrors = [];
    /** @var list<array{0: callable, 1: array}> drupal_register_shutdown_function() */
    public static array $shutdown = [];
    /** @var array<string,bool> user_access() answers */
    public static array $permissions = [];
    /** @var array<string,mixed> drupal_static() */
    public static array $statics = [];
    /** @var list<array{0: string, 1: string}> drush_log(): [message, type] */
    public static array $drushLog = [];
    /** @var list<array{0: string, 1: string}> drush_set_error(): [code, message] */
    public static array $drushErrors = [];
    /** @var array<string,mixed> drush_get_option() values */
    public static array $options = [];
    /** @var array<string,mixed> drush_get_context('site') */
    public static array $siteContext = [];
    /** @var array<string,object> d(): alias => context; '@self' is the current one */
    public static array $contexts = [];
    /** @var list<string> drush_shell_exec(): every command line run */
    public static array $shell = [];
    /** @var list<string> */
    public static array $shellOutput = [];
    /** @var list<string> drush_print() and drush_print_table() lines */
    public static array $printed = [];

    public static function reset(?PDO $db): void
    {
        self::$db = $db;
        self::$messages = self::$drushLog = self::$drushErrors = self::$shell = self::$shellOutput = self::$printed = [];
        self::$formErrors = self::$shutdown = self::$permissions = self::$statics = self::$options = [];
        self::$siteContext = self::$contexts = [];
    }

    /** Runs and forgets the shutdown functions, as PHP does at the end of a request. */
    public static function runShutdownFunctions(): array
    {
        $results = [];
        while ($entry = array_shift(self::$shutdown)) {
            $results[] = call_user_func_array($entry[0], $entry[1]);
        }
        return $results;
    }

    /** @return list<string> the drush_log() messages of one type */
    public static function logged(string $type): array
    {
        return array_values(array_map(fn ($e) => $e[0], array_filter(self::$drushLog, fn ($e) => $e[1] === $type)));
    }
}
