#include "scheduler/policy.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <string>

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

// The daemon shows the policy only the first queued task of each site (daemon/queue_mirror.h,
// view(0)): a task behind its site's first can never be picked, since the first is picked (the
// site is then taken), skipped for its site or its retry (which takes the site), stops the round
// as an exclusive task that waits, or is not reached. Whatever the queue, the picks must be the
// same as from the whole queue.
TEST(Policy, PicksTheSameFromEachSitesFirstTaskAsFromTheWholeQueue) {
  std::mt19937 random(20261207);
  auto below = [&](int n) { return static_cast<int>(random() % static_cast<unsigned>(n)); };
  for (int round = 0; round < 5000; ++round) {
    const int sites = 1 + below(6);
    std::map<std::int64_t, std::string> typeOf;
    for (std::int64_t rid = 10; rid < 10 + sites; ++rid) typeOf[rid] = below(8) == 0 ? "platform" : "site";
    QueueView whole;
    const int queued = below(30);
    for (std::int64_t nid = 1; nid <= queued; ++nid) {
      const std::int64_t rid = 10 + below(sites);
      whole.queued.push_back(task(nid, rid, typeOf[rid]));
      if (below(6) == 0) whole.retryAfter[nid] = below(2) == 0 ? 50.0 : 150.0;
    }
    whole.now = 100;
    for (std::int64_t rid = 10; rid < 10 + sites; ++rid) {
      if (below(5) == 0) whole.running.push_back({900 + rid, rid, typeOf[rid] != "site"});
      else if (below(6) == 0) whole.busySites.insert(rid);
    }
    whole.paused = below(20) == 0;
    QueueView firsts = whole;
    firsts.queued.clear();
    std::set<std::int64_t> seen;
    for (const auto& t : whole.queued) {
      if (seen.insert(t.rid).second) firsts.queued.push_back(t);
    }
    const Policy chooser = policy(1 + below(5));
    ASSERT_EQ(nids(chooser.select(firsts)), nids(chooser.select(whole))) << "round " << round;
  }
}

}  // namespace
}  // namespace skynet::scheduler
