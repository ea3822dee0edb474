// What a batch of run records reads first: the lock table FOR UPDATE (when the batch claims) and
// the state of the tasks whose runs end in it. Both reads, and the batch transaction's START
// TRANSACTION, go to the server in one round trip (db::Connection::readAll): between a child's
// exit and the next spawn every round trip costs a wake-up of the daemon and of the server's
// thread, and these were three of the batch's nine. The states are one statement for all the
// ended tasks; the locks are their own statement (as one UNION ALL with a fixed number of
// placeholders, MariaDB prepared the union again at every execution). Only the lock table's rows
// are read FOR UPDATE, as lockAll() does; the states are plain reads, as TaskQueue::state() does.
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
