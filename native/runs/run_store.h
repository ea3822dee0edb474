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

// A running daemon writes its worker's heartbeat this often (daemon/dispatcher.h). Each beat is a
// write commit, which at idle is most of what a daemon costs the database server.
inline constexpr double kHeartbeatEvery = 10.0;
// A worker heard from this recently counts as alive (status, the API, other daemons): three beats.
inline constexpr double kWorkerAliveWindow = 3 * kHeartbeatEvery;

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
  // The process, when its start was not recorded yet (it ended before the record was written).
  std::optional<RunProcess> process;
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

// 128 random bits from getrandom(2) as 32 hex digits; throws std::runtime_error when the kernel
// gives none (never a weaker source).
std::string newToken();

class RunStore {
 public:
  explicit RunStore(db::Connection& connection) : db_(connection) {}

  // A task run's insert, sent with its claim (db::Connection::executeAll, as
  // Dispatcher::claimTasksIn does): the run's id is its insert id.
  static db::Connection::Sql startTaskRunSql(const TaskRunStart& start);
  // Takes back a run inserted in this transaction that will not run (its claim affected no row).
  // Deferred, as setProcess().
  void discardRun(std::int64_t runId);
  // Once the process runs: its identity, its output file, and the time of the spawn.
  // Deferred (db::Connection::executeLater): inside a transaction it goes with the next statement.
  void setProcess(std::int64_t runId, const RunProcess& process);
  // Records the end of a run still `running` (a final state another writer set, e.g. a stop
  // reported through the API, is kept) and, unless the caller releases them itself in the same
  // transaction, releases the locks it held. Deferred, as setProcess().
  enum class Locks { Release, LeaveToCaller };
  void finishRun(std::int64_t runId, const RunEnd& end, Locks locks = Locks::Release);
  // A run that goes back to waiting (a job whose daemon died before spawning it).
  void rescheduleRun(std::int64_t runId, const std::string& message);

  // Locks (skynet_lock). lockAll() reads every lock FOR UPDATE, the guard row (rid 0) among
  // them, so it serializes claims across daemons until the transaction ends: call it first in a
  // claim's transaction, then take locks. heldLocks() only reads the sites held (rid <> 0).
  std::vector<SiteLock> lockAll();
  std::vector<SiteLock> heldLocks();
  // lockAll() as a read to run with others (db::Connection::readAll), and its rows as locks.
  static db::Connection::Sql lockAllRead();
  static std::vector<SiteLock> locksFrom(const std::vector<db::Row>& rows);
  // Both deferred, as setProcess(): a take of a site whose row is still there (held by anyone,
  // this transaction's own release not yet written in front of it) fails its transaction on the
  // lock table's primary key, so no claim can commit without its site's row.
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
  // What a start or stop transition decides on, from a run read by run().
  static RunFacts factsOf(const RunEntry& run);
  // A start or stop report's write, without a lock: it applies only while the run is still in
  // the state the transition decided on (scheduled, or running), in one autocommitted statement.
  // False when the run changed since it was read: the caller reads it again and decides anew.
  bool applyStart(std::int64_t id, double ts, bool setRunning, bool setReportedStart);
  bool applyStop(std::int64_t id, const std::string& newState, const StopRequest& stop);
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
