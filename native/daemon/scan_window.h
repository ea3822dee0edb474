// Where a poll starts reading queued revisions, so polls stay cheap on a database with a million
// historical task rows.
//
// Why: every task that ever ran leaves its queued revision behind at status 0 (hosting-task saves
// a new revision), so "status 0" alone matches half the table, and only the join on node.vid tells
// the current ones apart: a second or more per poll on a big site. But a revision that is not
// current never becomes current again, and a newly queued task always gets a higher vid than any
// existing row. So a poll may start at a floor: the lowest vid that can still be a queued current
// revision. The floor is the lowest of
//   - the queued revisions the last complete poll found,
//   - the revisions Skynet itself may hand back to the queue (running or waiting for a retry),
//   - one above the highest vid seen at least kLagSeconds ago (a node_save() transaction that
//     took a vid but commits a moment later is still found).
// Anything else (an administrator setting an old task back to 0 by hand) is found by a full scan
// every kFullScanSeconds.
#pragma once

#include <cstdint>
#include <deque>
#include <utility>
#include <vector>

namespace skynet::daemon {

class ScanWindow {
 public:
  static constexpr double kLagSeconds = 10;
  static constexpr double kFullScanSeconds = 300;

  // The vid the next poll starts from; 0 means a full scan.
  std::int64_t from(double now) const { return now >= nextFullScan_ ? 0 : floor_; }

  // After a poll at `now` that started at `from`: the vids it found (`complete`: not cut by its
  // limit), the highest vid in hosting_task, and the vids Skynet may give back to the queue.
  void update(double now, std::int64_t from, bool complete, const std::vector<std::int64_t>& found,
              std::int64_t maxVid, const std::vector<std::int64_t>& own);

 private:
  std::int64_t floor_ = 0;
  double nextFullScan_ = 0;
  std::deque<std::pair<double, std::int64_t>> maxima_;  // (when, highest vid), oldest first
};

}  // namespace skynet::daemon
