<?php

declare(strict_types=1);

// The Aegir simulator's test support: the run's private MariaDB and temporary folders.
foreach (['Files', 'Sandbox', 'SandboxExtension'] as $class) {
    require_once __DIR__ . "/../aegir-sim/tests/support/$class.php";
}
foreach (['World', 'SkynetTables', 'SkynetTestCase'] as $class) {
    require_once __DIR__ . "/support/$class.php";
}
require_once __DIR__ . '/support/drupal.php';
require_once __DIR__ . '/support/drush.php';

// The code under test, loaded as Drupal and drush would load it.
$module = __DIR__ . '/../../drupal-module/hosting_skynet';
foreach (['hosting_skynet.module', 'hosting_skynet.admin.inc', 'hosting_skynet.status.inc', 'hosting_skynet.install',
             'hosting.feature.skynet.inc'] as $file) {
    require_once "$module/$file";
}
require_once __DIR__ . '/../../drush/skynet.drush.inc';
