// Aegir's task queue: the one place that holds SQL about hosting_task, hosting_task_log, node,
// node_revision, variable, semaphore and system (reference/aegir.md §2–3).
//
// A task is a node; each save of it as a new revision adds a hosting_task row, and the current
// one is the row whose vid equals node.vid. Older revisions keep their old status (a queued
// revision stays at 0 after hosting-task has taken the task on a new one), so every query here
// joins on the current revision.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "db/connection.h"

namespace skynet::aegir {

// HOSTING_TASK_* (hosting_task.module).
enum TaskStatus : int { kProcessing = -1, kQueued = 0, kSuccess = 1, kError = 2, kWarning = 3 };

struct QueuedTask {
  std::int64_t nid = 0;
  std::int64_t vid = 0;   // the queued revision, which a claim takes
  std::int64_t rid = 0;   // the site, platform or server node it acts on
  std::string type;       // verify, install, backup, ...
  std::int64_t changed = 0;
  std::string targetType;  // node type of rid: site, platform, server
};

// A set of revisions in brief: how many, and their vids' sum and XOR. Two readings of one vid
// range with equal digests hold the same set, but for a change that keeps all three: adding or
// removing revisions changes the count, and swapping one for another changes the sum unless a
// second swap makes up for it exactly, in sum and in XOR.
struct VidDigest {
  std::int64_t count = 0, sum = 0, bits = 0;
  void add(std::int64_t vid) {
    ++count;
    sum += vid;
    bits ^= vid;
  }
  bool operator==(const VidDigest& other) const {
    return count == other.count && sum == other.sum && bits == other.bits;
  }
  bool operator!=(const VidDigest& other) const { return !(*this == other); }
};

// The task as its current revision shows it.
struct TaskState {
  bool exists = false;
  std::int64_t currentVid = 0;
  int status = 0;
  std::int64_t executed = 0;
};

class TaskQueue {
 public:
  explicit TaskQueue(db::Connection& connection) : db_(connection) {}

  // Queued tasks (current revisions at status 0) with a vid above `fromVid`, in vid order, at
  // most `limit`: what is new since a poll (daemon/queue_mirror.h). On the task_status index
  // from `fromVid`, so flat in the history below it.
  std::vector<QueuedTask> queuedAbove(std::int64_t fromVid, std::size_t limit);
  // Every queued task with a vid in [first, second): the re-read of one revision Skynet handed
  // back.
  std::vector<QueuedTask> queuedBetween(std::int64_t first, std::int64_t second);
  // The same for a wide range that is mostly history: the audit of one chunk (daemon/queue_mirror.h).
  // One statement lists the vids of the range at status 0 and those current, each from an index
  // range alone, and only the vids in both are then read as queuedBetween reads them: the chunk
  // costs no lookup per revision. A task that changes before that read is found as it is then.
  // `atZero`, if given, receives the digest of the revisions at status 0 the lists held.
  std::vector<QueuedTask> queuedInHistory(std::int64_t first, std::int64_t second, VidDigest* atZero = nullptr);
  // The digest of the revisions of [first, second) at status 0, current or not, as
  // queuedInHistory reports it: one aggregate on the task_status index, no list to send. The
  // audit reads a chunk again only when this changed since a reading found nothing queued there.
  VidDigest atZeroDigest(std::int64_t first, std::int64_t second);
  // Which of `vids` (at most kStillQueuedAtOnce) are still queued current revisions.
  static constexpr std::size_t kStillQueuedAtOnce = 16;
  std::set<std::int64_t> stillQueued(const std::vector<std::int64_t>& vids);
  // Sites (rids) with a task in processing on its current revision, whoever runs it. Rows older
  // than Aegir's own 8-hour window (hosting_task_count_running) count as abandoned, not busy, and
  // are not read (the (task_status, executed) index).
  std::set<std::int64_t> processingSites(std::int64_t now);
  // The same as one scalar subquery (the rids comma-separated, NULL for none), for the poll's
  // probe to read beside other things when the queue holds tasks (daemon/poll_probe.h): its one
  // parameter is processingSince(now), and sitesFrom() reads its value.
  static const char* const kProcessingSitesSubquery;
  static std::int64_t processingSince(std::int64_t now);
  static std::set<std::int64_t> sitesFrom(const std::string& list);
  std::int64_t queueDepth();

  // The claim: 0 -> -1 on the queued revision, only while it is still current and queued.
  // Atomic against other daemons and Aegir's runners; it took the task when it affected one row.
  // It also sets `executed`, so other daemons count the site as busy (kProcessingSitesSubquery) during
  // the seconds before hosting-task saves its own revision. Sent with the run record's insert
  // (db::Connection::executeAll, as Dispatcher::claimTasksIn does).
  static db::Connection::Sql claimSql(const QueuedTask& task, std::int64_t now);
  TaskState state(std::int64_t nid);
  // The same for several tasks in one statement, by nid; a task whose node is gone is absent.
  // One prepared statement per number of nids: callers keep that number small and bounded.
  std::map<std::int64_t, TaskState> states(const std::vector<std::int64_t>& nids);
  // states() as a read to run with others (db::Connection::readAll), and its rows as states.
  static db::Connection::Sql statesRead(const std::vector<std::int64_t>& nids);
  static std::map<std::int64_t, TaskState> statesFrom(const std::vector<db::Row>& rows);
  // Gives back a claim hosting-task never took (-1 -> 0 on that same revision).
  bool release(std::int64_t vid);
  // Once hosting-task has saved its own revision, the claimed (older) revision goes back from
  // -1 to 0, as Aegir's own runners leave it: Aegir's queue page counts -1 rows without joining
  // on node.vid. Only when that revision is no longer the node's current one (`currentVid`, as
  // the caller read it in its transaction: a node's vid only moves on to newer revisions, so a
  // claimed revision once superseded stays superseded) and still at -1.
  void resetClaimedRevision(std::int64_t claimedVid, std::int64_t currentVid);
  // A hosting-task that died before finalizing: writes an `error` entry saying why into
  // hosting_task_log and sets the status by Aegir's rule (any error entry means failed).
  // Returns the status written, or nullopt when the task was no longer processing.
  // `logType` is the entry's type: error (the task failed) or warning (Aegir's own cancel writes one).
  std::optional<int> finalizeAbandoned(std::int64_t nid, std::int64_t vid, const std::string& errorCode,
                                       const std::string& message, std::int64_t now,
                                       const std::string& logType = "error");


  // A Drupal variable read as a flag: `ifAbsent` when there is no row, nullopt when the stored
  // value is not a serialized scalar.
  std::optional<bool> flag(const std::string& variable, bool ifAbsent);
  // hosting_skynet_paused (absent: not paused).
  std::optional<bool> paused() { return flag("hosting_skynet_paused", false); }
  // hosting_queue_tasks_enabled: Aegir's cron runner takes tasks too (absent: Drupal's default, on).
  std::optional<bool> cronQueueEnabled() { return flag("hosting_queue_tasks_enabled", true); }

  // Drupal's semaphore hosting_queue_tasks_running (D7 lock protocol: a row (name, value =
  // owner, expire)), which Aegir's cron runner and hosting-queued take before running tasks.
  // holdCronSemaphore() takes it when absent or expired, renews it (value = `owner`, expire =
  // now + ttl) when any Skynet owner holds it, and returns false, leaving it alone, while
  // Aegir's own runner holds it unexpired. `owner` must start with kSkynetSemaphoreOwner.
  static constexpr const char* kCronSemaphore = "hosting_queue_tasks_running";
  static constexpr const char* kSkynetSemaphoreOwner = "skynet:";
  bool holdCronSemaphore(const std::string& owner, double now, double ttl);
  // Deletes the semaphore only when `owner` holds it.
  void releaseCronSemaphore(const std::string& owner);
  // Whether the module hosting_queued (Aegir's PHP queue daemon) is enabled; nullopt when the
  // database has no Drupal system table.
  std::optional<bool> queuedModuleEnabled();

  // Aegir tables this database lacks (empty when it is a hostmaster database).
  std::vector<std::string> missingTables();
  // Skynet's own indexes on hosting_task, (task_status) and (task_status, executed), each added
  // once when missing (an index on task_status, or on task_status then executed, serves).
  void ensureIndexes();
  // Whether ensureIndexes() would add one: queued then needs ALTER on hosting_task.
  bool statusIndexMissing();

 private:
  db::Connection& db_;
};

}  // namespace skynet::aegir
