#include "support/aegir_fixture.h"

#include <ctime>
#include <fstream>
#include <stdexcept>

#include "support/sandbox.h"

namespace skynet::testing {

TaskRef AegirFixture::queueTask(std::int64_t rid, const std::string& type, const std::string& behaviour,
                                std::int64_t changed) {
  if (changed == 0) changed = static_cast<std::int64_t>(std::time(nullptr));
  const auto target = db_.queryOne("SELECT title FROM {node} WHERE nid = ?", {rid});
  std::string title = type;
  if (!title.empty()) title[0] = static_cast<char>(toupper(title[0]));
  title += ": " + (target ? target->text(0) : std::string("unknown"));
  db_.execute("INSERT INTO {node} (type, language, title, uid, status, created, changed) "
              "VALUES ('task', 'und', ?, 1, 1, ?, ?)",
              {title, changed, changed});
  const auto nid = static_cast<std::int64_t>(db_.lastInsertId());
  db_.execute("INSERT INTO {node_revision} (nid, uid, title, log, timestamp, status) VALUES (?, 1, ?, '', ?, 1)",
              {nid, title, changed});
  const auto vid = static_cast<std::int64_t>(db_.lastInsertId());
  db_.execute("UPDATE {node} SET vid = ? WHERE nid = ?", {vid, nid});
  db_.execute("INSERT INTO {hosting_task} (vid, nid, task_type, rid, task_status, executed, delta) "
              "VALUES (?, ?, ?, ?, 0, 0, 0)",
              {vid, nid, type, rid});
  if (!behaviour.empty()) {
    db_.execute("INSERT INTO {hosting_task_arguments} (vid, nid, name, value) VALUES (?, ?, 'sim_behaviour', ?)",
                {vid, nid, behaviour});
  }
  return {nid, vid};
}

TaskRow AegirFixture::current(std::int64_t nid) {
  const auto row = db_.queryOne("SELECT t.vid, t.task_status, t.executed, t.delta FROM {node} n "
                                "JOIN {hosting_task} t ON t.vid = n.vid WHERE n.nid = ?",
                                {nid});
  if (!row) return {};
  return {row->integer(0), static_cast<int>(row->integer(1)), row->integer(2), row->integer(3)};
}

int AegirFixture::statusOf(std::int64_t vid) {
  return static_cast<int>(db_.queryOne("SELECT task_status FROM {hosting_task} WHERE vid = ?", {vid})->integer(0));
}

std::int64_t AegirFixture::revisions(std::int64_t nid) {
  return db_.queryOne("SELECT COUNT(*) FROM {hosting_task} WHERE nid = ?", {nid})->integer(0);
}

std::vector<LogEntry> AegirFixture::log(std::int64_t vid) {
  std::vector<LogEntry> entries;
  for (const auto& row :
       db_.query("SELECT type, message, error FROM {hosting_task_log} WHERE vid = ? ORDER BY lid", {vid})) {
    entries.push_back({row.text(0), row.text(1), row.text(2)});
  }
  return entries;
}

void AegirFixture::setVariable(const std::string& name, const std::string& serialized) {
  db_.execute("REPLACE INTO {variable} (name, value) VALUES (?, ?)", {name, serialized});
}

std::int64_t AegirFixture::countWithStatus(int status) {
  return db_
      .queryOne("SELECT COUNT(*) FROM {hosting_task} t JOIN {node} n ON n.vid = t.vid WHERE t.task_status = ?",
                {static_cast<std::int64_t>(status)})
      ->integer(0);
}

void writeSimulatorHome(const std::string& home, const db::ConnectionParams& params) {
  std::string output;
  const std::string command = source("tests/aegir-sim/write-home") + " '" + home + "' '" + params.socket + "' '" +
                              params.database + "' '" + params.user + "' '" + params.password + "' '" +
                              params.prefix + "'";
  if (runCommand(command, &output) != 0) throw std::runtime_error("write-home failed: " + output);
}

std::vector<std::string> simulatorInvocations(const std::string& home) {
  std::vector<std::string> lines;
  std::ifstream in(home + "/.aegir-sim/invocations.log");
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

}  // namespace skynet::testing
