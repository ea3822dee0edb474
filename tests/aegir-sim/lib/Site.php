<?php

declare(strict_types=1);

namespace AegirSim;

/**
 * Finds the hostmaster site's database options the way drush does, reduced to the one alias
 * the daemon uses: `$HOME/.drush/hostmaster.alias.drushrc.php` names the platform root and the
 * site uri, and `<root>/sites/<uri>/drushrc.php` holds the `db_*` options.
 */
final class Site
{
    public const ALIAS = '@hostmaster';

    /** @return array{0: array<string,mixed>, 1: string} the drushrc options and the file they came from */
    public static function databaseOptions(string $home): array
    {
        $aliasFile = "$home/.drush/hostmaster.alias.drushrc.php";
        $aliases = self::includeDefining($aliasFile, 'aliases');
        $alias = $aliases['hostmaster'] ?? null;
        if (!is_array($alias) || empty($alias['root']) || empty($alias['uri'])) {
            throw new DrushError("$aliasFile does not define \$aliases['hostmaster'] with 'root' and 'uri'.");
        }
        $drushrc = rtrim((string) $alias['root'], '/') . '/sites/' . $alias['uri'] . '/drushrc.php';
        return [self::includeDefining($drushrc, 'options'), $drushrc];
    }

    /** Includes a drushrc-style PHP file in its own scope and returns the array it fills. */
    private static function includeDefining(string $file, string $variable): array
    {
        if (!is_file($file) || !is_readable($file)) {
            throw new DrushError("Cannot read $file (needed to find the " . self::ALIAS . ' site).');
        }
        $load = static function (string $__file) {
            $aliases = [];
            $options = [];
            include $__file;
            return ['aliases' => $aliases, 'options' => $options];
        };
        try {
            $defined = $load($file);
        } catch (\Throwable $e) {
            throw new DrushError("Cannot load $file: " . $e->getMessage());
        }
        if (!is_array($defined[$variable])) {
            throw new DrushError("$file: \$$variable is not an array.");
        }
        return $defined[$variable];
    }
}
