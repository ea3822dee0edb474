#include "daemon/batch_start.h"

#include <stdexcept>
#include <string>

namespace skynet::daemon {

BatchStart readBatchStart(db::Connection& db, bool locks, const std::vector<std::int64_t>& taskNids) {
  if (taskNids.size() > kBatchStatesAtOnce) throw std::invalid_argument("readBatchStart: too many tasks at once");
  BatchStart start;
  if (taskNids.empty()) {
    if (locks) start.locks = runs::RunStore(db).lockAll();
    return start;
  }
  // nid 0 is no node: the padding keeps the statement the same whatever the number of tasks.
  std::vector<db::Value> params(taskNids.begin(), taskNids.end());
  params.resize(kBatchStatesAtOnce, db::Value(static_cast<std::int64_t>(0)));
  // The first column tells the parts apart (0: a lock, 1: a task's state). UNION ALL runs each
  // part as it would run alone; FOR UPDATE applies to its own part only.
  const std::string states = aegir::TaskQueue::statesQuery(kBatchStatesAtOnce, "1, ");
  const std::string sql = locks ? "(" + runs::RunStore::lockAllQuery("0, ") + ") UNION ALL (" + states + ")" : states;
  if (locks) start.locks.emplace();
  for (const auto& row : db.query(sql, params)) {
    if (row.integer(0) == 0) start.locks->push_back(runs::RunStore::lockFrom(row, 1));
    else start.states.insert(aegir::TaskQueue::stateFrom(row, 1));
  }
  return start;
}

}  // namespace skynet::daemon
