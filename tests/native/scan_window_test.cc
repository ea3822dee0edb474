#include "daemon/scan_window.h"

#include <gtest/gtest.h>

namespace skynet::daemon {
namespace {

TEST(ScanWindow, StartsWithAFullScan) {
  ScanWindow window;
  EXPECT_EQ(window.from(1000), 0);
}

TEST(ScanWindow, NextPollStartsAtTheOldestQueuedRevisionFound) {
  ScanWindow window;
  window.update(1000, 0, true, {700, 650, 900}, 950, {});
  EXPECT_EQ(window.from(1001), 650);
}

TEST(ScanWindow, StartsAboveTheHighestRevisionWhenNothingIsQueued) {
  ScanWindow window;
  window.update(1000, 0, true, {}, 950, {});
  EXPECT_EQ(window.from(1001), 951);
}

TEST(ScanWindow, KeepsRevisionsSkynetMayHandBack) {
  ScanWindow window;
  window.update(1000, 0, true, {}, 950, {400, 800});
  EXPECT_EQ(window.from(1001), 400);
}

TEST(ScanWindow, MovesUpOnlyWithAMaximumSeenLongEnoughAgo) {
  ScanWindow window;
  window.update(1000, 0, true, {}, 950, {});
  window.update(1001, 951, true, {}, 990, {});
  // 990 was seen only 1 s ago: a transaction holding vid 960 may not have committed yet.
  EXPECT_EQ(window.from(1002), 951);
  window.update(1000 + ScanWindow::kLagSeconds + 2, 951, true, {}, 995, {});
  EXPECT_EQ(window.from(1000 + ScanWindow::kLagSeconds + 3), 991);
}

TEST(ScanWindow, DoesNotMoveUpPastRowsAPollCutOff) {
  ScanWindow window;
  window.update(1000, 0, true, {500}, 950, {});
  window.update(1000 + ScanWindow::kLagSeconds + 1, 500, false, {700, 800}, 960, {});
  EXPECT_EQ(window.from(1000 + ScanWindow::kLagSeconds + 2), 500);
}

TEST(ScanWindow, ScansEverythingAgainPeriodically) {
  ScanWindow window;
  window.update(1000, 0, true, {}, 950, {});
  EXPECT_EQ(window.from(1000 + ScanWindow::kFullScanSeconds - 1), 951);
  EXPECT_EQ(window.from(1000 + ScanWindow::kFullScanSeconds), 0);
}

}  // namespace
}  // namespace skynet::daemon
