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
              " started, worker_id, host, attempts) "
              "VALUES ('task', ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?)",
              {newToken(), start.nid, start.vid, start.rid, start.type, start.command, start.started,
               start.workerId, start.host, static_cast<std::int64_t>(start.attempts)});
  return static_cast<std::int64_t>(db_.lastInsertId());
}

void RunStore::setProcess(std::int64_t runId, std::int64_t pid, const std::string& outputFile) {
  db_.execute("UPDATE {skynet_run} SET pid = ?, output_file = ? WHERE id = ?", {pid, outputFile, runId});
}

void RunStore::finishRun(std::int64_t runId, const RunEnd& end) {
  db_.execute("UPDATE {skynet_run} SET state = ?, exit_code = ?, term_signal = ?, stopped = ?, message = ?,"
              " log_tail = ? WHERE id = ?",
              {end.state, optionalInt(end.exitCode), optionalInt(end.signal), end.stopped, end.message,
               end.logTail, runId});
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
    workers.push_back({row.integer(0), row.text(1), row.integer(2), row.text(3), row.real(4), row.real(5)});
  }
  return workers;
}

}  // namespace skynet::runs
