#include "daemon/queue_mirror.h"

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <unordered_set>

namespace skynet::daemon {

QueueMirror::Read QueueMirror::nextRead(double now, std::int64_t maxVid) {
  maxima_.emplace_back(now, maxVid);
  // Keep one entry at least kLagSeconds old: the newest such is the one that counts.
  while (maxima_.size() > 1 && maxima_[1].first <= now - kLagSeconds) maxima_.pop_front();
  pendingMax_ = maxVid;
  Read read;
  if (now - lastLaggedRead_ >= kLaggedReadEvery) {
    read.from = std::min(readTo_, maxima_.front().second);
    lagFloor_ = read.from;
    lastLaggedRead_ = now;
  } else {
    read.from = readTo_;
  }
  const std::size_t room = size() >= kCapacity ? 0 : kCapacity - size();
  if (room == 0) return read;  // full: the window waits, nothing is skipped
  if (read.from >= maxVid) return read;  // nothing above it
  const auto known = static_cast<std::size_t>(std::distance(byVid_.upper_bound(read.from), byVid_.end()));
  read.limit = room + known;
  return read;
}

void QueueMirror::applyRead(const Read& read, const std::vector<aegir::QueuedTask>& rows) {
  if (read.limit == 0) return;
  const bool complete = rows.size() < read.limit;
  // What the read covered and did not return is no longer queued (claimed or cancelled by someone).
  const std::int64_t coveredTo = complete || rows.empty() ? INT64_MAX : rows.back().vid;
  std::unordered_set<std::int64_t> found;
  for (const auto& row : rows) found.insert(row.vid);
  std::vector<std::int64_t> gone;
  for (auto it = byVid_.upper_bound(read.from); it != byVid_.end() && it->first <= coveredTo; ++it) {
    if (!found.count(it->first)) gone.push_back(it->first);
  }
  for (auto vid : gone) remove(vid);
  for (const auto& row : rows) add(row);
  const std::int64_t reached = complete ? pendingMax_ : rows.back().vid;
  readTo_ = std::max(readTo_, reached);
}

std::pair<std::int64_t, std::int64_t> QueueMirror::auditRange(double now, double cycleAtLeast) const {
  if (now - lastAudit_ < kAuditEverySeconds) return {0, 0};
  if (auditStartsAWalk() && now - lastWalkStart_ < cycleAtLeast) return {0, 0};
  // The history is what lies at or below the read window's start.
  const std::int64_t top = auditStartsAWalk() ? lagFloor_ + 1 : auditTop_;
  if (top <= 1) return {0, 0};
  // Chunks start at multiples of kAuditChunk, so that each walk reads the same ones and a chunk's
  // digest can be compared with the last walk's; only a walk's first chunk ends where the history
  // ends now.
  return {std::max<std::int64_t>(1, (top - 1) / kAuditChunk * kAuditChunk), top};
}

std::optional<aegir::VidDigest> QueueMirror::quietDigest(std::pair<std::int64_t, std::int64_t> range) const {
  const auto found = quietChunks_.find(range.first);
  if (found == quietChunks_.end() || found->second.first != range.second) return std::nullopt;
  return found->second.second;
}

void QueueMirror::applyAudit(double now, std::pair<std::int64_t, std::int64_t> range,
                             const std::vector<aegir::QueuedTask>& rows, const aegir::VidDigest& atZero) {
  if (range.first >= range.second) return;
  if (rows.empty()) quietChunks_[range.first] = {range.second, atZero};
  else quietChunks_.erase(range.first);
  passAudit(now, range);
  std::unordered_set<std::int64_t> found;
  for (const auto& row : rows) found.insert(row.vid);
  std::vector<std::int64_t> gone;
  for (auto it = byVid_.lower_bound(range.first); it != byVid_.end() && it->first < range.second; ++it) {
    if (!found.count(it->first)) gone.push_back(it->first);
  }
  for (auto vid : gone) remove(vid);
  for (const auto& row : rows) {
    if (contains(row.vid) || size() < kCapacity) add(row);
  }
}

void QueueMirror::auditUnchanged(double now, std::pair<std::int64_t, std::int64_t> range) {
  if (range.first < range.second) passAudit(now, range);
}

void QueueMirror::passAudit(double now, std::pair<std::int64_t, std::int64_t> range) {
  lastAudit_ = now;
  if (auditStartsAWalk()) lastWalkStart_ = now;
  auditTop_ = range.first <= 1 ? -1 : range.first;  // -1: start at the top again
}

void QueueMirror::add(const aegir::QueuedTask& task) {
  remove(task.vid);
  byVid_[task.vid] = task;
  order_.insert(keyOf(task));
  bySite_[task.rid].insert(keyOf(task));
}

void QueueMirror::remove(std::int64_t vid) {
  auto found = byVid_.find(vid);
  if (found == byVid_.end()) return;
  const Key key = keyOf(found->second);
  order_.erase(key);
  auto site = bySite_.find(found->second.rid);
  if (site != bySite_.end()) {
    site->second.erase(key);
    if (site->second.empty()) bySite_.erase(site);
  }
  byVid_.erase(found);
}

std::vector<std::int64_t> QueueMirror::head(std::size_t count) const {
  std::vector<std::int64_t> vids;
  for (auto it = order_.begin(); it != order_.end() && vids.size() < count; ++it) vids.push_back(std::get<2>(*it));
  return vids;
}

std::vector<aegir::QueuedTask> QueueMirror::view(std::size_t oldest) const {
  // Both lists sorted in queue order, merged without repeats: no tree is built on every turn.
  std::vector<Key> head;
  head.reserve(std::min(oldest, order_.size()));
  for (auto it = order_.begin(); it != order_.end() && head.size() < oldest; ++it) head.push_back(*it);
  std::vector<Key> firsts;
  firsts.reserve(bySite_.size());
  for (const auto& [rid, keys] : bySite_) firsts.push_back(*keys.begin());
  std::sort(firsts.begin(), firsts.end());
  std::vector<Key> shown;
  shown.reserve(head.size() + firsts.size());
  std::set_union(head.begin(), head.end(), firsts.begin(), firsts.end(), std::back_inserter(shown));
  std::vector<aegir::QueuedTask> tasks;
  tasks.reserve(shown.size());
  for (const auto& key : shown) tasks.push_back(byVid_.at(std::get<2>(key)));
  return tasks;
}

}  // namespace skynet::daemon
