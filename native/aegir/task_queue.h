// Aegir's task queue: the one place that holds SQL about hosting_task, hosting_task_log, node
// and variable (reference/aegir.md §2–3).
//
// A task is a node; each save of it as a new revision adds a hosting_task row, and the current
// one is the row whose vid equals node.vid. Older revisions keep their old status (a queued
// revision stays at 0 after hosting-task has taken the task on a new one), so every query here
// joins on the current revision.
#pragma once

#include <cstdint>
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

  // Queued tasks, oldest first by node.changed, then nid; current revisions only; from
  // revision `fromVid` on (see daemon/scan_window.h).
  std::vector<QueuedTask> queued(std::size_t limit, std::int64_t fromVid = 0);
  // The highest revision in hosting_task (0 when empty).
  std::int64_t maxVid();
  // Sites (rids) with a task in processing on its current revision, whoever runs it. Rows older
  // than Aegir's own 8-hour window (hosting_task_count_running) count as abandoned, not busy.
  std::set<std::int64_t> processingSites(std::int64_t now);
  std::int64_t queueDepth();

  // The claim: 0 -> -1 on the queued revision, only while it is still current and queued.
  // Atomic against other daemons and Aegir's runners; true when this call took the task.
  // It also sets `executed`, so other daemons count the site as busy (processingSites) during
  // the seconds before hosting-task saves its own revision.
  bool claim(const QueuedTask& task, std::int64_t now);
  TaskState state(std::int64_t nid);
  // Gives back a claim hosting-task never took (-1 -> 0 on that same revision).
  bool release(std::int64_t vid);
  // A hosting-task that died before finalizing: writes an `error` entry saying why into
  // hosting_task_log and sets the status by Aegir's rule (any error entry means failed).
  // Returns the status written, or nullopt when the task was no longer processing.
  // `logType` is the entry's type: error (the task failed) or warning (Aegir's own cancel writes one).
  std::optional<int> finalizeAbandoned(std::int64_t nid, std::int64_t vid, const std::string& errorCode,
                                       const std::string& message, std::int64_t now,
                                       const std::string& logType = "error");
  // The queued tasks a poll considers (see queued()).
  std::vector<QueuedTask> candidates(std::size_t oldest, std::int64_t fromVid) { return queued(oldest, fromVid); }
  // Once hosting-task saved its own revision, the claimed one goes back from -1 to 0, as Aegir's
  // own runners leave it (Aegir's queue page counts -1 rows without the node.vid join).
  void resetClaimedRevision(std::int64_t claimedVid);

  // A Drupal variable read as a flag: `ifAbsent` when there is no row, nullopt when the stored
  // value is not a serialized scalar.
  std::optional<bool> flag(const std::string& variable, bool ifAbsent);
  // hosting_skynet_paused (absent: not paused).
  std::optional<bool> paused() { return flag("hosting_skynet_paused", false); }
  // hosting_queue_tasks_enabled: Aegir's cron runner takes tasks too (absent: Drupal's default, on).
  std::optional<bool> cronQueueEnabled() { return flag("hosting_queue_tasks_enabled", true); }

  // Aegir tables this database lacks (empty when it is a hostmaster database).
  std::vector<std::string> missingTables();
  // Skynet's own index on hosting_task (task_status), added once when missing.
  void ensureIndexes();

 private:
  db::Connection& db_;
};

}  // namespace skynet::aegir
