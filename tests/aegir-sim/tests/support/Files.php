<?php

declare(strict_types=1);

namespace AegirSim\Tests;

final class Files
{
    /** A new, empty directory under sys_get_temp_dir(). */
    public static function tempDir(string $prefix): string
    {
        do {
            $dir = sys_get_temp_dir() . '/' . $prefix . bin2hex(random_bytes(5));
        } while (!@mkdir($dir, 0700));
        return $dir;
    }

    public static function remove(string $path): void
    {
        if (is_dir($path) && !is_link($path)) {
            foreach (scandir($path) as $entry) {
                if ($entry !== '.' && $entry !== '..') {
                    self::remove("$path/$entry");
                }
            }
            rmdir($path);
        } elseif (file_exists($path) || is_link($path)) {
            unlink($path);
        }
    }
}
