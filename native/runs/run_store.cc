#include "runs/run_store.h"

#include "runs/filter_sql.h"

#include <sys/random.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

// The running runs, as a condition that kind_state_schedule serves (both kinds named). There is
// no index on state alone since schema version 3: `worker_id = ? AND state = 'running'` was
// read through worker_id, every run the worker ever had, at each poll of a busy daemon.
#define SKYNET_RUNNING_RUNS "kind IN ('task', 'job') AND state = 'running'"

namespace skynet::runs {

std::string newToken() {
  // The kernel's CSPRNG; a token is the only thing guarding a run's start and stop, so there is
  // no weaker fallback: without randomness no run is made.
  unsigned char bytes[16];
  std::size_t got = 0;
  while (got < sizeof bytes) {
    const ssize_t n = getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::runtime_error(std::string("cannot read random bytes for a run token: ") + std::strerror(errno));
    got += static_cast<std::size_t>(n);
  }
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char byte : bytes) {
    hex += kHex[byte >> 4];
    hex += kHex[byte & 0x0F];
  }
  return hex;
}

namespace {
db::Value optionalInt(const std::optional<int>& value) {
  return value ? db::Value(static_cast<std::int64_t>(*value)) : db::Value(nullptr);
}
}  // namespace

db::Connection::Sql RunStore::startTaskRunSql(const TaskRunStart& start) {
  return {"INSERT INTO {skynet_run} (kind, token, task_nid, task_vid, task_rid, task_type, command, state,"
          " started, worker_id, host, attempts, queued_at, timeout, created) "
          "VALUES ('task', ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?)",
          {newToken(), start.nid, start.vid, start.rid, start.type, start.command, start.started, start.workerId,
           start.host, static_cast<std::int64_t>(start.attempts), start.queuedAt,
           static_cast<std::int64_t>(start.timeout), start.started}};
}

void RunStore::discardRun(std::int64_t runId) { db_.executeLater("DELETE FROM {skynet_run} WHERE id = ?", {runId}); }

void RunStore::setProcess(std::int64_t runId, const RunProcess& process) {
  db_.executeLater("UPDATE {skynet_run} SET pid = ?, proc_start = ?, boot_id = ?, output_file = ?, started = ? "
                   "WHERE id = ?",
                   {process.pid, static_cast<std::int64_t>(process.procStart), process.bootId, process.outputFile,
                    process.started, runId});
}

void RunStore::finishRun(std::int64_t runId, const RunEnd& end, Locks locks) {
  db::Transaction transaction(db_);
  // One statement either way: a run no longer `running` (a stop reported through the API came
  // first) keeps its state, time and message and gets only what the daemon alone knows. `state`
  // is assigned last: every IF reads the state as it was (also under SIMULTANEOUS_ASSIGNMENT).
  std::string sql =
      "UPDATE {skynet_run} SET exit_code = IF(state = 'running' OR exit_code IS NULL, ?, exit_code), term_signal = ?,"
      " log_tail = IF(state = 'running' OR log_tail IS NULL OR log_tail = '', ?, log_tail),"
      " stopped = IF(state = 'running', ?, stopped), message = IF(state = 'running', ?, message)";
  std::vector<db::Value> values{optionalInt(end.exitCode), optionalInt(end.signal), end.logTail, end.stopped,
                                end.message};
  if (end.process) {
    // A process that ended before its start was recorded: both in one statement.
    sql += ", pid = ?, proc_start = ?, boot_id = ?, output_file = ?, started = ?";
    values.insert(values.end(), {end.process->pid, static_cast<std::int64_t>(end.process->procStart),
                                 end.process->bootId, end.process->outputFile, end.process->started});
  }
  values.push_back(end.state);
  values.push_back(runId);
  db_.executeLater(sql + ", state = IF(state = 'running', ?, state) WHERE id = ?", values);
  if (locks == Locks::Release) releaseLocks(runId);
  transaction.commit();
}

void RunStore::rescheduleRun(std::int64_t runId, const std::string& message) {
  db::Transaction transaction(db_);
  db_.execute("UPDATE {skynet_run} SET state = 'scheduled', started = NULL, worker_id = NULL, pid = NULL,"
              " message = ? WHERE id = ? AND state = 'running'",
              {message, runId});
  releaseLocks(runId);
  transaction.commit();
}

namespace {
constexpr const char* kLockColumns = "rid, exclusive, COALESCE(run_id, 0), COALESCE(worker_id, 0) FROM {skynet_lock} ";
}  // namespace

std::vector<SiteLock> RunStore::locksFrom(const std::vector<db::Row>& rows) {
  std::vector<SiteLock> locks;
  for (const auto& row : rows) locks.push_back({row.integer(0), row.integer(1) != 0, row.integer(2), row.integer(3)});
  return locks;
}

db::Connection::Sql RunStore::lockAllRead() { return {std::string("SELECT ") + kLockColumns + "FOR UPDATE", {}}; }

std::vector<SiteLock> RunStore::lockAll() { return locksFrom(db_.query(lockAllRead().sql)); }

std::vector<SiteLock> RunStore::heldLocks() {
  return locksFrom(db_.query(std::string("SELECT ") + kLockColumns + "WHERE rid <> 0"));
}

void RunStore::takeLock(const SiteLock& lock, double now) {
  db_.executeLater("INSERT INTO {skynet_lock} (rid, exclusive, run_id, worker_id, taken) VALUES (?, ?, ?, ?, ?)",
                   {lock.rid, static_cast<std::int64_t>(lock.exclusive ? 1 : 0), lock.runId, lock.workerId, now});
}

void RunStore::releaseLocks(std::int64_t runId) {
  db_.executeLater("DELETE FROM {skynet_lock} WHERE run_id = ? AND rid <> 0", {runId});
}

std::vector<DueJob> RunStore::dueJobs(double now, int limit) {
  std::vector<DueJob> jobs;
  for (const auto& row : db_.query(
           "SELECT r.id, COALESCE(r.application_id, 0), r.directory, r.command, r.token, COALESCE(r.timeout, 0),"
           " r.schedule, COALESCE(a.allow_parallel, 0) FROM {skynet_run} r"
           " LEFT JOIN {skynet_application} a ON a.id = r.application_id"
           " WHERE r.kind = 'job' AND r.state = 'scheduled' AND r.schedule <= ? ORDER BY r.schedule, r.id LIMIT ?",
           {now, static_cast<std::int64_t>(limit)})) {
    jobs.push_back({row.integer(0), row.integer(1), row.text(2), row.text(3), row.text(4),
                    static_cast<int>(row.integer(5)), row.real(6), row.integer(7) != 0});
  }
  return jobs;
}

bool RunStore::claimJob(std::int64_t runId, std::int64_t workerId, const std::string& host, double now) {
  return db_.execute("UPDATE {skynet_run} SET state = 'running', worker_id = ?, host = ?, started = ?,"
                     " queued_at = COALESCE(queued_at, schedule) WHERE id = ? AND state = 'scheduled'",
                     {workerId, host, now, runId}) == 1;
}

std::vector<WorkerRecord> RunStore::workers() {
  std::vector<WorkerRecord> workers;
  for (const auto& row : db_.query(
           "SELECT w.id, w.host, w.pid, w.version, w.started, w.heartbeat, w.stopped IS NOT NULL FROM {skynet_worker} w "
           "WHERE w.stopped IS NULL OR w.id IN (SELECT r.worker_id FROM {skynet_run} r "
           "WHERE " SKYNET_RUNNING_RUNS ") "
           "ORDER BY w.id")) {
    workers.push_back({row.integer(0), row.text(1), row.integer(2), row.text(3), row.real(4), row.real(5),
                       row.integer(6) != 0});
  }
  return workers;
}

std::vector<UnfinishedRun> RunStore::unfinishedRuns(std::int64_t workerId) {
  std::vector<UnfinishedRun> runs;
  for (const auto& row : db_.query(
           "SELECT id, kind, COALESCE(task_nid, 0), COALESCE(task_vid, 0), COALESCE(task_rid, 0), COALESCE(task_type, ''),"
           " COALESCE(worker_id, 0), host, COALESCE(pid, 0), COALESCE(proc_start, 0), boot_id, output_file,"
           " COALESCE(started, 0), COALESCE(timeout, 0), attempts, COALESCE(application_id, 0),"
           " IF(cancel_requested IS NULL, '', COALESCE(cancelled_by, 'api'))"
           " FROM {skynet_run} WHERE " SKYNET_RUNNING_RUNS " AND worker_id = ? ORDER BY id",
           {workerId})) {
    UnfinishedRun run;
    run.id = row.integer(0);
    run.kind = row.text(1);
    run.nid = row.integer(2);
    run.vid = row.integer(3);
    run.rid = row.integer(4);
    run.type = row.text(5);
    run.workerId = row.integer(6);
    run.host = row.text(7);
    run.process = {row.integer(8), static_cast<std::uint64_t>(row.integer(9)), row.text(10), row.text(11),
                   row.real(12)};
    run.timeout = static_cast<int>(row.integer(13));
    run.attempts = static_cast<int>(row.integer(14));
    run.applicationId = row.integer(15);
    run.cancelledBy = row.text(16);
    runs.push_back(std::move(run));
  }
  return runs;
}

void RunStore::adoptRun(std::int64_t runId, std::int64_t workerId, const std::string& note) {
  db::Transaction transaction(db_);
  db_.execute("UPDATE {skynet_run} SET worker_id = ?, message = ? WHERE id = ? AND state = 'running'",
              {workerId, note, runId});
  db_.execute("UPDATE {skynet_lock} SET worker_id = ? WHERE run_id = ?", {workerId, runId});
  transaction.commit();
}

std::vector<std::pair<std::int64_t, std::string>> RunStore::cancelRequests(std::int64_t workerId) {
  std::vector<std::pair<std::int64_t, std::string>> requests;
  for (const auto& row : db_.query("SELECT id, COALESCE(cancelled_by, 'api') FROM {skynet_run} "
                                   "WHERE " SKYNET_RUNNING_RUNS " AND worker_id = ? AND cancel_requested IS NOT NULL",
                                   {workerId})) {
    requests.emplace_back(row.integer(0), row.text(1));
  }
  return requests;
}

std::int64_t RunStore::registerWorker(const std::string& host, std::int64_t pid, const std::string& version,
                                      double now) {
  db_.execute("INSERT INTO {skynet_worker} (host, pid, version, started, heartbeat) VALUES (?, ?, ?, ?, ?)",
              {host, pid, version, now, now});
  return static_cast<std::int64_t>(db_.lastInsertId());
}

void RunStore::heartbeat(std::int64_t workerId, double now) {
  db_.execute("UPDATE {skynet_worker} SET heartbeat = ? WHERE id = ?", {now, workerId});
}

void RunStore::stopWorker(std::int64_t workerId, double now) {
  db_.execute("UPDATE {skynet_worker} SET stopped = ?, heartbeat = ? WHERE id = ?", {now, now, workerId});
}

std::vector<RunRecord> RunStore::readRuns(const std::string& sql, const std::vector<db::Value>& params) {
  std::vector<RunRecord> runs;
  for (const auto& row : db_.query(sql, params)) {
    RunRecord run;
    run.id = row.integer(0);
    run.kind = row.text(1);
    run.state = row.text(2);
    run.nid = row.integer(3);
    run.rid = row.integer(4);
    run.type = row.text(5);
    run.started = row.real(6);
    run.stopped = row.real(7);
    if (!row.isNull(8)) run.exitCode = static_cast<int>(row.integer(8));
    if (!row.isNull(9)) run.signal = static_cast<int>(row.integer(9));
    run.workerId = row.integer(10);
    run.host = row.text(11);
    run.pid = row.integer(12);
    run.attempts = static_cast<int>(row.integer(13));
    run.message = row.text(14);
    runs.push_back(std::move(run));
  }
  return runs;
}

#define SKYNET_RUN_COLUMNS                                                                                \
  "SELECT id, kind, state, task_nid, task_rid, task_type, started, stopped, exit_code, term_signal, worker_id," \
  " host, pid, attempts, message FROM {skynet_run} "

std::vector<RunRecord> RunStore::runningRuns() {
  return readRuns(SKYNET_RUN_COLUMNS "WHERE " SKYNET_RUNNING_RUNS " ORDER BY id", {});
}

std::vector<RunRecord> RunStore::recentRuns(int limit) {
  return readRuns(SKYNET_RUN_COLUMNS "WHERE stopped IS NOT NULL ORDER BY stopped DESC, id DESC LIMIT ?",
                  {static_cast<std::int64_t>(limit)});
}

#undef SKYNET_RUN_COLUMNS

}  // namespace skynet::runs

// ---------------------------------------------------------------------------------------------
// The HTTP API's reads and writes (see run_store.h).
namespace skynet::runs {

namespace {

// The search categories of runs and the column each one matches (case-insensitively: the
// columns use utf8mb4_general_ci).
const std::vector<FilterColumn> kRunCategories = {
    {"id", "r.id"},
    {"state", "r.state"},
    {"kind", "r.kind"},
    {"project", "p.name"},
    {"application", "a.name"},
    {"project_id", "a.project_id"},
    {"application_id", "r.application_id"},
    {"site", "s.title"},
    {"type", "r.task_type"},
    {"host", "r.host"},
};
const std::vector<const char*> kRunTextColumns = {"r.message", "r.command", "r.log_tail"};

const char* const kRunEntryColumns =
    "SELECT r.id, r.kind, r.state, r.application_id, a.name, a.project_id, p.name, r.task_nid, r.task_vid,"
    " r.task_rid, r.task_type, s.title, r.directory, r.command, r.schedule, r.started, r.stopped, r.exit_code,"
    " r.term_signal, r.worker_id, r.host, r.pid, r.attempts, r.message, r.cancel_requested, r.cancelled_by,"
    " r.reported_start, r.reported_stop, r.created, r.output_file ";
const char* const kRunJoins =
    "FROM {skynet_run} r"
    " LEFT JOIN {skynet_application} a ON a.id = r.application_id"
    " LEFT JOIN {skynet_project} p ON p.id = a.project_id"
    " LEFT JOIN {node} s ON r.kind = 'task' AND s.nid = r.task_rid ";

// One fixed WHERE for every listing and search (see filter_sql.h). The due and running listings
// name both kinds, so that with a long history they are read from kind_state_schedule, not scanned.
const std::string& filterWhere() {
  static const std::string where =
      "WHERE (? = 1 OR (r.kind IN ('task', 'job') AND r.state = 'scheduled' AND r.schedule <= ?))"
      " AND (? = 1 OR (r.kind IN ('task', 'job') AND r.state = 'running'))" +
      filterClauses(kRunCategories, kRunTextColumns);
  return where;
}

std::optional<std::int64_t> optionalInteger(const db::Row& row, std::size_t i) {
  if (row.isNull(i)) return std::nullopt;
  return row.integer(i);
}
std::optional<double> optionalReal(const db::Row& row, std::size_t i) {
  if (row.isNull(i)) return std::nullopt;
  return row.real(i);
}
std::optional<int> optionalSmall(const db::Row& row, std::size_t i) {
  if (row.isNull(i)) return std::nullopt;
  return static_cast<int>(row.integer(i));
}
db::Value nullable(const std::optional<int>& value) {
  return value ? db::Value(static_cast<std::int64_t>(*value)) : db::Value(nullptr);
}

RunEntry readEntry(const db::Row& row) {
  RunEntry run;
  run.id = row.integer(0);
  run.kind = row.text(1);
  run.state = row.text(2);
  run.applicationId = optionalInteger(row, 3);
  run.applicationName = row.text(4);
  run.projectId = optionalInteger(row, 5);
  run.projectName = row.text(6);
  run.taskNid = optionalInteger(row, 7);
  run.taskVid = optionalInteger(row, 8);
  run.taskRid = optionalInteger(row, 9);
  run.taskType = row.text(10);
  run.site = row.text(11);
  run.directory = row.text(12);
  run.command = row.text(13);
  run.schedule = optionalReal(row, 14);
  run.started = optionalReal(row, 15);
  run.stopped = optionalReal(row, 16);
  run.exitCode = optionalSmall(row, 17);
  run.signal = optionalSmall(row, 18);
  run.workerId = optionalInteger(row, 19);
  run.host = row.text(20);
  run.pid = optionalInteger(row, 21);
  run.attempts = static_cast<int>(row.integer(22));
  run.message = row.text(23);
  run.cancelRequested = optionalReal(row, 24);
  run.cancelledBy = row.text(25);
  run.reportedStart = optionalReal(row, 26);
  run.reportedStop = optionalReal(row, 27);
  run.created = optionalReal(row, 28);
  run.outputFile = row.text(29);
  return run;
}

std::vector<db::Value> listParams(const RunFilter& filter) {
  const auto flag = [](bool absent) { return db::Value(static_cast<std::int64_t>(absent ? 1 : 0)); };
  std::vector<db::Value> params = {flag(!filter.dueOnly), filter.now, flag(!filter.runningOnly)};
  const auto rest = filterParams(kRunCategories, kRunTextColumns, filter.categories, filter.text);
  params.insert(params.end(), rest.begin(), rest.end());
  return params;
}

}  // namespace

RunPage RunApiStore::list(const RunFilter& filter) {
  std::vector<db::Value> params = listParams(filter);
  RunPage page;
  page.total = db_.queryOne(std::string("SELECT COUNT(*) ") + kRunJoins + filterWhere(), params)->integer(0);
  params.emplace_back(filter.limit);
  params.emplace_back(filter.offset);
  for (const auto& row : db_.query(kRunEntryColumns + std::string(kRunJoins) + filterWhere() +
                                       "ORDER BY r.id DESC LIMIT ? OFFSET ?",
                                   params)) {
    page.runs.push_back(readEntry(row));
  }
  return page;
}

std::optional<RunEntry> RunApiStore::run(std::int64_t id, bool withToken) {
  const auto row = db_.queryOne(kRunEntryColumns + std::string(", r.log_tail, r.token ") + kRunJoins +
                                    "WHERE r.id = ?",
                                {id});
  if (!row) return std::nullopt;
  RunEntry run = readEntry(*row);
  run.logTail = row->text(30);
  if (withToken) run.token = row->text(31);
  return run;
}

std::optional<RunApiStore::LogSource> RunApiStore::logSource(std::int64_t id) {
  const auto row = db_.queryOne("SELECT state, log_tail, output_file FROM {skynet_run} WHERE id = ?", {id});
  if (!row) return std::nullopt;
  return LogSource{row->text(0), row->text(1), row->text(2)};
}

std::optional<LockedRun> RunApiStore::lock(std::int64_t id) {
  const auto row = db_.queryOne("SELECT token, state, started, stopped, reported_start, reported_stop, cancel_requested,"
                                " exit_code, log_tail, worker_id FROM {skynet_run} WHERE id = ? FOR UPDATE",
                                {id});
  if (!row) return std::nullopt;
  LockedRun locked;
  locked.token = row->text(0);
  RunFacts& facts = locked.facts;
  facts.state = row->text(1);
  facts.started = optionalReal(*row, 2);
  facts.stopped = optionalReal(*row, 3);
  facts.reportedStart = optionalReal(*row, 4);
  facts.reportedStop = optionalReal(*row, 5);
  facts.cancelRequested = optionalReal(*row, 6);
  facts.exitCode = optionalSmall(*row, 7);
  facts.logTail = row->text(8);
  facts.daemonStarted = !row->isNull(9);
  return locked;
}

RunFacts RunApiStore::factsOf(const RunEntry& run) {
  RunFacts facts;
  facts.state = run.state;
  facts.started = run.started;
  facts.stopped = run.stopped;
  facts.reportedStart = run.reportedStart;
  facts.reportedStop = run.reportedStop;
  facts.cancelRequested = run.cancelRequested;
  facts.exitCode = run.exitCode;
  facts.logTail = run.logTail.value_or("");
  facts.daemonStarted = run.workerId.has_value();
  return facts;
}

namespace {
// One conditional update of a report; a deadlock (two reports updating the row and its state
// index at once) rolled it back, so it counts as "the run changed": read again, decide anew.
bool appliedOnce(db::Connection& db, const std::string& sql, const std::vector<db::Value>& params) {
  try {
    return db.execute(sql, params) == 1;
  } catch (const db::Error& error) {
    if (error.deadlock()) return false;
    throw;
  }
}
}  // namespace

bool RunApiStore::applyStart(std::int64_t id, double ts, bool setRunning, bool setReportedStart) {
  if (setRunning) {
    return appliedOnce(db_,
                       "UPDATE {skynet_run} SET state = 'running', started = ?, reported_start = ? "
                       "WHERE id = ? AND state = 'scheduled'",
                       {ts, ts, id});
  }
  if (!setReportedStart) return true;
  return appliedOnce(db_,
                     "UPDATE {skynet_run} SET reported_start = ? "
                     "WHERE id = ? AND state = 'running' AND worker_id IS NOT NULL AND reported_start IS NULL",
                     {ts, id});
}

bool RunApiStore::applyStop(std::int64_t id, const std::string& newState, const StopRequest& stop) {
  return appliedOnce(db_,
                     "UPDATE {skynet_run} SET state = ?, stopped = ?, reported_stop = ?, exit_code = ?, log_tail = ?"
                     " WHERE id = ? AND state = 'running'",
                     {newState, stop.ts, stop.ts, nullable(stop.exitCode), stop.logTail, id});
}

void RunApiStore::cancelNow(std::int64_t id, double now, const std::string& by) {
  db_.execute("UPDATE {skynet_run} SET state = 'cancelled', stopped = ?, cancel_requested = COALESCE(cancel_requested, ?),"
              " cancelled_by = ? WHERE id = ?",
              {now, now, by, id});
}

void RunApiStore::requestCancel(std::int64_t id, double now, const std::string& by) {
  db_.execute("UPDATE {skynet_run} SET cancel_requested = ?, cancelled_by = ? WHERE id = ?", {now, by, id});
}

std::int64_t RunApiStore::scheduleJob(const NewJob& job) {
  db_.execute("INSERT INTO {skynet_run} (kind, token, application_id, directory, command, state, schedule, queued_at,"
              " timeout, created, attempts) VALUES ('job', ?, ?, ?, ?, 'scheduled', ?, ?, ?, ?, 0)",
              {newToken(), job.applicationId, job.directory, job.command, job.schedule, job.schedule,
               nullable(job.timeout), job.created});
  return static_cast<std::int64_t>(db_.lastInsertId());
}

std::int64_t RunApiStore::countDue(double now) {
  return db_.queryOne("SELECT COUNT(*) FROM {skynet_run} WHERE kind = 'job' AND state = 'scheduled' AND schedule <= ?",
                      {now})
      ->integer(0);
}

std::int64_t RunApiStore::countRunning(const std::string& kind) {
  return db_.queryOne("SELECT COUNT(*) FROM {skynet_run} WHERE state = 'running' AND kind = ?", {kind})->integer(0);
}

std::vector<WorkerEntry> RunApiStore::workers(double since) {
  std::vector<WorkerEntry> workers;
  for (const auto& row : db_.query("SELECT id, host, pid, version, started, heartbeat, stopped FROM {skynet_worker}"
                                   " WHERE heartbeat >= ? ORDER BY id DESC LIMIT 100",
                                   {since})) {
    workers.push_back({row.integer(0), row.text(1), row.text(3), row.integer(2), row.real(4), row.real(5),
                       optionalReal(row, 6)});
  }
  return workers;
}

}  // namespace skynet::runs
