<?php

declare(strict_types=1);

namespace AegirSim;

use mysqli;
use mysqli_result;

/**
 * The hostmaster database, reached the way a Drupal 7 site reaches it: the credentials and
 * table prefix come from the site's drushrc.php options. SQL is written with Drupal's `{table}`
 * placeholders so the prefix is applied in one place. Autocommit is on; errors throw.
 */
final class Database
{
    private function __construct(private mysqli $link, private string $prefix)
    {
    }

    /** @param array<string,mixed> $options the `$options` array of the site's drushrc.php */
    public static function connect(array $options, string $drushrc): self
    {
        $type = (string) ($options['db_type'] ?? 'mysql');
        if ($type !== 'mysql' && $type !== 'mysqli') {
            throw new DrushError("Unsupported db_type '$type' in $drushrc (only mysql).");
        }
        foreach (['db_name', 'db_user'] as $key) {
            if (!isset($options[$key]) || $options[$key] === '') {
                throw new DrushError("Missing \$options['$key'] in $drushrc.");
            }
        }
        $prefix = (string) ($options['db_prefix'] ?? '');
        if (!preg_match('/^\w*$/', $prefix)) {
            throw new DrushError("Invalid \$options['db_prefix'] '$prefix' in $drushrc.");
        }
        $socket = isset($options['db_socket']) && $options['db_socket'] !== '' ? (string) $options['db_socket'] : null;
        // With a socket the host must be "localhost": that is what makes mysqli use the socket.
        $host = $socket !== null ? 'localhost' : (string) ($options['db_host'] ?? 'localhost');
        $port = isset($options['db_port']) && $options['db_port'] !== '' ? (int) $options['db_port'] : 3306;

        mysqli_report(MYSQLI_REPORT_ERROR | MYSQLI_REPORT_STRICT);
        try {
            $link = new mysqli($host, (string) $options['db_user'], (string) ($options['db_passwd'] ?? ''),
                (string) $options['db_name'], $port, $socket);
        } catch (\mysqli_sql_exception $e) {
            throw new DrushError("Could not connect to the hostmaster database '{$options['db_name']}' "
                . "(from $drushrc): " . $e->getMessage());
        }
        $link->set_charset('utf8mb4');
        $link->autocommit(true);
        return new self($link, $prefix);
    }

    /** Runs one statement; `{name}` becomes the prefixed table name, `?` are bound parameters. */
    public function query(string $sql, array $params = []): mysqli_result|bool
    {
        $sql = preg_replace_callback('/\{(\w+)\}/', fn ($m) => '`' . $this->prefix . $m[1] . '`', $sql);
        return $this->link->execute_query($sql, $params);
    }

    /** @return array<string,mixed>|null the first row, or null */
    public function row(string $sql, array $params = []): ?array
    {
        $result = $this->query($sql, $params);
        return $result->fetch_assoc() ?: null;
    }

    public function value(string $sql, array $params = []): mixed
    {
        $row = $this->query($sql, $params)->fetch_row();
        return $row ? $row[0] : null;
    }

    /** @return list<mixed> the first column of every row */
    public function column(string $sql, array $params = []): array
    {
        return array_column($this->query($sql, $params)->fetch_all(MYSQLI_NUM), 0);
    }

    public function insertId(): int
    {
        return (int) $this->link->insert_id;
    }

    /** Runs $work in one transaction: everything or nothing is saved. */
    public function transaction(callable $work): mixed
    {
        $this->link->begin_transaction();
        try {
            $result = $work();
            $this->link->commit();
            return $result;
        } catch (\Throwable $e) {
            $this->link->rollback();
            throw $e;
        }
    }
}
