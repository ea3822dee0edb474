#include "aegir/task_queue.h"

#include <algorithm>
#include <charconv>
#include <stdexcept>

#include "aegir/php_value.h"

namespace skynet::aegir {

namespace {
// hosting_task_count_running() counts a task as running for 8 hours after it started.
constexpr std::int64_t kAegirRunningWindow = 28800;

QueuedTask queuedTaskFrom(const db::Row& row) {
  return {row.integer(0), row.integer(1), row.integer(2), row.text(3), row.integer(4), row.text(5)};
}

bool tableExists(db::Connection& db, const std::string& table) {
  return db.queryOne("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
                     "AND TABLE_NAME = ?",
                     {db.prefix() + table})
             ->integer(0) > 0;
}

}  // namespace

namespace {
// The queued task's row: the revision, its node `n` (changed: queue order) and the target's type.
constexpr const char* kQueuedSelect = "SELECT t.nid, t.vid, t.rid, t.task_type, n.changed, COALESCE(r.type, '') ";

std::vector<QueuedTask> queuedTasks(db::Connection& db, const std::string& sql, const std::vector<db::Value>& params) {
  const auto rows = db.query(kQueuedSelect + sql, params);
  std::vector<QueuedTask> tasks;
  tasks.reserve(rows.size());
  for (const auto& row : rows) tasks.push_back(queuedTaskFrom(row));
  return tasks;
}
}  // namespace

std::vector<QueuedTask> TaskQueue::queuedAbove(std::int64_t fromVid, std::size_t limit) {
  return queuedTasks(db_,
                     "FROM {hosting_task} t JOIN {node} n ON n.vid = t.vid LEFT JOIN {node} r ON r.nid = t.rid "
                     "WHERE t.task_status = 0 AND t.vid > ? ORDER BY t.vid LIMIT ?",
                     {fromVid, static_cast<std::int64_t>(limit)});
}

std::vector<QueuedTask> TaskQueue::queuedBetween(std::int64_t first, std::int64_t second) {
  // From the current revisions in the range (node's vid index, which holds nid too: `cur` is
  // read from the index alone), then each one's hosting_task row; the node's row (`n`, for
  // changed) only for the few still queued. Joined on vid alone, as queuedAbove is, every
  // current revision of the range cost a read of its node row as well (a wide range: see
  // queuedInHistory).
  return queuedTasks(db_,
                     "FROM {node} cur JOIN {hosting_task} t ON t.vid = cur.vid JOIN {node} n ON n.nid = cur.nid "
                     "LEFT JOIN {node} r ON r.nid = t.rid "
                     "WHERE t.task_status = 0 AND cur.vid >= ? AND cur.vid < ? ORDER BY t.vid",
                     {first, second});
}

namespace {
// The vids of a GROUP_CONCAT list, sorted (the list follows the index but SQL does not promise it).
std::vector<std::int64_t> vidsFrom(const db::Row& row, std::size_t column) {
  std::vector<std::int64_t> vids;
  if (row.isNull(column)) return vids;
  const std::string list = row.text(column);
  const char* at = list.data();
  const char* const end = at + list.size();
  while (at < end) {
    std::int64_t vid = 0;
    const auto [next, error] = std::from_chars(at, end, vid);
    if (error != std::errc()) throw std::runtime_error("an unreadable vid list: " + list.substr(0, 80));
    vids.push_back(vid);
    at = next + 1;  // past the comma
  }
  if (!std::is_sorted(vids.begin(), vids.end())) std::sort(vids.begin(), vids.end());
  return vids;
}
}  // namespace

std::vector<QueuedTask> TaskQueue::queuedInHistory(std::int64_t first, std::int64_t second, VidDigest* atZero) {
  // Each list is read from its index alone, in vid order: the revisions at status 0 on the
  // task_status index ((task_status, vid); the primary key's range if that index is missing) and
  // the current revisions on node's vid index. Measured with 200,000 tasks of history (two
  // revisions each), a chunk of 5,000 vids cost MariaDB 2.0 ms of CPU as one join (a lookup of
  // hosting_task per current revision) and 0.74 ms this way; at idle the audit was half of what
  // the daemon cost the server. As lists, not rows: 5,000 rows a chunk cost the daemon more CPU
  // than the rest of its idle minute. One statement, so one snapshot.
  std::vector<QueuedTask> found;
  // A vid takes at most 10 digits and a comma (int unsigned), so a list stays within the session's
  // group_concat_max_len (db/connection.h).
  constexpr std::int64_t kVidsAtOnce = db::Connection::kGroupConcatAtLeast / 11;
  for (std::int64_t from = first; from < second; from += kVidsAtOnce) {
    const std::int64_t to = std::min(second, from + kVidsAtOnce);
    const auto row = db_.queryOne("SELECT (SELECT GROUP_CONCAT(vid) FROM {hosting_task} WHERE task_status = 0 "
                                  "AND vid >= ? AND vid < ?), (SELECT GROUP_CONCAT(vid) FROM {node} "
                                  "WHERE vid >= ? AND vid < ?)",
                                  {from, to, from, to});
    const auto atZeroHere = vidsFrom(*row, 0);
    if (atZero) {
      for (const auto vid : atZeroHere) atZero->add(vid);
    }
    std::vector<std::int64_t> both;
    for (const auto vid : vidsFrom(*row, 1)) {
      if (std::binary_search(atZeroHere.begin(), atZeroHere.end(), vid)) both.push_back(vid);
    }
    // Usually none; behind a backlog, the queued tasks of the chunk, read as one range.
    if (both.empty()) continue;
    for (auto& task : queuedBetween(both.front(), both.back() + 1)) found.push_back(std::move(task));
  }
  return found;
}

VidDigest TaskQueue::atZeroDigest(std::int64_t first, std::int64_t second) {
  // On a history of two revisions per task (one left at 0, one current at 1), a chunk of 5,000
  // vids cost MariaDB 0.35-0.55 ms this way and 0.98-1.39 ms as queuedInHistory's lists
  // (bench/run, part statements, three runs; 0.33 and 0.87 ms through the mariadb client).
  const auto row = db_.queryOne("SELECT COUNT(*), CAST(COALESCE(SUM(vid), 0) AS SIGNED), CAST(BIT_XOR(vid) AS SIGNED) "
                                "FROM {hosting_task} WHERE task_status = 0 AND vid >= ? AND vid < ?",
                                {first, second});
  VidDigest digest;
  digest.count = row->integer(0);
  digest.sum = row->integer(1);
  digest.bits = row->integer(2);
  return digest;
}

std::set<std::int64_t> TaskQueue::stillQueued(const std::vector<std::int64_t>& vids) {
  if (vids.size() > kStillQueuedAtOnce) throw std::invalid_argument("stillQueued: too many revisions at once");
  // Always the same number of placeholders (vid 0 is no revision): one prepared statement.
  std::vector<db::Value> params(vids.begin(), vids.end());
  params.resize(kStillQueuedAtOnce, db::Value(static_cast<std::int64_t>(0)));
  std::string marks;
  for (std::size_t i = 0; i < kStillQueuedAtOnce; ++i) marks += i ? ", ?" : "?";
  std::set<std::int64_t> queued;
  for (const auto& row : db_.query("SELECT t.vid FROM {hosting_task} t JOIN {node} n ON n.vid = t.vid "
                                   "WHERE t.task_status = 0 AND t.vid IN (" + marks + ")",
                                   params)) {
    queued.insert(row.integer(0));
  }
  return queued;
}

// On the (task_status, executed) index: only revisions at -1 executed within the window are
// read, however many older ones Aegir's runners (or a crash) left at -1.
const char* const TaskQueue::kProcessingSitesSubquery =
    "SELECT GROUP_CONCAT(DISTINCT t.rid) FROM {hosting_task} t JOIN {node} n ON n.vid = t.vid "
    "WHERE t.task_status = -1 AND t.executed > ?";

std::int64_t TaskQueue::processingSince(std::int64_t now) { return now - kAegirRunningWindow; }

std::set<std::int64_t> TaskQueue::sitesFrom(const std::string& list) {
  std::set<std::int64_t> sites;
  std::size_t at = 0;
  while (at < list.size()) {
    const auto comma = list.find(',', at);
    const auto item = list.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
    if (!item.empty()) sites.insert(std::stoll(item));
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  return sites;
}

std::set<std::int64_t> TaskQueue::processingSites(std::int64_t now) {
  const auto row = db_.queryOne(std::string("SELECT (") + kProcessingSitesSubquery + ")", {processingSince(now)});
  return sitesFrom(row->text(0));
}

std::int64_t TaskQueue::queueDepth() {
  return db_.queryOne("SELECT COUNT(*) FROM {hosting_task} t JOIN {node} n ON n.vid = t.vid "
                      "WHERE t.task_status = 0")
      ->integer(0);
}

db::Connection::Sql TaskQueue::claimSql(const QueuedTask& task, std::int64_t now) {
  return {"UPDATE {hosting_task} t JOIN {node} n ON n.vid = t.vid "
          "SET t.task_status = -1, t.executed = ? "
          "WHERE t.vid = ? AND t.nid = ? AND t.task_status = 0",
          {now, task.vid, task.nid}};
}

db::Connection::Sql TaskQueue::statesRead(const std::vector<std::int64_t>& nids) {
  std::string marks;
  for (std::size_t i = 0; i < nids.size(); ++i) marks += i ? ", ?" : "?";
  return {"SELECT n.nid, n.vid, t.task_status, t.executed FROM {node} n "
          "JOIN {hosting_task} t ON t.vid = n.vid WHERE n.nid IN (" + marks + ")",
          std::vector<db::Value>(nids.begin(), nids.end())};
}

std::map<std::int64_t, TaskState> TaskQueue::statesFrom(const std::vector<db::Row>& rows) {
  std::map<std::int64_t, TaskState> read;
  for (const auto& row : rows) {
    read[row.integer(0)] = {true, row.integer(1), static_cast<int>(row.integer(2, kQueued)), row.integer(3)};
  }
  return read;
}

std::map<std::int64_t, TaskState> TaskQueue::states(const std::vector<std::int64_t>& nids) {
  if (nids.empty()) return {};
  const auto read = statesRead(nids);
  return statesFrom(db_.query(read.sql, read.params));
}

TaskState TaskQueue::state(std::int64_t nid) {
  const auto read = states({nid});
  return read.empty() ? TaskState{} : read.begin()->second;
}

namespace {
constexpr const char* kReleaseSql = "UPDATE {hosting_task} SET task_status = 0 WHERE vid = ? AND task_status = -1";
}  // namespace

bool TaskQueue::release(std::int64_t vid) { return db_.execute(kReleaseSql, {vid}) == 1; }

std::optional<int> TaskQueue::finalizeAbandoned(std::int64_t nid, std::int64_t vid, const std::string& errorCode,
                                                const std::string& message, std::int64_t now,
                                                const std::string& logType) {
  db::Transaction transaction(db_);
  // Lock the row first: a hosting-task finishing at this very moment either finalized already
  // (and we leave its status alone) or cannot finalize until we commit.
  const auto current = db_.queryOne("SELECT task_status FROM {hosting_task} WHERE vid = ? FOR UPDATE", {vid});
  if (!current || current->integer(0, kQueued) != kProcessing) return std::nullopt;
  db_.execute("INSERT INTO {hosting_task_log} (vid, nid, type, message, error, timestamp) "
              "VALUES (?, ?, ?, ?, ?, ?)",
              {vid, nid, logType, message, errorCode, now});
  // hosting_task_parse_log(): any error or failed entry means ERROR, else any warning means WARNING.
  const auto counts = db_.queryOne(
      "SELECT SUM(type IN ('error', 'failed')), SUM(type = 'warning') FROM {hosting_task_log} WHERE vid = ?",
      {vid});
  const int status = counts->integer(0) > 0 ? kError : counts->integer(1) > 0 ? kWarning : kSuccess;
  db_.execute("UPDATE {hosting_task} SET task_status = ?, "
              "delta = IF(executed IS NULL OR (delta IS NOT NULL AND delta > 0), delta, GREATEST(? - executed, 0)) "
              "WHERE vid = ?",
              {static_cast<std::int64_t>(status), now, vid});
  transaction.commit();
  return status;
}

void TaskQueue::resetClaimedRevision(std::int64_t claimedVid, std::int64_t currentVid) {
  // The same single-table statement as release(): a join on node here, to check what the caller
  // has just read, cost the server a third more per task end.
  // Nobody reads its count: it goes with the transaction's next statement.
  if (currentVid != claimedVid) db_.executeLater(kReleaseSql, {claimedVid});
}

std::optional<bool> TaskQueue::flag(const std::string& variable, bool ifAbsent) {
  const auto row = db_.queryOne("SELECT value FROM {variable} WHERE name = ?", {variable});
  if (!row) return ifAbsent;
  return serializedTruth(row->text(0));
}

bool TaskQueue::holdCronSemaphore(const std::string& owner, double now, double ttl) {
  if (owner.rfind(kSkynetSemaphoreOwner, 0) != 0) {
    throw std::invalid_argument("a Skynet semaphore owner starts with \"skynet:\", not \"" + owner + "\"");
  }
  const double expire = now + ttl;
  // Held by a Skynet (this daemon or another on the database) or expired, whoever took it:
  // renew or take over in one statement. D7's lock_acquire breaks an expired lock the same way.
  if (db_.execute("UPDATE {semaphore} SET value = ?, expire = ? "
                  "WHERE name = ? AND (value LIKE 'skynet:%' OR expire < ?)",
                  {owner, expire, std::string(kCronSemaphore), now}) == 1) {
    return true;
  }
  // Absent: take it. A runner inserting at the same moment makes this insert a no-op.
  if (db_.execute("INSERT IGNORE INTO {semaphore} (name, value, expire) VALUES (?, ?, ?)",
                  {std::string(kCronSemaphore), owner, expire}) == 1) {
    return true;
  }
  // The update changed nothing (the same owner and expiry again), or someone else holds it.
  const auto row = db_.queryOne("SELECT value FROM {semaphore} WHERE name = ?", {std::string(kCronSemaphore)});
  return row && row->text(0) == owner;
}

void TaskQueue::releaseCronSemaphore(const std::string& owner) {
  db_.execute("DELETE FROM {semaphore} WHERE name = ? AND value = ?", {std::string(kCronSemaphore), owner});
}

std::optional<bool> TaskQueue::queuedModuleEnabled() {
  if (!tableExists(db_, "system")) return std::nullopt;
  return db_.queryOne("SELECT COUNT(*) FROM {system} WHERE name = 'hosting_queued' AND type = 'module' "
                      "AND status = 1")
             ->integer(0) > 0;
}

std::vector<std::string> TaskQueue::missingTables() {
  static const char* const kTables[] = {"hosting_task", "hosting_task_log", "hosting_task_arguments",
                                        "node",         "node_revision",    "variable",
                                        "semaphore"};
  std::vector<std::string> missing;
  for (const char* table : kTables) {
    if (!tableExists(db_, table)) missing.push_back(db_.prefix() + table);
  }
  return missing;
}

namespace {
struct SkynetIndex {
  const char* name;
  const char* columns;  // as in ADD INDEX
  const char* second;   // the column after task_status it needs; nullptr: any index on task_status
};
// (task_status): queued revisions from a vid on (InnoDB appends the primary key, vid).
// (task_status, executed): the busy sites, flat in the rows left at -1 long ago.
constexpr SkynetIndex kIndexes[] = {{"skynet_task_status", "task_status", nullptr},
                                    {"skynet_task_running", "task_status, executed", "executed"}};

bool indexMissing(db::Connection& db, const SkynetIndex& index) {
  if (!index.second) {
    return db.queryOne("SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() "
                       "AND TABLE_NAME = ? AND COLUMN_NAME = 'task_status' AND SEQ_IN_INDEX = 1",
                       {db.prefix() + "hosting_task"})
               ->integer(0) == 0;
  }
  return db.queryOne("SELECT COUNT(*) FROM information_schema.STATISTICS a JOIN information_schema.STATISTICS b "
                     "ON b.TABLE_SCHEMA = a.TABLE_SCHEMA AND b.TABLE_NAME = a.TABLE_NAME AND b.INDEX_NAME = a.INDEX_NAME "
                     "AND b.SEQ_IN_INDEX = 2 AND b.COLUMN_NAME = ? "
                     "WHERE a.TABLE_SCHEMA = DATABASE() AND a.TABLE_NAME = ? AND a.COLUMN_NAME = 'task_status' "
                     "AND a.SEQ_IN_INDEX = 1",
                     {std::string(index.second), db.prefix() + "hosting_task"})
             ->integer(0) == 0;
}
}  // namespace

void TaskQueue::ensureIndexes() {
  for (const auto& index : kIndexes) {
    if (!indexMissing(db_, index)) continue;
    try {
      db_.execute(std::string("ALTER TABLE {hosting_task} ADD INDEX ") + index.name + " (" + index.columns + ")");
    } catch (const db::Error& error) {
      if (error.code() != 1061) throw;  // ER_DUP_KEYNAME: another daemon added it a moment ago
    }
  }
}

bool TaskQueue::statusIndexMissing() {
  for (const auto& index : kIndexes) {
    if (indexMissing(db_, index)) return true;
  }
  return false;
}

}  // namespace skynet::aegir
