#include "daemon/scan_window.h"

#include <algorithm>

namespace skynet::daemon {

void ScanWindow::update(double now, std::int64_t from, bool complete, const std::vector<std::int64_t>& found,
                        std::int64_t maxVid, const std::vector<std::int64_t>& own) {
  if (from == 0) nextFullScan_ = now + kFullScanSeconds;
  maxima_.emplace_back(now, maxVid);
  // Keep one entry at least kLagSeconds old: the newest such is the one that counts.
  while (maxima_.size() > 1 && maxima_[1].first <= now - kLagSeconds) maxima_.pop_front();
  std::int64_t floor = maxima_.front().second + 1;
  if (!complete) floor = std::min(floor, floor_);  // rows past the limit were not seen
  for (auto vid : found) floor = std::min(floor, vid);
  for (auto vid : own) floor = std::min(floor, vid);
  floor_ = floor;
}

}  // namespace skynet::daemon
