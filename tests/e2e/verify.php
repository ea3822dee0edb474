#!/usr/bin/env php
<?php
/**
 * One hostmaster verify as far as Skynet is concerned: runs drush_skynet_post_provision_verify()
 * (the real hook, with the drush stand-ins of tests/php for d(), options and logging) against a
 * real database, a real binary and a real supervisorctl. For tests/e2e/supervisor-e2e.
 *
 *   verify.php AEGIR_ROOT SOCKET DATABASE USER PASSWORD BINARY SUPERVISORCTL LOG_DIR
 *
 * Prints each drush log line and, last, "shell: N" (how many shell commands the hook ran).
 * Exit 0 when the hook set no drush error.
 */
declare(strict_types=1);

use SkynetTest\World;

if ($argc !== 9) {
    fwrite(STDERR, "usage: verify.php AEGIR_ROOT SOCKET DATABASE USER PASSWORD BINARY SUPERVISORCTL LOG_DIR\n");
    exit(64);
}
[, $root, $socket, $database, $user, $password, $binary, $supervisorctl, $logDir] = $argv;
$repo = dirname(__DIR__, 2);
require_once "$repo/tests/php/support/World.php";
require_once "$repo/tests/php/support/drush.php";
require_once "$repo/drush/skynet.drush.inc";

World::reset(null);
$site = (object) ['type' => 'site', 'name' => '@hostmaster', 'uri' => 'aegir.example.com', 'profile' => 'hostmaster'];
World::$contexts = ['@self' => $site, '@hostmaster' => $site,
    '@server_master' => (object) ['type' => 'server', 'aegir_root' => $root, 'script_user' => posix_getpwuid(posix_geteuid())['name']]];
World::$siteContext = ['db_host' => 'localhost', 'db_port' => '3306', 'db_name' => $database, 'db_user' => $user,
    'db_passwd' => $password, 'db_socket' => $socket];
World::$options = ['skynet_binary' => $binary, 'skynet_templates' => "$repo/templates", 'skynet_drush' => "$repo/tests/aegir-sim/drush",
    'skynet_supervisorctl' => $supervisorctl, 'skynet_supervisor_program' => "$root/no-package-program.conf",
    'skynet_supervisor_log_dir' => $logDir];

drush_skynet_post_provision_verify();
foreach (World::$drushLog as [$message, $type]) {
    echo "[$type] $message\n";
}
foreach (World::$drushErrors as [$code, $message]) {
    echo "[error] $code: $message\n";
}
echo 'shell: ' . count(World::$shell) . "\n";
exit(World::$drushErrors ? 1 : 0);
