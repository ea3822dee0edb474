#include "daemon/batch_start.h"

#include <stdexcept>

namespace skynet::daemon {

BatchStart readBatchStart(db::Connection& db, bool locks, const std::vector<std::int64_t>& taskNids) {
  if (taskNids.size() > kBatchStatesAtOnce) throw std::invalid_argument("readBatchStart: too many tasks at once");
  BatchStart start;
  if (locks) start.locks = runs::RunStore(db).lockAll();
  start.states = aegir::TaskQueue(db).states(taskNids);
  return start;
}

}  // namespace skynet::daemon
