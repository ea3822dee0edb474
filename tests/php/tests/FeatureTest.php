<?php

declare(strict_types=1);

namespace SkynetTest;

/** The Hosting Feature `skynet` and what enabling and disabling it switches. */
final class FeatureTest extends SkynetTestCase
{
    protected bool $skynetTables = true;

    private function liveWorker(): void
    {
        $this->db->prepare("INSERT INTO skynet_worker (host, pid, version, started, heartbeat) VALUES ('aegir', 1, '0.1.0', ?, ?)")
            ->execute([microtime(true) - 60, microtime(true) - 1]);
    }
    public function testDeclaresTheSkynetFeatureWithItsCallbacks(): void
    {
        $features = hosting_skynet_hosting_feature();

        $this->assertSame(['skynet'], array_keys($features));
        $feature = $features['skynet'];
        $this->assertSame('Skynet queue daemon', $feature['title']);
        $this->assertSame(HOSTING_FEATURE_DISABLED, $feature['status']);
        $this->assertSame('hosting_skynet', $feature['module']);
        $this->assertSame('experimental', $feature['group']);
        $this->assertArrayNotHasKey('node', $feature);
        $this->assertTrue(function_exists($feature['enable']), 'the enable callback exists');
        $this->assertTrue(function_exists($feature['disable']), 'the disable callback exists');
    }

    public function testTheInfoFileDependsOnHosting(): void
    {
        $info = parse_ini_file(dirname(__DIR__, 3) . '/drupal-module/hosting_skynet/hosting_skynet.info');

        $this->assertSame('7.x', $info['core']);
        $this->assertSame('Hosting', $info['package']);
        $this->assertSame(['hosting'], $info['dependencies']);
        $this->assertSame('admin/hosting/skynet', $info['configure']);
    }

    public function testEnablingBeforeTheDaemonRunsLeavesTheCronQueueOnForTheInstallingVerify(): void
    {
        variable_set('hosting_queue_tasks_enabled', true);

        $this->assertTrue(hosting_skynet_feature_enable_callback());

        $this->assertSame('b:1;', $this->rawVariable('hosting_queue_tasks_enabled'), 'the cron queue must run the verify that installs Skynet');
        $this->assertSame('b:1;', $this->rawVariable('hosting_skynet_handover'), 'that verify switches it off');
        $this->assertTrue(module_exists('hosting_skynet'));
        $this->assertSame([], $this->messages('error'));
        $this->assertStringContainsString('then switches the cron task queue off', $this->messages()[0]);
    }

    public function testEnablingWithTheDaemonUpSwitchesTheCronTaskQueueOffAtOnce(): void
    {
        variable_set('hosting_queue_tasks_enabled', true);
        $this->liveWorker();

        $this->assertTrue(hosting_skynet_feature_enable_callback());

        $this->assertSame('b:0;', $this->rawVariable('hosting_queue_tasks_enabled'));
        $this->assertNull($this->rawVariable('hosting_skynet_handover'));
        $this->assertStringContainsString('cron task queue is off', $this->messages()[0]);
    }

    public function testEnablingIsRefusedWhileHostingQueuedIsEnabled(): void
    {
        $this->setModule('hosting_queued', true);
        variable_set('hosting_queue_tasks_enabled', false);
        variable_set('hosting_feature_skynet', HOSTING_FEATURE_ENABLED);

        $this->assertFalse(hosting_skynet_feature_enable_callback());

        $this->assertFalse(module_exists('hosting_skynet'), 'the module Aegir enabled is disabled again');
        $this->assertSame(HOSTING_FEATURE_DISABLED, variable_get('hosting_feature_skynet'));
        $this->assertSame('b:0;', $this->rawVariable('hosting_queue_tasks_enabled'), 'hosting_queued keeps the cron queue off');
        $this->assertCount(1, $this->messages('error'));
        $this->assertStringContainsString('hosting_queued', $this->messages('error')[0]);
    }

    public function testInstallingBesideHostingQueuedFailsItsRequirement(): void
    {
        $this->setModule('hosting_queued', true);

        $requirements = hosting_skynet_requirements('install');

        $this->assertSame(REQUIREMENT_ERROR, $requirements['hosting_skynet_queued']['severity']);
        $this->assertStringContainsString('hosting_queued', $requirements['hosting_skynet_queued']['description']);
    }

    public function testInstallingAloneHasNoRequirement(): void
    {
        $this->assertSame([], hosting_skynet_requirements('install'));
    }

    public function testDisablingSwitchesTheCronQueueOnAndPausesSkynet(): void
    {
        $this->liveWorker();
        hosting_skynet_feature_enable_callback();

        hosting_skynet_feature_disable_callback();

        $this->assertSame('b:1;', $this->rawVariable('hosting_queue_tasks_enabled'));
        $this->assertSame('b:1;', $this->rawVariable('hosting_skynet_paused'), 'the daemon, still running, takes no task from the cron queue');
        $this->assertStringContainsString('supervisorctl stop skynet-queue', $this->messages()[1]);
    }

    public function testDisablingBeforeTheHandoverCancelsIt(): void
    {
        hosting_skynet_feature_enable_callback();

        hosting_skynet_feature_disable_callback();

        $this->assertNull($this->rawVariable('hosting_skynet_handover'));
        $this->assertSame('b:1;', $this->rawVariable('hosting_queue_tasks_enabled'));
    }

    public function testEnablingAgainUndoesThePauseOfTheDisable(): void
    {
        hosting_skynet_feature_disable_callback();

        hosting_skynet_feature_enable_callback();

        $this->assertFalse(hosting_skynet_paused());
        $this->assertNull($this->rawVariable('hosting_skynet_paused'));
    }

    public function testEnablingAgainKeepsAPauseTheMaintainerChose(): void
    {
        hosting_skynet_set_paused(true);
        hosting_skynet_feature_disable_callback();

        hosting_skynet_feature_enable_callback();

        $this->assertTrue(hosting_skynet_paused());
    }
}
