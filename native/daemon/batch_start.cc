#include "daemon/batch_start.h"

#include <stdexcept>

namespace skynet::daemon {

BatchStart readBatchStart(db::Connection& db, bool locks, const std::vector<std::int64_t>& taskNids) {
  if (taskNids.size() > kBatchStatesAtOnce) throw std::invalid_argument("readBatchStart: too many tasks at once");
  BatchStart start;
  std::vector<db::Connection::Sql> reads;
  if (locks) reads.push_back(runs::RunStore::lockAllRead());
  if (!taskNids.empty()) reads.push_back(aegir::TaskQueue::statesRead(taskNids));
  const auto results = db.readAll(reads);
  if (locks) start.locks = runs::RunStore::locksFrom(results.front());
  if (!taskNids.empty()) start.states = aegir::TaskQueue::statesFrom(results.back());
  return start;
}

}  // namespace skynet::daemon
