<?php

declare(strict_types=1);

namespace SkynetTest;

/** The settings page admin/hosting/skynet: validation, saving, and when a verify is queued. */
final class SettingsTest extends SkynetTestCase
{
    private const VALID = [
        'concurrency' => '4', 'poll_interval' => '0.5', 'timeout' => '3600',
        'task_timeouts' => "backup = 7200\r\n\r\nclone: 9000\n", 'exclusive' => 'server,  platform',
        'api_listen' => '127.0.0.1:8123', 'admin_key' => 'k3y-0f-at-least-16', 'paused' => 0,
    ];

    /** Runs the form's validate and submit handlers as the Form API does on a submission. */
    private function submit(array $values): bool
    {
        $form = hosting_skynet_settings_form([], $state);
        $state = ['values' => $values];
        hosting_skynet_settings_form_validate($form, $state);
        if (World::$formErrors) {
            return false;
        }
        hosting_skynet_settings_form_submit($form, $state);
        return true;
    }

    private function hostmasterVerifies(): array
    {
        return array_filter($this->tasks(), fn ($t) => $t['task_type'] === 'verify' && $t['rid'] === '3' && $t['task_status'] === '0');
    }

    public function testValidInputIsSavedTyped(): void
    {
        [$settings, $errors] = hosting_skynet_validate_settings(self::VALID);

        $this->assertSame([], $errors);
        $this->assertSame(['concurrency' => 4, 'poll_interval' => 0.5, 'timeout' => 3600,
            'task_timeouts' => ['backup' => 7200, 'clone' => 9000], 'exclusive' => 'server platform',
            'api_listen' => '127.0.0.1:8123', 'admin_key' => 'k3y-0f-at-least-16', 'paused' => false], $settings);
    }

    /** @return array<string, array{0: string, 1: string}> field => bad value */
    public static function badValues(): array
    {
        return [
            'no concurrency' => ['concurrency', ''], 'zero concurrency' => ['concurrency', '0'],
            'huge concurrency' => ['concurrency', '1025'], 'fractional concurrency' => ['concurrency', '1.5'],
            'poll too short' => ['poll_interval', '0.001'], 'poll not a number' => ['poll_interval', 'often'],
            'negative timeout' => ['timeout', '-1'], 'timeout with unit' => ['timeout', '10m'],
            'timeout line without seconds' => ['task_timeouts', "backup = \n"], 'type with a space' => ['task_timeouts', 'site backup = 5'],
            'type twice' => ['task_timeouts', "backup = 5\nbackup = 6"],
            'exclusive with capitals' => ['exclusive', 'Server'], 'exclusive with a dot' => ['exclusive', 'server.x'],
            'listen without port' => ['api_listen', '127.0.0.1'], 'listen port too big' => ['api_listen', '127.0.0.1:70000'],
            'listen with a space' => ['api_listen', 'local host:80'], 'short admin key' => ['admin_key', 'short'],
            'admin key with a space' => ['admin_key', 'sixteen chars and more'],
        ];
    }

    /** @dataProvider badValues */
    public function testABadValueIsRefusedForItsFieldAndNothingIsSaved(string $field, string $value): void
    {
        variable_set('hosting_skynet_concurrency', 2);

        $saved = $this->submit([$field => $value] + self::VALID);

        $this->assertFalse($saved);
        $this->assertSame([$field], array_keys(World::$formErrors));
        $this->assertNotSame('', World::$formErrors[$field]);
        $this->assertSame(['hosting_skynet_concurrency'], array_column($this->rows("SELECT name FROM variable WHERE name LIKE 'hosting\\_skynet\\_%'"), 'name'));
        $this->assertSame([], $this->tasks(), 'no verify queued');
    }

    public function testSavingAConfSettingQueuesOneHostmasterVerifyAndWakesTheDaemon(): void
    {
        $this->assertTrue($this->submit(self::VALID));

        $this->assertCount(1, $this->hostmasterVerifies());
        $this->assertCount(1, $this->tasks());
        $this->assertSame(4, variable_get('hosting_skynet_concurrency'));
        $this->assertSame(['backup' => 7200, 'clone' => 9000], variable_get('hosting_skynet_task_timeouts'));
        $this->assertStringContainsString('verify of the hostmaster site was queued', $this->messages()[0]);
        $this->assertCount(1, World::$shutdown, 'the queued verify wakes the daemon after the request');
    }

    public function testSavingTheSameSettingsAgainQueuesNoVerify(): void
    {
        $this->submit(self::VALID);

        $this->assertTrue($this->submit(self::VALID));

        $this->assertCount(1, $this->tasks(), 'only the first save queued a verify');
        $this->assertSame('The settings were saved.', $this->messages()[1]);
    }

    public function testSavingTheDefaultsOfAFreshSiteQueuesNoVerify(): void
    {
        $defaults = hosting_skynet_settings_defaults();
        $defaults['task_timeouts'] = '';

        $this->assertTrue($this->submit($defaults));

        $this->assertSame([], $this->tasks());
    }

    public function testPausingAloneQueuesNoVerify(): void
    {
        $this->submit(self::VALID);

        $this->submit(['paused' => 1] + self::VALID);

        $this->assertCount(1, $this->tasks());
        $this->assertTrue(hosting_skynet_paused());
        $this->assertContains('The queue is paused: no new task starts.', $this->messages());
    }

    public function testEveryConfSettingQueuesAVerifyWhenItChanges(): void
    {
        $this->submit(self::VALID);
        $changes = ['concurrency' => '5', 'poll_interval' => '2', 'timeout' => '0', 'task_timeouts' => 'backup = 7201',
            'exclusive' => 'server', 'api_listen' => '', 'admin_key' => ''];
        foreach ($changes as $field => $value) {
            $before = count($this->tasks());
            $this->submit([$field => $value] + self::VALID);
            $this->assertCount($before + 1, $this->tasks(), "changing $field queues a verify");
            $this->submit(self::VALID);
        }
    }

    public function testWithoutAKnownHostmasterSiteTheSaveSaysSoAndQueuesNothing(): void
    {
        variable_del('aegir_hostmaster_site_nid');

        $this->submit(self::VALID);

        $this->assertSame([], $this->tasks());
        $this->assertStringContainsString('aegir_hostmaster_site_nid', $this->messages('warning')[0]);
        $this->assertSame(4, variable_get('hosting_skynet_concurrency'), 'the settings are saved all the same');
    }

    public function testTheFormShowsTheSavedSettings(): void
    {
        $this->submit(self::VALID);

        $form = hosting_skynet_settings_form([], $state);

        $this->assertSame(4, $form['queue']['concurrency']['#default_value']);
        $this->assertSame("backup = 7200\nclone = 9000", $form['queue']['task_timeouts']['#default_value']);
        $this->assertSame('server platform', $form['queue']['exclusive']['#default_value']);
        $this->assertSame('127.0.0.1:8123', $form['api']['api_listen']['#default_value']);
    }

    public function testTheModuleAltersNoOtherForm(): void
    {
        $functions = array_filter(get_defined_functions()['user'], fn ($f) => preg_match('/^hosting_skynet_form(_\w+)?_alter$/', $f) === 1);

        $this->assertSame([], array_values($functions), 'no hook_form_alter() nor hook_form_FORM_ID_alter()');
    }

    public function testMenuAndPermissions(): void
    {
        $items = hosting_skynet_menu();

        $this->assertSame(['administer skynet'], $items['admin/hosting/skynet']['access arguments']);
        $this->assertSame(['view skynet status'], $items['admin/hosting/skynet/status']['access arguments']);
        $this->assertSame(['administer skynet', 'view skynet status'], array_keys(hosting_skynet_permission()));
        foreach ($items as $item) {
            if (isset($item['file'])) {
                $this->assertFileExists(dirname(__DIR__, 3) . '/drupal-module/hosting_skynet/' . $item['file']);
            }
        }
    }
}
