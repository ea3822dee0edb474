#include "scheduler/policy.h"

#include <gtest/gtest.h>

namespace skynet::scheduler {
namespace {

aegir::QueuedTask task(std::int64_t nid, std::int64_t rid, const std::string& targetType = "site") {
  aegir::QueuedTask t;
  t.nid = nid;
  t.vid = nid + 1000;
  t.rid = rid;
  t.type = "verify";
  t.targetType = targetType;
  return t;
}

std::vector<std::int64_t> nids(const std::vector<aegir::QueuedTask>& tasks) {
  std::vector<std::int64_t> out;
  for (const auto& t : tasks) out.push_back(t.nid);
  return out;
}

Policy policy(int concurrency) {
  Policy p;
  p.concurrency = concurrency;
  p.exclusiveTypes = {"server", "platform"};
  return p;
}

TEST(Policy, TakesTasksFirstInFirstOut) {
  QueueView view;
  view.queued = {task(5, 10), task(3, 11), task(9, 12)};
  EXPECT_EQ(nids(policy(2).select(view)), (std::vector<std::int64_t>{5, 3}));
}

TEST(Policy, RunsOneTaskAtATimeByDefault) {
  QueueView view;
  view.queued = {task(1, 10), task(2, 11)};
  EXPECT_EQ(nids(policy(1).select(view)), (std::vector<std::int64_t>{1}));
  view.running = {{1, 10, false}};
  view.queued = {task(2, 11)};
  EXPECT_TRUE(policy(1).select(view).empty());
}

TEST(Policy, NeverRunsTwoTasksForOneSite) {
  QueueView view;
  view.queued = {task(1, 10), task(2, 10), task(3, 11)};
  EXPECT_EQ(nids(policy(4).select(view)), (std::vector<std::int64_t>{1, 3}));
  view.running = {{1, 10, false}};
  view.queued = {task(2, 10), task(3, 11)};
  EXPECT_EQ(nids(policy(4).select(view)), (std::vector<std::int64_t>{3}));
}

TEST(Policy, LeavesSitesAloneThatAnotherRunnerIsProcessing) {
  QueueView view;
  view.queued = {task(1, 10), task(2, 11)};
  view.busySites = {10};
  EXPECT_EQ(nids(policy(4).select(view)), (std::vector<std::int64_t>{2}));
}

TEST(Policy, RunsAnExclusiveTaskAlone) {
  QueueView view;
  view.queued = {task(1, 2, "platform"), task(2, 10), task(3, 11)};
  EXPECT_EQ(nids(policy(4).select(view)), (std::vector<std::int64_t>{1}));
  view.running = {{1, 2, true}};
  view.queued = {task(2, 10), task(3, 11)};
  EXPECT_TRUE(policy(4).select(view).empty());
}

TEST(Policy, ExclusiveTaskWaitsForRunningOnesAndHoldsBackLaterTasks) {
  QueueView view;
  view.running = {{1, 10, false}};
  view.queued = {task(2, 1, "server"), task(3, 11)};
  EXPECT_TRUE(policy(4).select(view).empty());
  // Tasks queued before it still start.
  view.queued = {task(4, 12), task(2, 1, "server"), task(3, 11)};
  EXPECT_EQ(nids(policy(4).select(view)), (std::vector<std::int64_t>{4}));
}

TEST(Policy, StartsNothingWhilePaused) {
  QueueView view;
  view.queued = {task(1, 10)};
  view.paused = true;
  EXPECT_TRUE(policy(4).select(view).empty());
}

TEST(Policy, SkipsTaskInBackoffAndKeepsItsSiteInOrder) {
  QueueView view;
  view.now = 100;
  view.queued = {task(1, 10), task(2, 10), task(3, 11)};
  view.retryAfter = {{1, 150}};
  EXPECT_EQ(nids(policy(4).select(view)), (std::vector<std::int64_t>{3}));
  view.now = 151;
  EXPECT_EQ(nids(policy(4).select(view)), (std::vector<std::int64_t>{1, 3}));
}

TEST(Policy, FillsOnlyFreeSlots) {
  QueueView view;
  view.running = {{1, 10, false}, {2, 11, false}};
  view.queued = {task(3, 12), task(4, 13), task(5, 14)};
  EXPECT_EQ(nids(policy(3).select(view)), (std::vector<std::int64_t>{3}));
}

}  // namespace
}  // namespace skynet::scheduler
