// What a batch of run records reads first: the lock table FOR UPDATE (when the batch claims) and
// the state of the tasks whose runs end in it, in two statements. The states are one statement
// for all the ended tasks (read one by one, that was a round trip each, between a child's exit
// and the next spawn); the locks are read apart from them. As one UNION ALL with a fixed number
// of placeholders, MariaDB prepared the union again at every execution: sampled with perf under
// a daemon at concurrency 1, the daemon's reads were 11% of mariadbd's CPU that way and 6-7.5%
// as two statements, while the server's packet sending and reading (the extra round trip) rose
// by 0.2-2%. Only the lock table's rows are read FOR UPDATE, as lockAll() does; the states are
// plain reads, as TaskQueue::state() does.
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

// The states of at most this many tasks are read at once (a prepared statement for each number
// of tasks, so at most this many); the caller reads any others one by one.
constexpr std::size_t kBatchStatesAtOnce = 8;

// `taskNids`: at most kBatchStatesAtOnce. Reads nothing when neither part is asked for.
BatchStart readBatchStart(db::Connection& db, bool locks, const std::vector<std::int64_t>& taskNids);

}  // namespace skynet::daemon
