#include "runs/schema.h"

#include <vector>

namespace skynet::runs {

namespace {

// One entry per version; an entry's statements take the database from the version before it.
// Append new versions, never edit shipped ones. Each statement must be safe to run again (IF NOT
// EXISTS): DDL commits at once, so a daemon killed in the middle of a version leaves part of it
// done, and the next start runs the whole version again.
const std::vector<std::vector<const char*>> kMigrations = {
    // 1: workers and runs of Aegir tasks.
    {
        "CREATE TABLE IF NOT EXISTS {skynet_worker} ("
        " id INT UNSIGNED NOT NULL AUTO_INCREMENT,"
        " host VARCHAR(255) NOT NULL,"
        " pid INT NOT NULL,"
        " version VARCHAR(32) NOT NULL DEFAULT '',"
        " started DOUBLE NOT NULL,"
        " heartbeat DOUBLE NOT NULL,"
        " stopped DOUBLE NULL,"
        " PRIMARY KEY (id), KEY heartbeat (heartbeat)"
        ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
        "CREATE TABLE IF NOT EXISTS {skynet_run} ("
        " id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,"
        " kind VARCHAR(16) NOT NULL,"
        " token CHAR(32) NOT NULL,"
        " task_nid INT UNSIGNED NULL,"
        " task_vid INT UNSIGNED NULL,"
        " task_rid INT NULL,"
        " task_type VARCHAR(64) NULL,"
        " application_id INT UNSIGNED NULL,"
        " directory VARCHAR(1024) NOT NULL DEFAULT '',"
        " command TEXT NOT NULL,"
        " state VARCHAR(16) NOT NULL,"
        " schedule DOUBLE NULL,"
        " started DOUBLE NULL,"
        " stopped DOUBLE NULL,"
        " exit_code INT NULL,"
        " term_signal INT NULL,"
        " worker_id INT UNSIGNED NULL,"
        " host VARCHAR(255) NOT NULL DEFAULT '',"
        " pid INT NULL,"
        " attempts INT NOT NULL DEFAULT 1,"
        " message TEXT NULL,"
        " output_file VARCHAR(1024) NOT NULL DEFAULT '',"
        " log_tail MEDIUMTEXT NULL,"
        " PRIMARY KEY (id), UNIQUE KEY token (token), KEY state (state), KEY task_nid (task_nid),"
        " KEY worker_id (worker_id), KEY stopped (stopped)"
        ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
    },
    // 2: adoption (process identity, timeouts, cancel), cross-daemon locks, lackey's projects and
    // applications (SPEC 3.3, 3.4, 3.6).
    {
        "ALTER TABLE {skynet_run}"
        " ADD COLUMN IF NOT EXISTS proc_start BIGINT UNSIGNED NULL COMMENT 'start time of pid in clock ticks after boot',"
        " ADD COLUMN IF NOT EXISTS boot_id CHAR(36) NOT NULL DEFAULT '' COMMENT 'kernel boot the pid belongs to',"
        " ADD COLUMN IF NOT EXISTS timeout INT NULL COMMENT 'seconds from started; NULL or 0 = never',"
        " ADD COLUMN IF NOT EXISTS queued_at DOUBLE NULL COMMENT 'when the task or job became due (pickup latency)',"
        " ADD COLUMN IF NOT EXISTS cancel_requested DOUBLE NULL,"
        " ADD COLUMN IF NOT EXISTS cancelled_by VARCHAR(255) NULL,"
        " ADD COLUMN IF NOT EXISTS reported_start DOUBLE NULL COMMENT 'ts of the first start report through the API',"
        " ADD COLUMN IF NOT EXISTS reported_stop DOUBLE NULL COMMENT 'ts of the first stop report through the API',"
        " ADD COLUMN IF NOT EXISTS created DOUBLE NULL,"
        " ADD KEY IF NOT EXISTS kind_state_schedule (kind, state, schedule),"
        " ADD KEY IF NOT EXISTS application_id (application_id)",
        "CREATE TABLE IF NOT EXISTS {skynet_lock} ("
        " rid INT NOT NULL COMMENT '0: the guard row every claim locks first; else the site held',"
        " exclusive TINYINT NOT NULL DEFAULT 0 COMMENT '1: a task of an exclusive type holds it',"
        " run_id BIGINT UNSIGNED NULL,"
        " worker_id INT UNSIGNED NULL,"
        " taken DOUBLE NOT NULL DEFAULT 0,"
        " PRIMARY KEY (rid), KEY run_id (run_id)"
        ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
        "INSERT IGNORE INTO {skynet_lock} (rid, exclusive, taken) VALUES (0, 0, 0)",
        "CREATE TABLE IF NOT EXISTS {skynet_project} ("
        " id INT UNSIGNED NOT NULL AUTO_INCREMENT,"
        " name VARCHAR(255) NOT NULL,"
        " title VARCHAR(255) NOT NULL DEFAULT '',"
        " description TEXT NULL,"
        " directory VARCHAR(1024) NOT NULL DEFAULT '',"
        " created DOUBLE NOT NULL,"
        " changed DOUBLE NOT NULL,"
        " PRIMARY KEY (id), UNIQUE KEY name (name)"
        ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
        "CREATE TABLE IF NOT EXISTS {skynet_application} ("
        " id INT UNSIGNED NOT NULL AUTO_INCREMENT,"
        " project_id INT UNSIGNED NOT NULL,"
        " name VARCHAR(255) NOT NULL,"
        " description TEXT NULL,"
        " directory VARCHAR(1024) NOT NULL DEFAULT '',"
        " command TEXT NOT NULL,"
        " timeout INT NULL COMMENT 'seconds; NULL: runs.timeout'," 
        " allow_parallel TINYINT NOT NULL DEFAULT 0 COMMENT '1: several runs of it may run at once',"
        " cron VARCHAR(128) NULL COMMENT '5-field cron expression in runs.timezone; NULL: none',"
        " cron_next DOUBLE NULL COMMENT 'the next slot the daemon creates a run for',"
        " created DOUBLE NOT NULL,"
        " changed DOUBLE NOT NULL,"
        " PRIMARY KEY (id), KEY project_id (project_id), UNIQUE KEY project_name (project_id, name)"
        ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
    },
    // 3: the index on state alone goes: it made each state change of a run (a start or stop
    // report, a run's end) about 15% dearer for the server (bench/api-start-stop, MariaDB CPU per
    // request). The reads by state that must stay quick with a long history (the due and running
    // listings, the daemon's own) name the kind, or both kinds, and use kind_state_schedule; a
    // search by state now reads the history as a search by host or type does.
    {
        "ALTER TABLE {skynet_run} DROP KEY IF EXISTS state",
    },
};

}  // namespace

int schemaVersion(db::Connection& connection) {
  const auto exists = connection.queryOne(
      "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
      {connection.prefix() + "skynet_schema"});
  if (exists->integer(0) == 0) return 0;
  const auto row = connection.queryOne("SELECT version FROM {skynet_schema} WHERE name = 'skynet'");
  return row ? static_cast<int>(row->integer(0)) : 0;
}

void migrate(db::Connection& connection) {
  // DDL commits implicitly, so a transaction cannot serialize two daemons; a named lock can.
  const std::string lock = "skynet_schema_" + connection.database() + "_" + connection.prefix();
  const auto got = connection.queryOne("SELECT GET_LOCK(?, 30)", {lock});
  if (!got || got->integer(0) != 1) {
    throw db::Error("timed out waiting for lock " + lock + " to migrate Skynet's tables", 0);
  }
  struct Unlock {
    db::Connection& c;
    std::string name;
    ~Unlock() {
      try {
        c.query("SELECT RELEASE_LOCK(?)", {name});
      } catch (const db::Error&) {
        // the server releases a lost session's locks
      }
    }
  } unlock{connection, lock};

  connection.execute("CREATE TABLE IF NOT EXISTS {skynet_schema} ("
                     " name VARCHAR(32) NOT NULL, version INT NOT NULL, PRIMARY KEY (name)"
                     ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4");
  int version = schemaVersion(connection);
  if (version > kSchemaVersion) {
    throw db::Error("Skynet's tables are at version " + std::to_string(version) + ", newer than this skynet (" +
                        std::to_string(kSchemaVersion) + "); install the newer binary",
                    0);
  }
  for (; version < kSchemaVersion; ++version) {
    for (const char* statement : kMigrations[version]) connection.execute(statement);
    connection.execute("INSERT INTO {skynet_schema} (name, version) VALUES ('skynet', ?) "
                       "ON DUPLICATE KEY UPDATE version = VALUES(version)",
                       {static_cast<std::int64_t>(version + 1)});
  }
}

}  // namespace skynet::runs
