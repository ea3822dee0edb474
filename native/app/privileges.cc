#include "app/privileges.h"

#include <algorithm>

#include "aegir/task_queue.h"
#include "runs/schema.h"

namespace skynet::app {

namespace {

// Aegir's tables queued writes, and why; then those it only reads.
struct AegirTable {
  const char* name;
  const char* why;
};
const AegirTable kAegirTablesWritten[] = {
    {"hosting_task", "to claim and finish Aegir's tasks"},
    {"hosting_task_log", "to log why a task failed"},
    {"variable", "to read and set Aegir's variables"},
    {"semaphore", "to hold Aegir's cron semaphore hosting_queue_tasks_running"},
};
const char* const kAegirTablesRead[] = {"node", "node_revision"};
const char* const kReadWrite[] = {"SELECT", "INSERT", "UPDATE", "DELETE"};

}  // namespace

bool likeMatch(const std::string& text, const std::string& pattern) {
  // Iterative matching with one backtrack point, the last % seen.
  std::size_t t = 0, p = 0;
  std::size_t starPattern = std::string::npos, starText = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '%') {
      starPattern = ++p;
      starText = t;
      continue;
    }
    if (p < pattern.size()) {
      const bool escaped = pattern[p] == '\\' && p + 1 < pattern.size();
      const char want = escaped ? pattern[p + 1] : pattern[p];
      if ((!escaped && want == '_') || want == text[t]) {
        p += escaped ? 2 : 1;
        ++t;
        continue;
      }
    }
    if (starPattern == std::string::npos) return false;
    p = starPattern;
    t = ++starText;
  }
  while (p < pattern.size() && pattern[p] == '%') ++p;
  return p == pattern.size();
}

Grants Grants::read(db::Connection& connection) {
  // information_schema names a grantee 'user'@'host'; CURRENT_USER() says user@host (a host
  // holds no @, a user name may).
  const std::string current = connection.queryOne("SELECT CURRENT_USER()")->text(0);
  const std::size_t at = current.rfind('@');
  const std::string account = at == std::string::npos
                                  ? "'" + current + "'"
                                  : "'" + current.substr(0, at) + "'@'" + current.substr(at + 1) + "'";
  std::vector<Grant> grants;
  for (const auto& row : connection.query(
           "SELECT PRIVILEGE_TYPE FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = ?", {account})) {
    grants.push_back({row.text(0), "", ""});
  }
  for (const auto& row : connection.query(
           "SELECT PRIVILEGE_TYPE, TABLE_SCHEMA FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE = ?",
           {account})) {
    grants.push_back({row.text(0), row.text(1), ""});
  }
  for (const auto& row : connection.query("SELECT PRIVILEGE_TYPE, TABLE_SCHEMA, TABLE_NAME "
                                          "FROM information_schema.TABLE_PRIVILEGES WHERE GRANTEE = ?",
                                          {account})) {
    grants.push_back({row.text(0), row.text(1), row.text(2)});
  }
  std::vector<std::string> roles;
  for (const auto& row : connection.query("SELECT ROLE_NAME FROM information_schema.ENABLED_ROLES")) {
    if (!row.isNull(0)) roles.push_back(row.text(0));
  }
  return Grants(account, std::move(grants), std::move(roles));
}

bool Grants::allows(const std::string& privilege, const std::string& database, const std::string& table) const {
  return std::any_of(grants_.begin(), grants_.end(), [&](const Grant& grant) {
    if (grant.privilege != privilege) return false;
    if (grant.schema.empty()) return true;
    if (grant.table.empty()) return likeMatch(database, grant.schema);
    return !table.empty() && grant.schema == database && grant.table == table;
  });
}

SchemaState inspectSchema(db::Connection& connection) {
  SchemaState state;
  state.prefix = connection.prefix();
  state.skynetVersion = runs::schemaVersion(connection);
  state.currentVersion = runs::kSchemaVersion;
  const std::string skynetPrefix = connection.prefix() + "skynet_";
  for (const auto& row : connection.query(
           "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME")) {
    if (row.text(0).rfind(skynetPrefix, 0) == 0) state.skynetTables.push_back(row.text(0));
  }
  aegir::TaskQueue tasks(connection);
  state.statusIndexMissing = tasks.statusIndexMissing();
  state.hasSystemTable = tasks.queuedModuleEnabled().has_value();
  return state;
}

std::vector<Requirement> requiredPrivileges(const SchemaState& state) {
  std::vector<Requirement> needed;
  if (state.skynetVersion < state.currentVersion) {
    const std::string why = state.skynetVersion == 0 ? "to create Skynet's tables" : "to migrate Skynet's tables";
    needed.push_back({"CREATE", "", why});
    needed.push_back({"ALTER", "", why});
    // Tables a migration creates can only be covered by a grant on the whole database.
    for (const char* privilege : kReadWrite) needed.push_back({privilege, "", "to record runs in Skynet's tables"});
  } else {
    // runs::migrate() issues CREATE TABLE IF NOT EXISTS for its version table on every start,
    // which MariaDB checks against CREATE even when the table exists.
    needed.push_back({"CREATE", state.prefix + "skynet_schema", "to check Skynet's schema version at start"});
  }
  for (const auto& table : state.skynetTables) {
    for (const char* privilege : kReadWrite) needed.push_back({privilege, table, "to record runs"});
  }
  for (const auto& table : kAegirTablesWritten) {
    for (const char* privilege : kReadWrite) needed.push_back({privilege, state.prefix + table.name, table.why});
  }
  for (const char* table : kAegirTablesRead) needed.push_back({"SELECT", state.prefix + table, "to read the queue"});
  if (state.hasSystemTable) {
    needed.push_back({"SELECT", state.prefix + "system", "to see whether hosting_queued is enabled"});
  }
  if (state.statusIndexMissing) {
    needed.push_back({"ALTER", state.prefix + "hosting_task", "to add Skynet's index on task_status"});
  }
  return needed;
}

std::optional<Requirement> firstMissing(const Grants& grants, const std::string& database,
                                        const std::vector<Requirement>& requirements) {
  for (const auto& requirement : requirements) {
    if (!grants.allows(requirement.privilege, database, requirement.table)) return requirement;
  }
  return std::nullopt;
}

std::string describe(const Requirement& requirement, const std::string& database) {
  const std::string on = "`" + database + "`." + (requirement.table.empty() ? "*" : "`" + requirement.table + "`");
  return "the " + requirement.privilege + " privilege on " + on + " (" + requirement.why + ")";
}

}  // namespace skynet::app
