<?php

declare(strict_types=1);

namespace SkynetTest;

/**
 * The templates of templates/: their placeholders (the interface with the package build, which
 * renders them with CMake's configure_file(@ONLY)), the renderer, and the rendered files checked
 * by the tools that read them (visudo, systemd-analyze, supervisor itself in tests/e2e).
 */
final class TemplatesTest extends SkynetTestCase
{
    private const TEMPLATES = __DIR__ . '/../../../templates';
    /** What the package renders: the paths of a Debian Aegir install. */
    private const PACKAGE = ['aegir_root' => '/var/aegir', 'aegir_user' => 'aegir', 'log_dir' => '/var/log/supervisor'];

    /** @return list<string> */
    private function placeholders(string $template): array
    {
        preg_match_all('/@([a-z_]+)@/', (string) file_get_contents(self::TEMPLATES . "/$template"), $matches);
        $names = array_values(array_unique($matches[1]));
        sort($names);
        return $names;
    }

    public function testThePackageRendersTheseTemplatesWithTheseValuesOnly(): void
    {
        $this->assertSame(['aegir_root', 'aegir_user', 'log_dir'], $this->placeholders('skynet-queue.supervisor.conf'));
        $this->assertSame(['aegir_root', 'aegir_user'], $this->placeholders('skynet-queue.service'));
        $this->assertSame(['aegir_user'], $this->placeholders('sudoers'));
    }

    public function testSkynetConfHasAPlaceholderForEveryValueTheHookRenders(): void
    {
        $this->assertSame(['admin_key', 'aegir_root', 'api_listen', 'concurrency', 'db_host', 'db_name', 'db_passwd', 'db_port',
            'db_prefix', 'db_socket', 'db_user', 'drush', 'exclusive', 'poll_interval', 'task_timeouts', 'timeout'],
            $this->placeholders('skynet.conf'));
    }

    /** @return array<string, array{0: string}> */
    public static function packageTemplates(): array
    {
        return ['supervisor program' => ['skynet-queue.supervisor.conf'], 'systemd unit' => ['skynet-queue.service'], 'sudoers' => ['sudoers']];
    }

    /** @dataProvider packageTemplates */
    public function testRenderingForThePackageGivesTheExpectedFile(string $template): void
    {
        $rendered = skynet_render((string) file_get_contents(self::TEMPLATES . "/$template"), self::PACKAGE);

        $this->assertStringEqualsFile(__DIR__ . "/../expected/package/$template", $rendered);
        $this->assertStringNotContainsString('@', preg_replace('/@hostmaster/', '', $rendered));
    }

    public function testTheSupervisorProgramRunsTheInstalledBinaryAsTheAegirUser(): void
    {
        $program = parse_ini_string(skynet_render((string) file_get_contents(self::TEMPLATES . '/skynet-queue.supervisor.conf'), self::PACKAGE),
            true, INI_SCANNER_RAW);

        $section = $program['program:skynet-queue'];
        $this->assertSame('/var/aegir/config/skynet/skynet queued --config_file=/var/aegir/config/skynet/skynet.conf', $section['command']);
        $this->assertSame('aegir', $section['user']);
        $this->assertSame('HOME="/var/aegir",USER="aegir",PATH="/usr/local/bin:/usr/bin:/bin"', $section['environment']);
        $this->assertSame(['true', 'true', 'TERM'], [$section['autostart'], $section['autorestart'], $section['stopsignal']]);
        $this->assertGreaterThan(10, (int) $section['stopwaitsecs'], 'longer than the ~10 s the adopt shutdown takes');
        $this->assertSame('false', $section['killasgroup']);
    }

    public function testTheSudoersRuleAllowsExactlyTheHooksCommands(): void
    {
        $rendered = skynet_render((string) file_get_contents(self::TEMPLATES . '/sudoers'), self::PACKAGE);
        file_put_contents("$this->dir/sudoers", $rendered);

        exec('visudo -c -f ' . escapeshellarg("$this->dir/sudoers") . ' 2>&1', $output, $status);

        $this->assertSame(0, $status, implode("\n", $output));
        preg_match('/NOPASSWD: (.*)$/m', $rendered, $match);
        $this->assertSame(['/usr/bin/supervisorctl reread', '/usr/bin/supervisorctl update', '/usr/bin/supervisorctl start skynet-queue',
            '/usr/bin/supervisorctl status skynet-queue'], explode(', ', $match[1]), 'no stop, no restart, no bare supervisorctl');
    }

    public function testTheSystemdUnitIsValidAndKillsOnlyTheDaemon(): void
    {
        mkdir("$this->dir/config/skynet", 0755, true);
        copy('/bin/true', "$this->dir/config/skynet/skynet");
        chmod("$this->dir/config/skynet/skynet", 0755);
        $user = posix_getpwuid(posix_geteuid())['name'];
        $unit = skynet_render((string) file_get_contents(self::TEMPLATES . '/skynet-queue.service'), ['aegir_root' => $this->dir, 'aegir_user' => $user]);
        file_put_contents("$this->dir/skynet-queue.service", $unit);

        exec('systemd-analyze verify ' . escapeshellarg("$this->dir/skynet-queue.service") . ' 2>&1', $output, $status);

        $this->assertSame([0, []], [$status, $output]);
        $this->assertStringContainsString("\nKillMode=process\n", $unit, 'running tasks survive a stop');
    }

    public function testAPlaceholderWithoutValueIsAnError(): void
    {
        $this->expectException(\SkynetSetupError::class);
        $this->expectExceptionMessage('aegir_user, log_dir');

        skynet_render((string) file_get_contents(self::TEMPLATES . '/skynet-queue.supervisor.conf'), ['aegir_root' => '/var/aegir']);
    }

    public function testValuesAreNotRenderedAgain(): void
    {
        $this->assertSame('passwd = @db_user@ x', skynet_render('passwd = @db_passwd@ x', ['db_passwd' => '@db_user@', 'db_user' => 'aegir']));
    }

    public function testALineWhosePlaceholderIsNullBecomesAComment(): void
    {
        $this->assertSame("a = 1\n; b: not set at admin/hosting/skynet, the daemon's default applies\n",
            skynet_render("a = @a@\nb = @b@\n", ['a' => 1, 'b' => null]));
    }
}
