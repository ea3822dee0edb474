// Test data in an Aegir-shaped database: tasks queued the way hosting_add_task() queues them,
// and the reads tests assert on. Also the HOME folder the Aegir simulator finds its site in.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "db/connection.h"

namespace skynet::testing {

struct TaskRef {
  std::int64_t nid = 0;
  std::int64_t vid = 0;  // the queued revision
};

struct TaskRow {
  std::int64_t vid = 0;
  int status = 0;
  std::int64_t executed = 0;
  std::int64_t delta = 0;
};

struct LogEntry {
  std::string type, message, error;
};

class AegirFixture {
 public:
  explicit AegirFixture(db::Connection& connection) : db_(connection) {}

  // A queued task for node `rid`, as hosting_add_task() saves it; `behaviour` is the simulator's
  // sim_behaviour argument (none when empty); `changed` orders the queue (default: now).
  TaskRef queueTask(std::int64_t rid, const std::string& type, const std::string& behaviour = "",
                    std::int64_t changed = 0);
  // The current revision of a task.
  TaskRow current(std::int64_t nid);
  int statusOf(std::int64_t vid);
  std::int64_t revisions(std::int64_t nid);
  std::vector<LogEntry> log(std::int64_t vid);
  void setVariable(const std::string& name, const std::string& serialized);
  // Counts tasks whose current revision has this status.
  std::int64_t countWithStatus(int status);

 private:
  db::Connection& db_;
};

// Writes ~/.drush/hostmaster.alias.drushrc.php and the hostmaster site's drushrc.php under
// `home`, pointing at `params` (tests/aegir-sim/write-home).
void writeSimulatorHome(const std::string& home, const db::ConnectionParams& params);

// Lines of the simulator's invocation log under `home` (one JSON object per hosting-task run).
std::vector<std::string> simulatorInvocations(const std::string& home);

}  // namespace skynet::testing
