// Skynet's own tables (skynet_worker, skynet_run, ...) and their versions. migrate() brings any
// database, new or from an older Skynet, to the current version; it is idempotent and safe
// when several daemons start at once (they serialize on a named lock).
#pragma once

#include "db/connection.h"

namespace skynet::runs {

constexpr int kSchemaVersion = 3;

// The version the database has; 0 when Skynet's tables do not exist yet.
int schemaVersion(db::Connection& connection);
void migrate(db::Connection& connection);

}  // namespace skynet::runs
