// Which queued tasks to start now: a pure function of the queue, what runs, and the settings,
// so every rule can be tested without a database or a process.
//
// Rules (SPEC §3.3):
// - nothing starts while the queue is paused, or while an exclusive task runs;
// - at most `concurrency` of our tasks run at once;
// - never two tasks for one site (rid): not beside a running one, not two in one round;
// - a task whose rid is a node of an exclusive type (server, platform) runs with nothing beside
//   it, and while it waits for the others to finish, no later task overtakes it;
// - a task in retry backoff is skipped, and so are later tasks of its site, so that a site's
//   tasks still run in the order they were queued;
// - otherwise first in, first out.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "aegir/task_queue.h"

namespace skynet::scheduler {

struct RunningTask {
  std::int64_t nid = 0;
  std::int64_t rid = 0;
  bool exclusive = false;
};

struct QueueView {
  std::vector<aegir::QueuedTask> queued;      // oldest first
  std::vector<RunningTask> running;           // ours
  std::set<std::int64_t> busySites;           // rids processing under another runner
  std::map<std::int64_t, double> retryAfter;  // nid -> time before which it must not start
  double now = 0;
  bool paused = false;
};

struct Policy {
  int concurrency = 1;
  std::set<std::string> exclusiveTypes;

  bool isExclusive(const aegir::QueuedTask& task) const { return exclusiveTypes.count(task.targetType) > 0; }
  // The tasks to claim now, in the order to claim them.
  std::vector<aegir::QueuedTask> select(const QueueView& view) const;
};

}  // namespace skynet::scheduler
