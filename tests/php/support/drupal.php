<?php
/**
 * Stand-ins for the few Drupal 7 (and Aegir hosting) functions hosting_skynet calls. Those that
 * read or write the database do so in the test's real MariaDB database (World::$db), with
 * Drupal's conventions: {table} names, :name placeholders, PHP-serialized variables, values
 * fetched as strings. What the others would show on a page is recorded in World.
 */

declare(strict_types=1);

use SkynetTest\World;

const HOSTING_FEATURE_DISABLED = 0;
const HOSTING_FEATURE_ENABLED = 1;
const HOSTING_FEATURE_REQUIRED = 2;
const HOSTING_TASK_QUEUED = 0;
const REQUIREMENT_INFO = -1;
const REQUIREMENT_OK = 0;
const REQUIREMENT_WARNING = 1;
const REQUIREMENT_ERROR = 2;
const MENU_VISIBLE_IN_BREADCRUMB = 0x0004;
const MENU_LINKS_TO_PARENT = 0x0008;
const MENU_IS_LOCAL_TASK = 0x0080;
const MENU_LOCAL_TASK = MENU_IS_LOCAL_TASK | MENU_VISIBLE_IN_BREADCRUMB;
const MENU_DEFAULT_LOCAL_TASK = MENU_IS_LOCAL_TASK | MENU_LINKS_TO_PARENT | MENU_VISIBLE_IN_BREADCRUMB;

/** The part of DatabaseStatementInterface the module uses. */
final class StandInStatement
{
    public function __construct(private PDOStatement $statement)
    {
    }

    public function fetchField(int $index = 0): mixed
    {
        return $this->statement->fetchColumn($index);
    }

    public function fetchCol(int $index = 0): array
    {
        return $this->statement->fetchAll(PDO::FETCH_COLUMN, $index);
    }

    public function fetchAll(): array
    {
        return $this->statement->fetchAll(PDO::FETCH_OBJ);
    }

    public function fetchObject(): object|false
    {
        return $this->statement->fetchObject();
    }

    public function fetchAssoc(): array|false
    {
        return $this->statement->fetch(PDO::FETCH_ASSOC);
    }
}

function db_query(string $query, array $args = []): StandInStatement
{
    $statement = World::$db->prepare(preg_replace('/\{(\w+)\}/', '`$1`', $query));
    $statement->execute($args);
    return new StandInStatement($statement);
}

function db_query_range(string $query, int $from, int $count, array $args = []): StandInStatement
{
    return db_query($query . " LIMIT $from, $count", $args);
}

function db_table_exists(string $table): bool
{
    return (bool) db_query('SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = :t',
        [':t' => $table])->fetchField();
}

function db_drop_table(string $table): bool
{
    if (!db_table_exists($table)) {
        return false;
    }
    World::$db->exec("DROP TABLE `$table`");
    return true;
}

function db_index_exists(string $table, string $name): bool
{
    return (bool) db_query('SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE()
                            AND TABLE_NAME = :t AND INDEX_NAME = :i', [':t' => $table, ':i' => $name])->fetchField();
}

function db_drop_index(string $table, string $name): bool
{
    if (!db_index_exists($table, $name)) {
        return false;
    }
    World::$db->exec("ALTER TABLE `$table` DROP INDEX `$name`");
    return true;
}

function variable_get(string $name, mixed $default = null): mixed
{
    $value = db_query('SELECT value FROM {variable} WHERE name = :name', [':name' => $name])->fetchField();
    return $value === false ? $default : unserialize($value);
}

function variable_set(string $name, mixed $value): void
{
    db_query('INSERT INTO {variable} (name, value) VALUES (:name, :value) ON DUPLICATE KEY UPDATE value = VALUES(value)',
        [':name' => $name, ':value' => serialize($value)]);
    variable_cache_clear();
}

function variable_del(string $name): void
{
    db_query('DELETE FROM {variable} WHERE name = :name', [':name' => $name]);
    variable_cache_clear();
}

/** What variable_set() and variable_del() do to Drupal's cache of all variables. */
function variable_cache_clear(): void
{
    if (db_table_exists('cache_bootstrap')) {
        db_query("DELETE FROM {cache_bootstrap} WHERE cid = 'variables'");
    }
}

/** From the system table, as Drupal's module list is. */
function module_exists(string $module): bool
{
    return (int) db_query("SELECT status FROM {system} WHERE name = :name AND type = 'module'", [':name' => $module])->fetchField() === 1;
}

function module_disable(array $modules, bool $disable_dependents = true): void
{
    foreach ($modules as $module) {
        db_query("UPDATE {system} SET status = 0 WHERE name = :name AND type = 'module'", [':name' => $module]);
    }
}

function &drupal_static(string $name, mixed $default = null): mixed
{
    if (!array_key_exists($name, World::$statics)) {
        World::$statics[$name] = $default;
    }
    return World::$statics[$name];
}

function drupal_register_shutdown_function(callable $callback, mixed ...$args): void
{
    World::$shutdown[] = [$callback, $args];
}

function drupal_set_message(string $message, string $type = 'status'): void
{
    World::$messages[] = [$message, $type];
}

function form_set_error(string $name, string $message): void
{
    World::$formErrors[$name] = $message;
}

function user_access(string $permission): bool
{
    return World::$permissions[$permission] ?? false;
}

function check_plain(string $text): string
{
    return htmlspecialchars($text, ENT_QUOTES, 'UTF-8');
}

function format_string(string $string, array $args = []): string
{
    foreach ($args as $key => $value) {
        $args[$key] = match ($key[0]) {
            '@' => check_plain((string) $value),
            '%' => '<em class="placeholder">' . check_plain((string) $value) . '</em>',
            default => (string) $value,
        };
    }
    return strtr($string, $args);
}

function t(string $string, array $args = [], array $options = []): string
{
    return format_string($string, $args);
}

function get_t(): string
{
    return 't';
}

function format_plural(int $count, string $singular, string $plural, array $args = []): string
{
    $args['@count'] = $count;
    return format_string($count === 1 ? $singular : $plural, $args);
}

function format_interval(int $interval, int $granularity = 2): string
{
    $units = ['year' => 31536000, 'week' => 604800, 'day' => 86400, 'hour' => 3600, 'min' => 60, 'sec' => 1];
    $parts = [];
    foreach ($units as $unit => $seconds) {
        if ($interval >= $seconds && count($parts) < $granularity) {
            $n = intdiv($interval, $seconds);
            $parts[] = $n . ' ' . $unit . ($n === 1 ? '' : 's');
            $interval %= $seconds;
        }
    }
    return $parts ? implode(' ', $parts) : '0 sec';
}

function url(string $path): string
{
    return '/' . $path;
}

function l(string $text, string $path): string
{
    return '<a href="' . check_plain(url($path)) . '">' . check_plain($text) . '</a>';
}

function drupal_get_form(string $form_id): array
{
    $form_state = [];
    return $form_id([], $form_state) + ['#form_id' => $form_id];
}

function module_load_include(string $type, string $module, ?string $name = null): void
{
    require_once dirname(__DIR__, 3) . "/drupal-module/$module/" . ($name ?? $module) . ".$type";
}

/**
 * What hosting_add_task() leaves in the database (a task node, one revision, its hosting_task row
 * at status 0), and the hook_node_insert() that node_save() runs for it.
 */
function hosting_add_task(int $nid, string $type, array $args = []): object
{
    $title = ucfirst($type) . ': ' . db_query('SELECT title FROM {node} WHERE nid = :nid', [':nid' => $nid])->fetchField();
    $now = time();
    db_query("INSERT INTO {node} (type, language, title, uid, status, created, changed) VALUES ('task', 'und', :title, 1, 1, :now, :now2)",
        [':title' => $title, ':now' => $now, ':now2' => $now]);
    $task = (int) World::$db->lastInsertId();
    db_query("INSERT INTO {node_revision} (nid, uid, title, log, timestamp, status) VALUES (:nid, 1, :title, '', :now, 1)",
        [':nid' => $task, ':title' => $title, ':now' => $now]);
    $vid = (int) World::$db->lastInsertId();
    db_query('UPDATE {node} SET vid = :vid WHERE nid = :nid', [':vid' => $vid, ':nid' => $task]);
    db_query('INSERT INTO {hosting_task} (vid, nid, task_type, rid, task_status, executed, delta) VALUES (:vid, :nid, :type, :rid, 0, 0, 0)',
        [':vid' => $vid, ':nid' => $task, ':type' => $type, ':rid' => $nid]);
    foreach ($args as $name => $value) {
        db_query('INSERT INTO {hosting_task_arguments} (vid, nid, name, value) VALUES (:vid, :nid, :name, :value)',
            [':vid' => $vid, ':nid' => $task, ':name' => $name, ':value' => $value]);
    }
    $node = (object) ['nid' => $task, 'vid' => $vid, 'type' => 'task', 'title' => $title, 'rid' => $nid,
        'task_type' => $type, 'task_status' => HOSTING_TASK_QUEUED];
    foreach (['hosting_skynet_node_insert'] as $hook) {
        if (function_exists($hook)) {
            $hook($node);
        }
    }
    return $node;
}
