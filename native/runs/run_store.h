// Run records (skynet_run) and the daemons that make them (skynet_worker): the one place with
// SQL about Skynet's own tables besides the schema itself.
//
// Every claimed Aegir task is a run: created `running` before its process starts, finished with
// the outcome the daemon read from Aegir. Tokens never leave this class except at creation.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "db/connection.h"

namespace skynet::runs {

// skynet_run.state values.
namespace state {
inline const char* const kScheduled = "scheduled";
inline const char* const kRunning = "running";
inline const char* const kSucceeded = "succeeded";
inline const char* const kFailed = "failed";
inline const char* const kWarning = "warning";
inline const char* const kTimedOut = "timed_out";
inline const char* const kLost = "lost";
inline const char* const kDeferred = "deferred";
inline const char* const kCancelled = "cancelled";
}  // namespace state

struct TaskRunStart {
  std::int64_t nid = 0, vid = 0, rid = 0;
  std::string type;
  std::string command;  // as run, for the record
  std::int64_t workerId = 0;
  std::string host;
  int attempts = 1;
  double started = 0;
};

struct RunEnd {
  std::string state;
  std::optional<int> exitCode;
  std::optional<int> signal;
  double stopped = 0;
  std::string message;
  std::string logTail;
};

struct RunRecord {
  std::int64_t id = 0;
  std::string kind, state;
  std::int64_t nid = 0, rid = 0;
  std::string type;
  double started = 0, stopped = 0;
  std::optional<int> exitCode, signal;
  std::int64_t workerId = 0;
  std::string host;
  std::int64_t pid = 0;
  int attempts = 0;
  std::string message;
};

struct WorkerRecord {
  std::int64_t id = 0;
  std::string host;
  std::int64_t pid = 0;
  std::string version;
  double started = 0, heartbeat = 0;
};

// 128 random bits as 32 hex digits.
std::string newToken();

class RunStore {
 public:
  explicit RunStore(db::Connection& connection) : db_(connection) {}

  std::int64_t startTaskRun(const TaskRunStart& start);
  // Once the process runs: its pid and the file its output goes to.
  void setProcess(std::int64_t runId, std::int64_t pid, const std::string& outputFile);
  void finishRun(std::int64_t runId, const RunEnd& end);

  std::int64_t registerWorker(const std::string& host, std::int64_t pid, const std::string& version, double now);
  void heartbeat(std::int64_t workerId, double now);
  void stopWorker(std::int64_t workerId, double now);

  std::vector<RunRecord> runningRuns();
  std::vector<RunRecord> recentRuns(int limit);
  // Workers whose heartbeat is newer than `since`.
  std::vector<WorkerRecord> liveWorkers(double since);

 private:
  std::vector<RunRecord> readRuns(const std::string& sql, const std::vector<db::Value>& params);
  db::Connection& db_;
};

}  // namespace skynet::runs
