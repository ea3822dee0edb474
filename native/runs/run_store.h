// Run records (skynet_run) and the daemons that make them (skynet_worker): the one place with
// SQL about Skynet's own tables besides the schema itself.
//
// Every claimed Aegir task is a run: created `running` before its process starts, finished with
// the outcome the daemon read from Aegir. Tokens never leave this class except at creation.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "db/connection.h"
#include "runs/transitions.h"

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

// 128 random bits from getrandom(2) as 32 hex digits; throws std::runtime_error when the kernel
// gives none (never a weaker source).
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

// ---------------------------------------------------------------------------------------------
// The HTTP API's reads and writes of skynet_run and skynet_worker (native/api). Kept apart from
// the daemon's functions above. Every transition first locks the row (SELECT ... FOR UPDATE in
// the caller's transaction), so a start/stop/cancel and the daemon's own conditional updates
// never interleave. Tokens leave only through LockedRun (to compare) and RunEntry::token (filled
// only when the caller asks, for the admin key's single-run answer).
namespace skynet::runs {

// A run as the API answers it (SPEC 3.4, api.md "Run entry").
struct RunEntry {
  std::int64_t id = 0;
  std::string kind, state;
  std::optional<std::int64_t> applicationId, projectId, taskNid, taskVid, taskRid, workerId, pid;
  std::string applicationName, projectName, taskType, site, directory, command, host, message, cancelledBy;
  std::optional<double> schedule, started, stopped, cancelRequested, reportedStart, reportedStop, created;
  std::optional<int> exitCode, signal;
  int attempts = 0;
  std::string outputFile;
  // Only from RunApiStore::run():
  std::optional<std::string> logTail;
  std::optional<std::string> token;
};

// Which runs a listing shows. `categories` are the search categories (id, state, kind, project,
// application, project_id, application_id, site, type, host), each at most 8 values
// (kFilterSlots), OR-ed within and AND-ed across; `text` is matched (LIKE) in message, command and log.
struct RunFilter {
  std::map<std::string, std::vector<std::string>> categories;
  std::string text;
  bool dueOnly = false;      // scheduled with schedule <= now
  bool runningOnly = false;  // state running
  double now = 0;
  std::int64_t limit = 100, offset = 0;
};

struct RunPage {
  std::vector<RunEntry> runs;
  std::int64_t total = 0;  // matching runs, ignoring limit and offset
};

// What a transition needs, read under the row lock.
struct LockedRun {
  std::string token;
  RunFacts facts;
};

struct NewJob {
  std::int64_t applicationId = 0;
  std::string directory, command;
  double schedule = 0, created = 0;
  std::optional<int> timeout;
};

struct WorkerEntry {
  std::int64_t id = 0;
  std::string host, version;
  std::int64_t pid = 0;
  double started = 0, heartbeat = 0;
  std::optional<double> stopped;
};

class RunApiStore {
 public:
  explicit RunApiStore(db::Connection& connection) : db_(connection) {}

  // Throws std::invalid_argument naming a category it does not know or that has too many values.
  RunPage list(const RunFilter& filter);
  // With the log tail; with the token when `withToken`.
  std::optional<RunEntry> run(std::int64_t id, bool withToken);
  // The stored log tail and, for a run still running, the file its output goes to.
  struct LogSource {
    std::string state, logTail, outputFile;
  };
  std::optional<LogSource> logSource(std::int64_t id);

  // Call inside a db::Transaction; the lock holds until it ends.
  std::optional<LockedRun> lock(std::int64_t id);
  void recordStart(std::int64_t id, double ts, bool setRunning, bool setReportedStart);
  void recordStop(std::int64_t id, const std::string& newState, const StopRequest& stop);
  void cancelNow(std::int64_t id, double now, const std::string& by);
  void requestCancel(std::int64_t id, double now, const std::string& by);

  // A scheduled lackey job with a fresh token; returns its id.
  std::int64_t scheduleJob(const NewJob& job);

  std::int64_t countDue(double now);
  std::int64_t countRunning(const std::string& kind);
  // Workers not stopped, or seen since `since`, newest first.
  std::vector<WorkerEntry> workers(double since);

 private:
  db::Connection& db_;
};

}  // namespace skynet::runs
