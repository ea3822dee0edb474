#include "scheduler/policy.h"

namespace skynet::scheduler {

std::vector<aegir::QueuedTask> Policy::select(const QueueView& view) const {
  std::vector<aegir::QueuedTask> chosen;
  if (view.paused) return chosen;
  std::set<std::int64_t> takenSites = view.busySites;
  for (const auto& running : view.running) {
    if (running.exclusive) return chosen;
    takenSites.insert(running.rid);
  }
  int free = concurrency - static_cast<int>(view.running.size());
  for (const auto& task : view.queued) {
    if (free <= 0) break;
    const auto retry = view.retryAfter.find(task.nid);
    if (retry != view.retryAfter.end() && retry->second > view.now) {
      takenSites.insert(task.rid);  // keep the site's order: nothing of it overtakes this task
      continue;
    }
    if (takenSites.count(task.rid)) continue;
    if (isExclusive(task)) {
      // It runs alone: now if nothing else does, else it waits and holds back the tasks behind it.
      if (view.running.empty() && view.busySites.empty() && chosen.empty()) chosen.push_back(task);
      break;
    }
    chosen.push_back(task);
    takenSites.insert(task.rid);
    --free;
  }
  return chosen;
}

}  // namespace skynet::scheduler
