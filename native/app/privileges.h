// The database privileges `skynet queued` needs, and whether the configured account has them,
// for `skynet check`.
//
// Why: a database user without CREATE/ALTER passes a connection test, and then the daemon
// loops on "ALTER command denied" (it never exits for a database problem). check says so first.
//
// Contract:
// - Grants::read() reads the account's own global, database and table grants from
//   information_schema (USER_PRIVILEGES, SCHEMA_PRIVILEGES, TABLE_PRIVILEGES), filtered on the
//   account the server matched (CURRENT_USER(): an account that may read mysql.* sees every
//   user's rows there), and the session's enabled roles. Privileges granted through a role are
//   not visible in information_schema to the account itself, so a privilege not found while a
//   role is enabled is reported as unverified, not as missing.
// - requiredPrivileges() and firstMissing() are pure: what is needed follows from the state of
//   Skynet's schema and of Aegir's index; a database-wide grant may use LIKE wildcards, as
//   MariaDB's database-level grants do (`aegir\_%`).
// - Not thread-safe beyond the connection it is given (one connection per thread).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "db/connection.h"

namespace skynet::app {

// One privilege the account holds: on everything (schema and table empty), on every table of
// the databases matching `schema` (a LIKE pattern; table empty), or on one table.
struct Grant {
  std::string privilege;  // SELECT, INSERT, CREATE, ...
  std::string schema;
  std::string table;
};

class Grants {
 public:
  Grants(std::string account, std::vector<Grant> grants, std::vector<std::string> enabledRoles)
      : account_(std::move(account)), grants_(std::move(grants)), enabledRoles_(std::move(enabledRoles)) {}
  static Grants read(db::Connection& connection);

  // Whether `privilege` holds on `table` of `database`; an empty table asks for the whole
  // database (e.g. CREATE of tables that do not exist yet).
  bool allows(const std::string& privilege, const std::string& database, const std::string& table) const;
  const std::string& account() const { return account_; }  // 'user'@'host'
  const std::vector<std::string>& enabledRoles() const { return enabledRoles_; }

 private:
  std::string account_;
  std::vector<Grant> grants_;
  std::vector<std::string> enabledRoles_;
};

struct Requirement {
  std::string privilege;
  std::string table;  // with the Drupal prefix; empty: the whole database
  std::string why;    // what queued does with it, for the message
};

// What the database looks like to the privilege check.
struct SchemaState {
  std::string prefix;                     // Drupal table prefix
  int skynetVersion = 0;                  // runs::schemaVersion()
  int currentVersion = 0;                 // runs::kSchemaVersion
  std::vector<std::string> skynetTables;  // Skynet's tables that exist, with the prefix
  bool statusIndexMissing = false;        // queued adds an index on hosting_task (task_status)
  bool hasSystemTable = false;            // Drupal's system table (read for hosting_queued)
};

// Reads that state (Skynet's schema version and tables, Aegir's index and system table).
SchemaState inspectSchema(db::Connection& connection);

std::vector<Requirement> requiredPrivileges(const SchemaState& state);

// The first requirement `grants` do not meet on `database`, or nullopt.
std::optional<Requirement> firstMissing(const Grants& grants, const std::string& database,
                                        const std::vector<Requirement>& requirements);

// "the CREATE privilege on `aegir`.* (to create Skynet's tables)".
std::string describe(const Requirement& requirement, const std::string& database);

// MySQL's LIKE: % any run, _ any one character, \ makes the next one literal. Case-sensitive,
// as database names are on Linux.
bool likeMatch(const std::string& text, const std::string& pattern);

}  // namespace skynet::app
