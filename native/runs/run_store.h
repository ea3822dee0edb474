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
  double started = 0;   // the claim; the spawn's reading replaces it (setProcess)
  double queuedAt = 0;  // node.changed: when the task was queued
  int timeout = 0;
};

// Where a run's process is, as recorded at spawn.
struct RunProcess {
  std::int64_t pid = 0;
  std::uint64_t procStart = 0;
  std::string bootId;
  std::string outputFile;
  double started = 0;
};

// A site (or application) held by a running run, across every daemon on the database.
struct SiteLock {
  std::int64_t rid = 0;  // > 0: an Aegir site/platform/server node; < 0: -application id
  bool exclusive = false;
  std::int64_t runId = 0;
  std::int64_t workerId = 0;
};

// A lackey job that is due (scheduled at or before now).
struct DueJob {
  std::int64_t runId = 0;
  std::int64_t applicationId = 0;
  std::string directory, command, token;
  int timeout = 0;  // 0: never
  double schedule = 0;
  bool allowParallel = false;
};

// A run left `running` by a worker, as adoption needs it.
struct UnfinishedRun {
  std::int64_t id = 0;
  std::string kind;
  std::int64_t nid = 0, vid = 0, rid = 0;
  std::string type;
  std::int64_t workerId = 0;
  std::string host;
  RunProcess process;
  int timeout = 0;
  int attempts = 1;
  std::int64_t applicationId = 0;
  std::string cancelledBy;  // non-empty when a cancel was requested
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
  bool stopped = false;
};

// 128 random bits as 32 hex digits.
std::string newToken();

class RunStore {
 public:
  explicit RunStore(db::Connection& connection) : db_(connection) {}

  std::int64_t startTaskRun(const TaskRunStart& start);
  // Once the process runs: its identity, its output file, and the time of the spawn.
  void setProcess(std::int64_t runId, const RunProcess& process);
  // Records the end of a run still `running` (a final state another writer set, e.g. a stop
  // reported through the API, is kept) and releases the locks it held. Returns whether it wrote.
  bool finishRun(std::int64_t runId, const RunEnd& end);
  // A run that goes back to waiting (a job whose daemon died before spawning it).
  void rescheduleRun(std::int64_t runId, const std::string& message);

  // Locks (skynet_lock). lockGuard() serializes claims across daemons until the transaction
  // ends: call it first inside the claim's transaction, then read and take locks.
  void lockGuard();
  std::vector<SiteLock> heldLocks();
  void takeLock(const SiteLock& lock, double now);
  void releaseLocks(std::int64_t runId);

  // Lackey jobs.
  std::vector<DueJob> dueJobs(double now, int limit);
  // scheduled -> running for this worker; true when this call took it.
  bool claimJob(std::int64_t runId, std::int64_t workerId, const std::string& host, double now);

  // Adoption.
  std::vector<WorkerRecord> workers();  // every worker not marked stopped, and those stopped with runs left
  std::vector<UnfinishedRun> unfinishedRuns(std::int64_t workerId);
  // The run and its locks now belong to `workerId`.
  void adoptRun(std::int64_t runId, std::int64_t workerId, const std::string& note);
  // Runs of `workerId` with a cancel requested: (run id, who asked).
  std::vector<std::pair<std::int64_t, std::string>> cancelRequests(std::int64_t workerId);

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
