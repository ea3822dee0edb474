// What a batch of run records reads first, in one statement: the lock table FOR UPDATE (when the
// batch claims) and the state of the tasks whose runs end in it. Read one by one, that was a
// round trip for the locks and one for each ended task, between a child's exit and the next
// spawn. The part read FOR UPDATE locks only the lock table's rows, as lockAll() does; the
// states are plain reads, as TaskQueue::state() does.
//
// Threading: a plain function of the connection it is given, called inside the batch's
// transaction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "aegir/task_queue.h"
#include "db/connection.h"
#include "runs/run_store.h"

namespace skynet::daemon {

struct BatchStart {
  // RunStore::lockAll(); nullopt when not asked for.
  std::optional<std::vector<runs::SiteLock>> locks;
  // TaskQueue::state() of the tasks asked for, by nid; a task whose node is gone is absent.
  std::map<std::int64_t, aegir::TaskState> states;
};

// The states of at most this many tasks are read at once (always this many placeholders: one
// prepared statement); the caller reads any others one by one.
constexpr std::size_t kBatchStatesAtOnce = 8;

// `taskNids`: at most kBatchStatesAtOnce. Reads nothing when neither part is asked for.
BatchStart readBatchStart(db::Connection& db, bool locks, const std::vector<std::int64_t>& taskNids);

}  // namespace skynet::daemon
