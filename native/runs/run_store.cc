#include "runs/run_store.h"

#include <Poco/RandomStream.h>

#include <cstdio>

namespace skynet::runs {

std::string newToken() {
  Poco::RandomInputStream random;
  unsigned char bytes[16];
  random.read(reinterpret_cast<char*>(bytes), sizeof bytes);
  std::string hex;
  char digits[3];
  for (unsigned char byte : bytes) {
    std::snprintf(digits, sizeof digits, "%02x", byte);
    hex += digits;
  }
  return hex;
}

namespace {
db::Value optionalInt(const std::optional<int>& value) {
  return value ? db::Value(static_cast<std::int64_t>(*value)) : db::Value(nullptr);
}
}  // namespace

std::int64_t RunStore::startTaskRun(const TaskRunStart& start) {
  db_.execute("INSERT INTO {skynet_run} (kind, token, task_nid, task_vid, task_rid, task_type, command, state,"
              " started, worker_id, host, attempts, queued_at, timeout, created) "
              "VALUES ('task', ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?)",
              {newToken(), start.nid, start.vid, start.rid, start.type, start.command, start.started,
               start.workerId, start.host, static_cast<std::int64_t>(start.attempts), start.queuedAt,
               static_cast<std::int64_t>(start.timeout), start.started});
  return static_cast<std::int64_t>(db_.lastInsertId());
}

void RunStore::setProcess(std::int64_t runId, const RunProcess& process) {
  db_.execute("UPDATE {skynet_run} SET pid = ?, proc_start = ?, boot_id = ?, output_file = ?, started = ? "
              "WHERE id = ?",
              {process.pid, static_cast<std::int64_t>(process.procStart), process.bootId, process.outputFile,
               process.started, runId});
}

bool RunStore::finishRun(std::int64_t runId, const RunEnd& end) {
  db::Transaction transaction(db_);
  const bool wrote =
      db_.execute("UPDATE {skynet_run} SET state = ?, exit_code = ?, term_signal = ?, stopped = ?, message = ?,"
                  " log_tail = ? WHERE id = ? AND state = 'running'",
                  {end.state, optionalInt(end.exitCode), optionalInt(end.signal), end.stopped, end.message,
                   end.logTail, runId}) == 1;
  if (!wrote) {
    // A stop reported through the API came first: keep its state, add what only the daemon knows.
    db_.execute("UPDATE {skynet_run} SET exit_code = COALESCE(exit_code, ?), term_signal = ?,"
                " log_tail = IF(log_tail IS NULL OR log_tail = '', ?, log_tail) WHERE id = ?",
                {optionalInt(end.exitCode), optionalInt(end.signal), end.logTail, runId});
  }
  releaseLocks(runId);
  transaction.commit();
  return wrote;
}

void RunStore::rescheduleRun(std::int64_t runId, const std::string& message) {
  db::Transaction transaction(db_);
  db_.execute("UPDATE {skynet_run} SET state = 'scheduled', started = NULL, worker_id = NULL, pid = NULL,"
              " message = ? WHERE id = ? AND state = 'running'",
              {message, runId});
  releaseLocks(runId);
  transaction.commit();
}

void RunStore::lockGuard() { db_.query("SELECT rid FROM {skynet_lock} WHERE rid = 0 FOR UPDATE"); }

std::vector<SiteLock> RunStore::heldLocks() {
  std::vector<SiteLock> locks;
  for (const auto& row :
       db_.query("SELECT rid, exclusive, COALESCE(run_id, 0), COALESCE(worker_id, 0) FROM {skynet_lock} WHERE rid <> 0")) {
    locks.push_back({row.integer(0), row.integer(1) != 0, row.integer(2), row.integer(3)});
  }
  return locks;
}

void RunStore::takeLock(const SiteLock& lock, double now) {
  db_.execute("INSERT INTO {skynet_lock} (rid, exclusive, run_id, worker_id, taken) VALUES (?, ?, ?, ?, ?)",
              {lock.rid, static_cast<std::int64_t>(lock.exclusive ? 1 : 0), lock.runId, lock.workerId, now});
}

void RunStore::releaseLocks(std::int64_t runId) {
  db_.execute("DELETE FROM {skynet_lock} WHERE run_id = ? AND rid <> 0", {runId});
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
           "WHERE w.stopped IS NULL OR EXISTS (SELECT 1 FROM {skynet_run} r WHERE r.worker_id = w.id AND r.state = 'running') "
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
           " FROM {skynet_run} WHERE worker_id = ? AND state = 'running' ORDER BY id",
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
                                   "WHERE worker_id = ? AND state = 'running' AND cancel_requested IS NOT NULL",
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
  return readRuns(SKYNET_RUN_COLUMNS "WHERE state = 'running' ORDER BY id", {});
}

std::vector<RunRecord> RunStore::recentRuns(int limit) {
  return readRuns(SKYNET_RUN_COLUMNS "WHERE stopped IS NOT NULL ORDER BY stopped DESC, id DESC LIMIT ?",
                  {static_cast<std::int64_t>(limit)});
}

#undef SKYNET_RUN_COLUMNS

std::vector<WorkerRecord> RunStore::liveWorkers(double since) {
  std::vector<WorkerRecord> workers;
  for (const auto& row : db_.query("SELECT id, host, pid, version, started, heartbeat FROM {skynet_worker} "
                                   "WHERE stopped IS NULL AND heartbeat > ? ORDER BY id",
                                   {since})) {
    workers.push_back({row.integer(0), row.text(1), row.integer(2), row.text(3), row.real(4), row.real(5), false});
  }
  return workers;
}

}  // namespace skynet::runs
