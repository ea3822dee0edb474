<?php

declare(strict_types=1);

namespace SkynetTest;

use AegirSim\Tests\Sandbox;

/**
 * drush_skynet_post_provision_verify() and its twins: what a hostmaster verify writes, when it
 * writes, and what it never does (act for another site, restart the daemon).
 */
final class SetupHookTest extends SkynetTestCase
{
    protected bool $skynetTables = true;
    private const REPO = __DIR__ . '/../../..';
    private string $root;
    private string $bundle;

    protected function setUp(): void
    {
        parent::setUp();
        $this->root = "$this->dir/aegir";
        mkdir($this->root);
        mkdir("$this->dir/bundle");
        $this->bundle = "$this->dir/bundle/skynet";
        file_put_contents($this->bundle, "skynet binary, build 1\n");
        World::$contexts = [
            '@self' => (object) ['type' => 'site', 'name' => '@hostmaster', 'uri' => 'aegir.example.com', 'profile' => 'hostmaster'],
            '@hostmaster' => (object) ['type' => 'site', 'name' => '@hostmaster', 'uri' => 'aegir.example.com', 'profile' => 'hostmaster'],
            '@server_master' => (object) ['type' => 'server', 'name' => '@server_master', 'aegir_root' => $this->root, 'script_user' => 'aegir'],
        ];
        World::$siteContext = ['db_type' => 'mysql', 'db_host' => 'localhost', 'db_port' => '3306', 'db_name' => $this->dbName,
            'db_user' => Sandbox::USER, 'db_passwd' => Sandbox::PASSWORD, 'db_socket' => Sandbox::get()->socket()];
        World::$options = [
            'skynet_binary' => $this->bundle,
            'skynet_templates' => self::REPO . '/templates',
            'skynet_drush' => self::REPO . '/tests/aegir-sim/drush',
            // A real supervisorctl that cannot reach any supervisord: starting fails.
            'skynet_supervisorctl' => "/usr/bin/supervisorctl -c $this->dir/no-supervisord.conf",
            'skynet_supervisor_program' => "$this->dir/no-package-program.conf",
            'skynet_supervisor_log_dir' => "$this->dir/log",
        ];
    }

    private function file(string $name): string
    {
        return "$this->root/config/skynet/$name";
    }

    private function mode(string $path): int
    {
        clearstatcache();
        return fileperms($path) & 0777;
    }

    private function expected(string $name): string
    {
        return strtr((string) file_get_contents(__DIR__ . "/../expected/$name"), ['{AEGIR_ROOT}' => $this->root,
            '{SOCKET}' => Sandbox::get()->socket(), '{DB}' => $this->dbName, '{REPO}' => realpath(self::REPO),
            '{LOG_DIR}' => "$this->dir/log"]);
    }

    private function verify(): mixed
    {
        World::$options['skynet_templates'] = realpath(World::$options['skynet_templates']) ?: World::$options['skynet_templates'];
        World::$options['skynet_drush'] = realpath(World::$options['skynet_drush']) ?: World::$options['skynet_drush'];
        return drush_skynet_post_provision_verify();
    }

    public function testTheFirstVerifyWritesTheConfigurationTheBinaryAndTheProgram(): void
    {
        $result = $this->verify();

        $this->assertSame([], World::$drushErrors);
        $this->assertSame(['conf' => true, 'binary' => true, 'program' => true, 'first_install' => true, 'handed_over' => false], $result);
        $this->assertSame(0750, $this->mode("$this->root/config/skynet"));
        $this->assertSame(0600, $this->mode($this->file('skynet.conf')), 'it holds the database password');
        $this->assertSame(0755, $this->mode($this->file('skynet')));
        $this->assertSame(0644, $this->mode($this->file('skynet-queue.supervisor.conf')));
        $this->assertSame($this->expected('skynet.conf'), file_get_contents($this->file('skynet.conf')));
        $this->assertSame($this->expected('skynet-queue.supervisor.conf'), file_get_contents($this->file('skynet-queue.supervisor.conf')));
        $this->assertFileEquals($this->bundle, $this->file('skynet'));
        $this->assertSame(['skynet', 'skynet-queue.supervisor.conf', 'skynet.conf'], array_values(array_diff(scandir("$this->root/config/skynet"), ['.', '..'])),
            'no temporary file is left');
    }

    public function testTheDaemonAcceptsTheRenderedConfiguration(): void
    {
        World::$options['skynet_binary'] = SkynetTables::binary();
        variable_set('hosting_skynet_concurrency', 3);
        variable_set('hosting_skynet_task_timeouts', ['backup' => 7200, 'login-reset' => 60]);
        variable_set('hosting_skynet_api_listen', '');
        $this->verify();

        exec(escapeshellarg($this->file('skynet')) . ' check --config_file=' . escapeshellarg($this->file('skynet.conf')) . ' 2>&1', $output, $status);

        $this->assertSame(0, $status, implode("\n", $output));
    }

    public function testTheSettingsReachTheConfigurationAndUnsetOnesAreLeftToTheDaemon(): void
    {
        variable_set('hosting_skynet_concurrency', 4);
        variable_set('hosting_skynet_poll_interval', 0.5);
        variable_set('hosting_skynet_task_timeouts', ['clone' => 9000, 'backup' => 7200]);
        variable_set('hosting_skynet_exclusive', 'server');
        variable_set('hosting_skynet_admin_key', 'k3y-0f-at-least-16');

        $this->verify();

        $conf = file_get_contents($this->file('skynet.conf'));
        $this->assertStringContainsString("concurrency = 4\npoll_interval = 0.5\n; timeout: not set at admin/hosting/skynet, the daemon's default applies\nexclusive = server\n", $conf);
        $this->assertStringContainsString("\n[task.backup]\ntimeout = 7200\n\n[task.clone]\ntimeout = 9000\n", $conf);
        $this->assertStringContainsString("; listen: not set at admin/hosting/skynet, the daemon's default applies\nadmin_key = k3y-0f-at-least-16\n", $conf);
    }

    public function testAValueTheDaemonWouldRefuseFallsBackToItsDefaultWithAWarning(): void
    {
        variable_set('hosting_skynet_concurrency', 'lots');

        $this->verify();

        $this->assertStringContainsString('; concurrency: not set', file_get_contents($this->file('skynet.conf')));
        $this->assertCount(1, array_filter(World::logged('warning'), fn ($m) => str_contains($m, 'hosting_skynet_concurrency')));
    }

    public function testAPasswordIsWrittenVerbatimAndALineBreakInItIsRefusedUnshown(): void
    {
        World::$siteContext['db_passwd'] = 'p@ss@; #x=y';
        // The connection needs the real password; the hook reads the settings with it first.
        $this->db->exec("SET PASSWORD FOR 'aegir'@'localhost' = PASSWORD('p@ss@; #x=y')");
        try {
            $this->verify();
            $this->assertStringContainsString("\npasswd = p@ss@; #x=y\n", file_get_contents($this->file('skynet.conf')));
            $before = file_get_contents($this->file('skynet.conf'));

            World::$siteContext['db_passwd'] = "p@ss@; #x=y\nadmin_key = x";
            $this->db->exec("SET PASSWORD FOR 'aegir'@'localhost' = PASSWORD('p@ss@; #x=y\nadmin_key = x')");
            $this->assertFalse($this->verify());
        } finally {
            $this->db->exec("SET PASSWORD FOR 'aegir'@'localhost' = PASSWORD('" . Sandbox::PASSWORD . "')");
        }
        $this->assertSame('SKYNET_BAD_VALUE', World::$drushErrors[0][0]);
        $this->assertStringNotContainsString('p@ss', World::$drushErrors[0][1]);
        $this->assertSame($before, file_get_contents($this->file('skynet.conf')), 'the file written before stays');
    }

    /** @return array<string, array{0: object}> */
    public static function otherContexts(): array
    {
        return [
            'another site' => [(object) ['type' => 'site', 'name' => '@example.com', 'uri' => 'example.com', 'profile' => 'standard']],
            'the hostmaster platform' => [(object) ['type' => 'platform', 'name' => '@platform_hostmaster']],
            'the server' => [(object) ['type' => 'server', 'name' => '@server_master']],
        ];
    }

    /** @dataProvider otherContexts */
    public function testActsOnlyForTheHostmasterSite(object $context): void
    {
        World::$contexts['@self'] = $context;

        $this->assertNull(drush_skynet_post_provision_verify());
        $this->assertNull(drush_skynet_post_provision_install());
        $this->assertNull(drush_skynet_post_provision_migrate());

        $this->assertDirectoryDoesNotExist("$this->root/config");
        $this->assertSame([], World::$shell);
    }

    public function testTheInstallAndMigrateTwinsSetUpTheHostmasterToo(): void
    {
        $this->assertSame(true, drush_skynet_post_provision_migrate()['conf']);
        unlink($this->file('skynet.conf'));
        $this->assertSame(true, drush_skynet_post_provision_install()['conf']);
    }

    public function testWithTheFeatureDisabledNothingIsWritten(): void
    {
        $this->setModule('hosting_skynet', false);

        $this->verify();

        $this->assertDirectoryDoesNotExist("$this->root/config/skynet");
        $this->assertSame([], World::$drushErrors);
        $this->assertSame([], World::$shell);
    }

    public function testAReVerifyWithoutChangesRewritesNothingAndLeavesSupervisorAlone(): void
    {
        $this->verify();
        $inodes = array_map(fn ($f) => fileinode($this->file($f)), ['skynet.conf', 'skynet', 'skynet-queue.supervisor.conf']);
        World::$shell = [];

        $result = $this->verify();

        $this->assertSame(['conf' => false, 'binary' => false, 'program' => false, 'first_install' => false, 'handed_over' => false], $result);
        clearstatcache();
        $this->assertSame($inodes, array_map(fn ($f) => fileinode($this->file($f)), ['skynet.conf', 'skynet', 'skynet-queue.supervisor.conf']));
        $this->assertSame([], World::$shell, 'no supervisorctl command at all: the daemon picks changes up itself');
        $this->assertSame([], World::$drushErrors);
    }

    public function testAChangedSettingReplacesTheConfigurationByRenameAndNeverRestarts(): void
    {
        $this->verify();
        // A hard link keeps the old file reachable: if the hook wrote in place, it would change too.
        link($this->file('skynet.conf'), "$this->dir/old.conf");
        $old = file_get_contents("$this->dir/old.conf");
        World::$shell = [];
        variable_set('hosting_skynet_concurrency', 2);

        $result = $this->verify();

        $this->assertTrue($result['conf']);
        $this->assertFalse($result['binary']);
        $this->assertSame($old, file_get_contents("$this->dir/old.conf"), 'the daemon never reads a half-written file');
        $this->assertStringContainsString("\nconcurrency = 2\n", file_get_contents($this->file('skynet.conf')));
        $this->assertSame(0600, $this->mode($this->file('skynet.conf')));
        $this->assertSame([], World::$shell);
    }

    public function testANewBundledBinaryIsInstalledByRename(): void
    {
        $this->verify();
        link($this->file('skynet'), "$this->dir/old-binary");
        file_put_contents($this->bundle, "skynet binary, build 2\n");

        $result = $this->verify();

        $this->assertTrue($result['binary']);
        $this->assertFalse($result['conf']);
        $this->assertSame("skynet binary, build 1\n", file_get_contents("$this->dir/old-binary"), 'a running daemon\'s file is not overwritten');
        $this->assertSame("skynet binary, build 2\n", file_get_contents($this->file('skynet')));
        $this->assertSame(0755, $this->mode($this->file('skynet')));
    }

    public function testAFailedStartIsAWarningNotAFailedVerify(): void
    {
        $result = $this->verify();

        $this->assertSame([], World::$drushErrors);
        $this->assertTrue($result['conf']);
        $this->assertStringStartsWith("/usr/bin/supervisorctl -c $this->dir/no-supervisord.conf status skynet-queue", World::$shell[0]);
        $warnings = array_filter(World::logged('warning'), fn ($m) => str_contains($m, 'supervisorctl start skynet-queue'));
        $this->assertCount(1, $warnings, 'the warning says how to start it by hand');
    }

    public function testTheCronQueueIsHandedOverOnlyOnceTheDaemonRuns(): void
    {
        variable_set('hosting_queue_tasks_enabled', true);
        variable_set('hosting_skynet_handover', true);
        $this->db->exec("INSERT INTO cache_bootstrap (cid, data) VALUES ('variables', 'cached')");

        $result = $this->verify();

        $this->assertFalse($result['handed_over'], 'supervisor did not start it: the cron queue must keep running tasks');
        $this->assertSame('b:1;', $this->rawVariable('hosting_queue_tasks_enabled'));
        $this->assertCount(1, array_filter(World::logged('warning'), fn ($m) => str_contains($m, 'cron task queue stays on')));

        // The maintainer started it by hand: it registered and beats.
        $this->db->prepare("INSERT INTO skynet_worker (host, pid, version, started, heartbeat) VALUES ('aegir', 1, '0.1.0', ?, ?)")
            ->execute([microtime(true) - 5, microtime(true) - 1]);
        $result = $this->verify();

        $this->assertTrue($result['handed_over']);
        $this->assertSame('b:0;', $this->rawVariable('hosting_queue_tasks_enabled'));
        $this->assertNull($this->rawVariable('hosting_skynet_handover'));
        $this->assertSame('0', $this->value("SELECT COUNT(*) FROM cache_bootstrap WHERE cid = 'variables'"), "Drupal's variable cache is cleared");
    }

    public function testWithoutAPendingHandoverTheCronQueueSettingIsLeftAlone(): void
    {
        variable_set('hosting_queue_tasks_enabled', true);
        $this->db->prepare("INSERT INTO skynet_worker (host, pid, version, started, heartbeat) VALUES ('aegir', 1, '0.1.0', ?, ?)")
            ->execute([microtime(true) - 5, microtime(true) - 1]);

        $this->assertFalse($this->verify()['handed_over']);

        $this->assertSame('b:1;', $this->rawVariable('hosting_queue_tasks_enabled'));
    }

    public function testWithThePackagesProgramNoProgramIsRendered(): void
    {
        touch("$this->dir/package-program.conf");
        World::$options['skynet_supervisor_program'] = "$this->dir/package-program.conf";

        $result = $this->verify();

        $this->assertFalse($result['program']);
        $this->assertFileDoesNotExist($this->file('skynet-queue.supervisor.conf'));
    }

    public function testAMissingTemplateIsAnErrorAndWritesNoConfiguration(): void
    {
        mkdir("$this->dir/empty");
        World::$options['skynet_templates'] = "$this->dir/empty";

        $this->assertFalse($this->verify());

        $this->assertSame('SKYNET_MISSING_TEMPLATE', World::$drushErrors[0][0]);
        $this->assertStringContainsString("$this->dir/empty/skynet.conf", World::$drushErrors[0][1]);
        $this->assertFileDoesNotExist($this->file('skynet.conf'));
    }

    public function testAMissingBinaryIsAnError(): void
    {
        World::$options['skynet_binary'] = "$this->dir/nothing";

        $this->assertFalse($this->verify());

        $this->assertSame('SKYNET_MISSING_BINARY', World::$drushErrors[0][0]);
        $this->assertStringContainsString("$this->dir/nothing", World::$drushErrors[0][1]);
    }

    public function testAnUnwritableDirectoryIsAnError(): void
    {
        if (posix_geteuid() === 0) {
            $this->markTestSkipped('root writes anywhere; scripts/test runs this as an unprivileged user');
        }
        mkdir("$this->root/config/skynet", 0750, true);
        chmod("$this->root/config/skynet", 0550);

        $this->assertFalse($this->verify());

        $this->assertSame('SKYNET_DIRECTORY_NOT_WRITABLE', World::$drushErrors[0][0]);
        $this->assertStringContainsString("$this->root/config/skynet", World::$drushErrors[0][1]);
    }

    public function testAFailingQueryIsAnError(): void
    {
        $this->db->exec('DROP TABLE system');

        $this->assertFalse($this->verify());

        $this->assertSame('SKYNET_NO_DATABASE', World::$drushErrors[0][0]);
        $this->assertStringContainsString('system', World::$drushErrors[0][1]);
    }

    public function testAnUnreachableDatabaseIsAnError(): void
    {
        World::$siteContext['db_passwd'] = 'wrong';

        $this->assertFalse($this->verify());

        $this->assertSame('SKYNET_NO_DATABASE', World::$drushErrors[0][0]);
        $this->assertDirectoryDoesNotExist("$this->root/config/skynet");
    }
}
