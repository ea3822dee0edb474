#include "aegir/task_queue.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <optional>
#include <thread>

#include "daemon/batch_start.h"
#include "daemon/poll_probe.h"
#include "daemon/queue_mirror.h"
#include "runs/run_store.h"
#include "runs/schema.h"
#include "support/aegir_fixture.h"
#include "support/sandbox.h"
#include "support/test_site.h"
#include "util/utf8.h"

namespace skynet::aegir {
namespace {

using testing::AegirFixture;
using testing::Sandbox;

// The claim as the daemon sends it (with its run record's insert, Dispatcher::claimTasksIn).
bool claimTask(db::Connection& connection, const QueuedTask& task, std::int64_t now) {
  return connection.executeAll({TaskQueue::claimSql(task, now)}).at(0).affected == 1;
}

std::string databaseName() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = std::string("q_") + info->name();
  return name.substr(0, 60);
}

// The sum of the session's handler counters `counters` (a quoted, comma-separated list) over `read`.
std::int64_t handlerCountOf(db::Connection& connection, const std::string& counters, const std::function<void()>& read) {
  connection.execute("FLUSH STATUS");
  read();
  std::int64_t count = 0;
  for (const auto& row : connection.query("SHOW SESSION STATUS WHERE Variable_name IN (" + counters + ")")) {
    count += std::stoll(row.text(1));
  }
  return count;
}
// The rows `read` made the server step through on `connection` (index and table scans).
std::int64_t rowsReadBy(db::Connection& connection, const std::function<void()>& read) {
  return handlerCountOf(connection, "'Handler_read_next', 'Handler_read_prev', 'Handler_read_rnd_next'", read);
}
// The index lookups `read` made (each one a descent of a B-tree).
std::int64_t lookupsBy(db::Connection& connection, const std::function<void()>& read) {
  return handlerCountOf(connection, "'Handler_read_key'", read);
}

class TaskQueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    params_ = Sandbox::instance().createDatabase(databaseName());
    db_ = std::make_unique<db::Connection>(params_);
    fixture_ = std::make_unique<AegirFixture>(*db_);
    queue_ = std::make_unique<TaskQueue>(*db_);
  }

  // The queue in the daemon's order: read as the daemon does, ordered by its mirror.
  // The highest vid as the daemon's poll probes it (Skynet's tables are created for the probe).
  std::int64_t probedMaxVid() { return probe(0).maxVid; }
  daemon::PollProbe probe(std::int64_t now) {
    if (!migrated_) runs::migrate(*db_);
    migrated_ = true;
    return daemon::readPollProbe(*db_, now);
  }

  std::vector<QueuedTask> queuedInOrder() {
    daemon::QueueMirror mirror;
    const auto read = mirror.nextRead(0, probedMaxVid());
    mirror.applyRead(read, queue_->queuedAbove(read.from, read.limit));
    return mirror.view(100);
  }
  std::vector<std::int64_t> queuedNids() {
    std::vector<std::int64_t> nids;
    for (const auto& task : queuedInOrder()) nids.push_back(task.nid);
    return nids;
  }

  // hosting-task's save of `task` as a new revision (now the current one) with `status` and
  // `executed`; the queued revision keeps its 0. Returns the new vid.
  std::int64_t saveNewRevision(const testing::TaskRef& task, const std::string& type, std::int64_t rid, int status,
                               std::int64_t executed) {
    db_->execute("INSERT INTO {node_revision} (nid, uid, title, log, timestamp) VALUES (?, 1, 't', '', 0)", {task.nid});
    const auto vid = static_cast<std::int64_t>(db_->lastInsertId());
    db_->execute("UPDATE {node} SET vid = ? WHERE nid = ?", {vid, task.nid});
    db_->execute("INSERT INTO {hosting_task} (vid, nid, task_type, rid, task_status, executed) VALUES (?, ?, ?, ?, ?, ?)",
                 {vid, task.nid, type, rid, static_cast<std::int64_t>(status), executed});
    return vid;
  }

  db::ConnectionParams params_;
  std::unique_ptr<db::Connection> db_;
  std::unique_ptr<AegirFixture> fixture_;
  std::unique_ptr<TaskQueue> queue_;
  bool migrated_ = false;
};

TEST_F(TaskQueueTest, ListsQueuedTasksOldestChangedFirstThenByNid) {
  const auto late = fixture_->queueTask(10, "verify", "", 1700000300);
  const auto early = fixture_->queueTask(11, "backup", "", 1700000100);
  const auto tieA = fixture_->queueTask(12, "verify", "", 1700000200);
  const auto tieB = fixture_->queueTask(10, "backup", "", 1700000200);
  EXPECT_EQ(queuedNids(), (std::vector<std::int64_t>{early.nid, tieA.nid, tieB.nid, late.nid}));
  const auto tasks = queuedInOrder();
  EXPECT_EQ(tasks[0].type, "backup");
  EXPECT_EQ(tasks[0].rid, 11);
  EXPECT_EQ(tasks[0].vid, early.vid);
  EXPECT_EQ(tasks[0].targetType, "site");
}

TEST_F(TaskQueueTest, ConsidersOnlyCurrentRevisions) {
  // A task hosting-task has run: the queued revision stays at 0, the current one is at 1.
  const auto taken = fixture_->queueTask(10, "verify");
  saveNewRevision(taken, "verify", 10, 1, 1);
  const auto waiting = fixture_->queueTask(11, "verify");
  EXPECT_EQ(queuedNids(), std::vector<std::int64_t>{waiting.nid});
  EXPECT_EQ(queue_->queueDepth(), 1);
}

TEST_F(TaskQueueTest, ListsAboveAGivenRevisionInVidOrderUpToALimit) {
  const auto older = fixture_->queueTask(10, "verify", "", 1700000200);
  const auto newer = fixture_->queueTask(11, "verify", "", 1700000100);  // queued earlier, higher vid
  ASSERT_LT(older.vid, newer.vid);
  EXPECT_EQ(queue_->queuedAbove(older.vid, 10).size(), 1u);
  EXPECT_EQ(queue_->queuedAbove(older.vid, 10).at(0).nid, newer.nid);
  const auto both = queue_->queuedAbove(older.vid - 1, 10);
  ASSERT_EQ(both.size(), 2u);
  EXPECT_EQ(both[0].nid, older.nid);  // vid order, not queue order: the mirror orders
  ASSERT_EQ(queue_->queuedAbove(0, 1).size(), 1u);
  EXPECT_EQ(queue_->queuedAbove(0, 1).at(0).nid, older.nid);
  EXPECT_EQ(probedMaxVid(), newer.vid);
}

TEST_F(TaskQueueTest, TellsWhichRevisionsAreStillQueued) {
  const auto waiting = fixture_->queueTask(10, "verify");
  const auto claimed = fixture_->queueTask(11, "verify");
  ASSERT_TRUE(claimTask(*db_, queue_->queuedAbove(claimed.vid - 1, 1).at(0), 1700000000));
  EXPECT_EQ(queue_->stillQueued({waiting.vid, claimed.vid, 999999}), (std::set<std::int64_t>{waiting.vid}));
  EXPECT_TRUE(queue_->stillQueued({}).empty());
  EXPECT_THROW(queue_->stillQueued(std::vector<std::int64_t>(TaskQueue::kStillQueuedAtOnce + 1, 1)), std::invalid_argument);
}

TEST_F(TaskQueueTest, ListsARangeOfRevisions) {
  const auto first = fixture_->queueTask(10, "verify");
  const auto second = fixture_->queueTask(11, "backup");
  const auto third = fixture_->queueTask(12, "verify");
  const auto middle = queue_->queuedBetween(second.vid, third.vid);
  ASSERT_EQ(middle.size(), 1u);
  EXPECT_EQ(middle[0].nid, second.nid);
  EXPECT_EQ(middle[0].type, "backup");
  EXPECT_EQ(queue_->queuedBetween(first.vid, third.vid + 1).size(), 3u);
  EXPECT_TRUE(queue_->queuedBetween(third.vid + 1, third.vid + 100).empty());
}

// The audit's read of a chunk finds what the join finds, at every boundary: queued current
// revisions only, not the revisions left at 0 by tasks that ran, nor current ones at -1 or 1.
TEST_F(TaskQueueTest, TheAuditsReadOfAChunkFindsWhatTheJoinFinds) {
  const auto first = fixture_->queueTask(10, "verify");
  const auto ran = fixture_->queueTask(11, "backup");
  const auto claimed = fixture_->queueTask(12, "verify");
  const auto last = fixture_->queueTask(10, "backup");
  // `ran` ran: its queued revision stays at 0, a new current one at 1 (hosting-task's save).
  const auto ranNow = saveNewRevision(ran, "backup", 11, 1, 1);
  ASSERT_TRUE(claimTask(*db_, queue_->queuedBetween(claimed.vid, claimed.vid + 1).at(0), 1700000000));
  const auto vidsOf = [](const std::vector<QueuedTask>& tasks) {
    std::vector<std::int64_t> vids;
    for (const auto& task : tasks) vids.push_back(task.vid);
    return vids;
  };
  EXPECT_EQ(vidsOf(queue_->queuedInHistory(0, ranNow + 1)), (std::vector<std::int64_t>{first.vid, last.vid}));
  // A range wider than one statement's lists is read in parts.
  EXPECT_EQ(vidsOf(queue_->queuedInHistory(0, 1000000)), (std::vector<std::int64_t>{first.vid, last.vid}));
  for (std::int64_t from = 0; from <= ranNow + 1; ++from) {
    for (std::int64_t to = from; to <= ranNow + 2; ++to) {
      const auto found = queue_->queuedInHistory(from, to);
      EXPECT_EQ(vidsOf(found), vidsOf(queue_->queuedBetween(from, to))) << "[" << from << ", " << to << ")";
      for (const auto& task : found) {
        EXPECT_EQ(task.vid == last.vid ? "backup" : "verify", task.type);
        EXPECT_EQ(task.targetType, "site");
      }
    }
  }
}

// With a long history, the audit's read of a chunk looks up no revision one by one: the join it
// replaced made a lookup for each current revision in the chunk.
TEST_F(TaskQueueTest, TheAuditsReadOfAChunkOfHistoryLooksUpNoRevision) {
  queue_->ensureIndexes();
  // 2,000 tasks that ran, as the benchmark's stand-in leaves them: the queued revision at 0, the
  // current one at 1; and one task queued among them.
  db_->execute("INSERT INTO {node} (nid, vid, type, language, title, uid, status, created, changed) "
               "SELECT 1000 + seq, 1000 + 2 * seq + 1, 'task', 'und', 'Verify', 1, 1, 1700000000, 1700000000 "
               "FROM seq_1_to_2000");
  db_->execute("INSERT INTO {node_revision} (nid, vid, uid, title, log, timestamp, status) "
               "SELECT 1000 + seq, 1000 + 2 * seq + k, 1, 'Verify', '', 1700000000, 1 "
               "FROM seq_1_to_2000, (SELECT 0 AS k UNION ALL SELECT 1) AS revisions");
  db_->execute("INSERT INTO {hosting_task} (vid, nid, task_type, rid, task_status, executed, delta) "
               "SELECT 1000 + 2 * seq + k, 1000 + seq, 'verify', 10, IF(k = 0, 0, 1), 1700000000, 0 "
               "FROM seq_1_to_2000, (SELECT 0 AS k UNION ALL SELECT 1) AS revisions");
  db_->execute("UPDATE {hosting_task} SET task_status = 0 WHERE vid = 1000 + 2 * 1500 + 1");
  std::vector<QueuedTask> found;
  const auto lookups = lookupsBy(*db_, [&] { found = queue_->queuedInHistory(1000, 6000); });
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].nid, 2500);
  EXPECT_LT(lookups, 20);
  EXPECT_GE(lookupsBy(*db_, [&] { queue_->queuedBetween(1000, 6000); }), 2000);
}

// The audit passes a chunk whose digest at status 0 is what its last reading saw: the aggregate
// and the reading agree, and the digest changes when an old revision is set back to 0 by hand or
// a queued one is claimed.
TEST_F(TaskQueueTest, TheDigestOfAChunkAtStatusZeroIsWhatItsReadingSawAndFollowsChanges) {
  queue_->ensureIndexes();
  const auto ran = fixture_->queueTask(10, "verify");
  const auto ranNow = saveNewRevision(ran, "verify", 10, 1, 1);  // its queued revision stays at 0
  const auto old = fixture_->queueTask(11, "backup");
  db_->execute("UPDATE {hosting_task} SET task_status = 1 WHERE vid = ?", {old.vid});
  const auto queued = fixture_->queueTask(12, "verify");
  const std::int64_t first = 1, second = queued.vid + 1;

  VidDigest seen;
  ASSERT_EQ(queue_->queuedInHistory(first, second, &seen).size(), 1u);
  VidDigest expected;
  expected.add(ran.vid);
  expected.add(queued.vid);
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(queue_->atZeroDigest(first, second), seen);
  EXPECT_EQ(queue_->atZeroDigest(ranNow, ranNow + 1), VidDigest{}) << "a range with none at 0";

  db_->execute("UPDATE {hosting_task} SET task_status = 0 WHERE vid = ?", {old.vid});
  const auto setBack = queue_->atZeroDigest(first, second);
  EXPECT_NE(setBack, seen);
  VidDigest again;
  EXPECT_EQ(queue_->queuedInHistory(first, second, &again).size(), 2u);
  EXPECT_EQ(again, setBack);

  ASSERT_TRUE(claimTask(*db_, queue_->queuedBetween(queued.vid, queued.vid + 1).at(0), 1700000000));
  EXPECT_NE(queue_->atZeroDigest(first, second), setBack);
}

TEST_F(TaskQueueTest, EverySiteIsSeenBehindADeepBacklog) {
  // 3,000 old tasks on site 10 (within the mirror's capacity), queued as hosting_add_task() would
  // (node, revision, task row).
  db_->execute("INSERT INTO {node} (nid, type, language, title, uid, status, created, changed) "
               "SELECT 1000 + seq, 'task', 'und', 'Verify: example.com', 1, 1, 1700000000, 1700000000 + seq "
               "FROM seq_1_to_3000");
  db_->execute("INSERT INTO {node_revision} (nid, vid, uid, title, log, timestamp, status) "
               "SELECT 1000 + seq, 1000 + seq, 1, 'Verify: example.com', '', 1700000000 + seq, 1 FROM seq_1_to_3000");
  db_->execute("UPDATE {node} SET vid = nid WHERE nid > 1000");
  db_->execute("INSERT INTO {hosting_task} (vid, nid, task_type, rid, task_status, executed, delta) "
               "SELECT 1000 + seq, 1000 + seq, 'verify', 10, 0, 0, 0 FROM seq_1_to_3000");
  const auto other = fixture_->queueTask(11, "backup", "", 1700009000);
  ASSERT_EQ(queue_->queueDepth(), 3001);

  const auto candidates = queuedInOrder();
  ASSERT_EQ(candidates.size(), 101u);  // the oldest 100, plus site 11's only task
  EXPECT_EQ(candidates.back().nid, other.nid);
  EXPECT_EQ(candidates.back().vid, other.vid);
  EXPECT_EQ(candidates.back().rid, 11);
  EXPECT_EQ(candidates.back().type, "backup");
  EXPECT_EQ(candidates.back().targetType, "site");
  EXPECT_EQ(candidates.front().nid, 1001);
  // Above the backlog, only the newer task is left.
  const auto above = queue_->queuedAbove(other.vid - 1, 200);
  ASSERT_EQ(above.size(), 1u);
  EXPECT_EQ(above[0].nid, other.nid);
}

TEST_F(TaskQueueTest, ReadsSkipRevisionsThatAreNotCurrent) {
  const auto taken = fixture_->queueTask(10, "verify", "", 1700000100);
  const auto newVid = saveNewRevision(taken, "verify", 10, 1, 1);
  EXPECT_TRUE(queue_->queuedAbove(0, 10).empty());
  EXPECT_TRUE(queue_->queuedBetween(0, newVid + 1).empty());
}

TEST_F(TaskQueueTest, TheProbedMaxVidIgnoresAStrayTaskRowFarAboveTheOthers) {
  const auto task = fixture_->queueTask(10, "verify");
  // A hosting_task row with no revision behind it (restored from elsewhere, typed by hand).
  db_->execute("INSERT INTO {hosting_task} (vid, nid, task_type, rid, task_status, executed) "
               "VALUES (900000, 99999, 'verify', 11, 1, 1)");
  EXPECT_EQ(probedMaxVid(), task.vid);
  // A task queued afterwards is above it, so a poll from one above maxVid finds it.
  const auto later = fixture_->queueTask(11, "verify");
  EXPECT_GT(later.vid, task.vid);
  EXPECT_EQ(queue_->queuedAbove(task.vid, 10).at(0).nid, later.nid);
  EXPECT_EQ(probedMaxVid(), later.vid);
}

TEST_F(TaskQueueTest, ResetClaimedRevisionOnlyOnceHostingTaskSavedItsOwn) {
  const auto task = fixture_->queueTask(10, "verify");
  ASSERT_TRUE(claimTask(*db_, queue_->queuedAbove(0, 1).at(0), 1700000000));
  // The caller passes the current revision as it read it (TaskQueue::state(), as the dispatcher).
  const auto reset = [&] { queue_->resetClaimedRevision(task.vid, queue_->state(task.nid).currentVid); };
  // Still the current revision: hosting-task has not taken it; the claim stays.
  reset();
  EXPECT_EQ(fixture_->statusOf(task.vid), kProcessing);
  // hosting-task saves its own revision (processing, then done).
  const auto newVid = saveNewRevision(task, "verify", 10, -1, 1700000001);
  reset();
  EXPECT_EQ(fixture_->statusOf(task.vid), kQueued);
  EXPECT_EQ(fixture_->statusOf(newVid), kProcessing);  // the current revision is left alone
  EXPECT_TRUE(queuedNids().empty());                    // and the old one is not queued again
  // Aegir's queue page counts -1 rows without the join: none is left.
  EXPECT_EQ(db_->queryOne("SELECT COUNT(*) FROM {hosting_task} WHERE task_status = -1 AND vid <> ?", {newVid})
                ->integer(0),
            0);
  // Only a revision at -1 moves: a finished old revision keeps its status.
  db_->execute("UPDATE {hosting_task} SET task_status = 1 WHERE vid = ?", {task.vid});
  reset();
  EXPECT_EQ(fixture_->statusOf(task.vid), kSuccess);
}

TEST_F(TaskQueueTest, CronSemaphoreIsTakenWhenAbsentAndReleasedOnlyByItsOwner) {
  const auto semaphore = [&] {
    return db_->queryOne("SELECT value, expire FROM {semaphore} WHERE name = 'hosting_queue_tasks_running'");
  };
  EXPECT_TRUE(queue_->holdCronSemaphore("skynet:host-a:1", 1000.5, 60));
  ASSERT_TRUE(semaphore());
  EXPECT_EQ(semaphore()->text(0), "skynet:host-a:1");
  EXPECT_DOUBLE_EQ(semaphore()->real(1), 1060.5);
  // Renewed, also at the same moment again.
  EXPECT_TRUE(queue_->holdCronSemaphore("skynet:host-a:1", 1030, 60));
  EXPECT_TRUE(queue_->holdCronSemaphore("skynet:host-a:1", 1030, 60));
  EXPECT_DOUBLE_EQ(semaphore()->real(1), 1090);
  // Another Skynet daemon on the database shares it.
  EXPECT_TRUE(queue_->holdCronSemaphore("skynet:host-b:2", 1031, 60));
  EXPECT_EQ(semaphore()->text(0), "skynet:host-b:2");
  queue_->releaseCronSemaphore("skynet:host-a:1");  // not its holder now: stays
  EXPECT_TRUE(semaphore());
  queue_->releaseCronSemaphore("skynet:host-b:2");
  EXPECT_FALSE(semaphore());
  EXPECT_THROW(queue_->holdCronSemaphore("host-a:1", 1000, 60), std::invalid_argument);
}

TEST_F(TaskQueueTest, CronSemaphoreIsLeftToAegirsRunnerUntilItExpires) {
  // hosting-tasks (cron) or hosting-queued took it, as D7's lock_acquire does: value = its lock id.
  db_->execute("INSERT INTO {semaphore} (name, value, expire) VALUES ('hosting_queue_tasks_running', "
               "'1234567890abcdef.12345678', 4600)");
  EXPECT_FALSE(queue_->holdCronSemaphore("skynet:host-a:1", 1000, 60));
  queue_->releaseCronSemaphore("skynet:host-a:1");
  const auto row = db_->queryOne("SELECT value, expire FROM {semaphore} WHERE name = 'hosting_queue_tasks_running'");
  ASSERT_TRUE(row);
  EXPECT_EQ(row->text(0), "1234567890abcdef.12345678");
  EXPECT_DOUBLE_EQ(row->real(1), 4600);
  // Expired: taken over, as lock_acquire breaks an expired lock.
  EXPECT_TRUE(queue_->holdCronSemaphore("skynet:host-a:1", 4601, 60));
  EXPECT_EQ(db_->queryOne("SELECT value FROM {semaphore} WHERE name = 'hosting_queue_tasks_running'")->text(0),
            "skynet:host-a:1");
  // Other locks in the table are never touched.
  db_->execute("INSERT INTO {semaphore} (name, value, expire) VALUES ('variable_init', 'x', 1)");
  queue_->releaseCronSemaphore("skynet:host-a:1");
  EXPECT_EQ(db_->queryOne("SELECT COUNT(*) FROM {semaphore}")->integer(0), 1);
}

TEST_F(TaskQueueTest, ReadsWhetherHostingQueuedIsEnabled) {
  EXPECT_EQ(queue_->queuedModuleEnabled(), false);  // the fixture has it disabled
  db_->execute("UPDATE {system} SET status = 1 WHERE name = 'hosting_queued'");
  EXPECT_EQ(queue_->queuedModuleEnabled(), true);
  // A theme of that name is not the module.
  db_->execute("UPDATE {system} SET type = 'theme' WHERE name = 'hosting_queued'");
  EXPECT_EQ(queue_->queuedModuleEnabled(), false);
  db_->execute("DROP TABLE {system}");
  EXPECT_EQ(queue_->queuedModuleEnabled(), std::nullopt);
}

TEST_F(TaskQueueTest, ClaimTakesTheQueuedRevisionOnce) {
  const auto task = fixture_->queueTask(10, "verify");
  const auto queued = queue_->queuedAbove(0, 10).at(0);
  EXPECT_TRUE(claimTask(*db_, queued, 1700000000));
  EXPECT_EQ(fixture_->statusOf(task.vid), kProcessing);
  EXPECT_EQ(fixture_->current(task.nid).executed, 1700000000);
  // Another daemon now sees the site as busy, before hosting-task has saved its revision.
  EXPECT_EQ(probe(1700000010).processingSites, std::set<std::int64_t>{10});
  EXPECT_EQ(queue_->processingSites(1700000010), std::set<std::int64_t>{10});
  EXPECT_FALSE(claimTask(*db_, queued, 1700000000));
  EXPECT_TRUE(queuedNids().empty());
}

TEST_F(TaskQueueTest, ClaimIsAtomicAcrossConnections) {
  for (int i = 0; i < 20; ++i) fixture_->queueTask(10 + i % 3, "verify");
  const auto tasks = queue_->queuedAbove(0, 100);
  std::atomic<int> claims{0};
  std::vector<std::thread> racers;
  for (int r = 0; r < 4; ++r) {
    racers.emplace_back([&] {
      db::Connection own(params_);
      for (const auto& task : tasks) {
        if (claimTask(own, task, 1700000000)) ++claims;
      }
    });
  }
  for (auto& racer : racers) racer.join();
  EXPECT_EQ(claims.load(), 20);
  EXPECT_EQ(fixture_->countWithStatus(kProcessing), 20);
}

TEST_F(TaskQueueTest, ClaimRefusesARevisionThatIsNoLongerCurrent) {
  const auto task = fixture_->queueTask(10, "verify");
  const auto queued = queue_->queuedAbove(0, 10).at(0);
  db_->execute("INSERT INTO {node_revision} (nid, uid, title, log, timestamp) VALUES (?, 1, 't', '', 0)", {task.nid});
  db_->execute("UPDATE {node} SET vid = ? WHERE nid = ?", {static_cast<std::int64_t>(db_->lastInsertId()), task.nid});
  EXPECT_FALSE(claimTask(*db_, queued, 1700000000));
  EXPECT_EQ(fixture_->statusOf(task.vid), kQueued);
}

TEST_F(TaskQueueTest, ReleaseGivesBackOnlyAClaimedRevision) {
  const auto task = fixture_->queueTask(10, "verify");
  EXPECT_FALSE(queue_->release(task.vid));
  ASSERT_TRUE(claimTask(*db_, queue_->queuedAbove(0, 1).at(0), 1700000000));
  EXPECT_TRUE(queue_->release(task.vid));
  EXPECT_EQ(fixture_->statusOf(task.vid), kQueued);
}

TEST_F(TaskQueueTest, ProcessingSitesIgnoresTasksOlderThanAegirsWindow) {
  const auto recent = fixture_->queueTask(10, "verify");
  const auto stale = fixture_->queueTask(11, "verify");
  db_->execute("UPDATE {hosting_task} SET task_status = -1, executed = ? WHERE vid = ?",
               {std::int64_t{1700000000}, recent.vid});
  db_->execute("UPDATE {hosting_task} SET task_status = -1, executed = ? WHERE vid = ?",
               {std::int64_t{1700000000 - 30000}, stale.vid});
  EXPECT_EQ(probe(1700000100).processingSites, std::set<std::int64_t>{10});
  EXPECT_EQ(queue_->processingSites(1700000100), std::set<std::int64_t>{10});
  db_->execute("UPDATE {hosting_task} SET executed = ? WHERE vid = ?", {std::int64_t{1700000050}, stale.vid});
  EXPECT_EQ(probe(1700000100).processingSites, (std::set<std::int64_t>{10, 11}));
  EXPECT_EQ(queue_->processingSites(1700000100), (std::set<std::int64_t>{10, 11}));
  // The probe of an empty queue leaves them out; it reads the rest the same.
  daemon::ProbeParts parts;
  parts.processingSites = false;
  const auto without = daemon::readPollProbe(*db_, 1700000100, parts);
  EXPECT_FALSE(without.processingSites.has_value());
  EXPECT_EQ(without.maxVid, probe(1700000100).maxVid);
  db_->execute("UPDATE {hosting_task} SET task_status = 1 WHERE vid IN (?, ?)", {recent.vid, stale.vid});
  EXPECT_EQ(probe(1700000100).processingSites, std::set<std::int64_t>{});
  EXPECT_TRUE(queue_->processingSites(1700000100).empty());
}

TEST_F(TaskQueueTest, TheProbeReadsTheSchedulesOnlyWhenAskedAndTheSameEitherWay) {
  EXPECT_EQ(probe(1700000100).nextJob, std::nullopt);
  EXPECT_EQ(probe(1700000100).nextCron, std::nullopt);
  db_->execute("INSERT INTO {skynet_application} (project_id, name, command, cron, cron_next, created, changed) "
               "VALUES (1, 'a', 'true', '* * * * *', 1700000160, 0, 0)");
  db_->execute("INSERT INTO {skynet_run} (kind, token, command, state, schedule) "
               "VALUES ('job', 't1', 'true', 'scheduled', 1700000300), ('job', 't2', 'true', 'scheduled', 1700000200), "
               "('job', 't3', 'true', 'running', 1700000100)");
  const auto full = probe(1700000100);
  EXPECT_EQ(full.nextJob, 1700000200.0);
  EXPECT_EQ(full.nextCron, 1700000160.0);
  daemon::ProbeParts parts;
  parts.schedules = false;
  const auto without = daemon::readPollProbe(*db_, 1700000100, parts);
  EXPECT_EQ(without.nextJob, std::nullopt);
  EXPECT_EQ(without.nextCron, std::nullopt);
  EXPECT_EQ(without.maxVid, full.maxVid);
  EXPECT_EQ(without.paused, full.paused);
  EXPECT_EQ(without.processingSites, full.processingSites);
}

TEST_F(TaskQueueTest, FinalizeAbandonedWritesAnErrorEntryAndFailsTheTask) {
  const auto task = fixture_->queueTask(10, "verify");
  db_->execute("UPDATE {hosting_task} SET task_status = -1, executed = 1000 WHERE vid = ?", {task.vid});
  const auto status = queue_->finalizeAbandoned(task.nid, task.vid, "SKYNET_TASK_DIED", "Skynet: died.", 1042);
  EXPECT_EQ(status, kError);
  const auto row = fixture_->current(task.nid);
  EXPECT_EQ(row.status, kError);
  EXPECT_EQ(row.delta, 42);
  const auto log = fixture_->log(task.vid);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].type, "error");
  EXPECT_EQ(log[0].message, "Skynet: died.");
  EXPECT_EQ(log[0].error, "SKYNET_TASK_DIED");
}

TEST_F(TaskQueueTest, FinalizeAbandonedLeavesAFinishedTaskAlone) {
  const auto task = fixture_->queueTask(10, "verify");
  db_->execute("UPDATE {hosting_task} SET task_status = 1 WHERE vid = ?", {task.vid});
  EXPECT_FALSE(queue_->finalizeAbandoned(task.nid, task.vid, "X", "m", 1).has_value());
  EXPECT_EQ(fixture_->statusOf(task.vid), kSuccess);
  EXPECT_TRUE(fixture_->log(task.vid).empty());
}

// A batch's first read (daemon/batch_start.h) gives what lockAll() and state() give alone, and
// holds the lock table's rows, not the tasks': a hosting-task finishing its task meanwhile must
// not wait for the daemon's batch.
TEST_F(TaskQueueTest, TheBatchStartReadsLocksAndStatesAsAloneAndLocksOnlyTheLockTable) {
  runs::migrate(*db_);
  migrated_ = true;
  runs::RunStore store(*db_);
  const auto claimed = fixture_->queueTask(10, "verify");
  const auto queued = fixture_->queueTask(11, "backup");
  ASSERT_TRUE(claimTask(*db_, queue_->queuedAbove(0, 1).at(0), 1700000000));
  store.takeLock({10, false, 41, 3}, 1700000000);
  store.takeLock({-7, true, 42, 3}, 1700000000);
  const std::int64_t gone = 999999;

  db::Transaction transaction(*db_);
  const auto start = daemon::readBatchStart(*db_, true, {claimed.nid, queued.nid, gone});
  ASSERT_TRUE(start.locks.has_value());
  const auto alone = store.lockAll();
  ASSERT_EQ(start.locks->size(), alone.size());
  for (std::size_t i = 0; i < alone.size(); ++i) {
    const auto& read = start.locks->at(i);
    EXPECT_EQ(std::tie(read.rid, read.exclusive, read.runId, read.workerId),
              std::tie(alone[i].rid, alone[i].exclusive, alone[i].runId, alone[i].workerId));
  }
  EXPECT_EQ(start.locks->size(), 3u);  // the guard row (rid 0) and the two taken
  ASSERT_EQ(start.states.size(), 2u);   // no row for a node that is gone
  for (const auto nid : {claimed.nid, queued.nid}) {
    const auto read = start.states.at(nid);
    const auto single = queue_->state(nid);
    EXPECT_TRUE(read.exists);
    EXPECT_EQ(std::tie(read.currentVid, read.status, read.executed),
              std::tie(single.currentVid, single.status, single.executed));
  }
  EXPECT_EQ(start.states.at(claimed.nid).status, kProcessing);
  EXPECT_EQ(start.states.at(claimed.nid).executed, 1700000000);
  EXPECT_EQ(start.states.at(queued.nid).status, kQueued);

  db::Connection other(params_);
  EXPECT_THROW(other.query("SELECT rid FROM {skynet_lock} WHERE rid = 10 FOR UPDATE NOWAIT"), db::Error);
  EXPECT_NO_THROW(other.query("SELECT vid FROM {hosting_task} WHERE vid = ? FOR UPDATE NOWAIT", {claimed.vid}));
  transaction.commit();
  EXPECT_NO_THROW(other.query("SELECT rid FROM {skynet_lock} WHERE rid = 10 FOR UPDATE NOWAIT"));

  // Either part alone, and nothing at all.
  EXPECT_EQ(daemon::readBatchStart(*db_, true, {}).locks->size(), 3u);
  const auto statesOnly = daemon::readBatchStart(*db_, false, {queued.nid});
  EXPECT_FALSE(statesOnly.locks.has_value());
  EXPECT_EQ(statesOnly.states.size(), 1u);
  EXPECT_TRUE(daemon::readBatchStart(*db_, false, {}).states.empty());
  EXPECT_THROW(daemon::readBatchStart(*db_, false, std::vector<std::int64_t>(daemon::kBatchStatesAtOnce + 1, 1)),
               std::invalid_argument);
}

TEST_F(TaskQueueTest, ReadsThePauseVariableInEveryStoredForm) {
  EXPECT_EQ(queue_->paused(), false);  // absent
  for (const char* on : {"b:1;", "i:1;", "s:1:\"1\";"}) {
    fixture_->setVariable("hosting_skynet_paused", on);
    EXPECT_EQ(queue_->paused(), true) << on;
  }
  for (const char* off : {"b:0;", "i:0;", "s:1:\"0\";"}) {
    fixture_->setVariable("hosting_skynet_paused", off);
    EXPECT_EQ(queue_->paused(), false) << off;
  }
  fixture_->setVariable("hosting_skynet_paused", "garbage");
  EXPECT_FALSE(queue_->paused().has_value());
}

TEST_F(TaskQueueTest, ReportsMissingAegirTables) {
  EXPECT_TRUE(queue_->missingTables().empty());
  db_->execute("DROP TABLE {hosting_task_log}");
  EXPECT_EQ(queue_->missingTables(), std::vector<std::string>{"hosting_task_log"});
}

TEST_F(TaskQueueTest, AddsItsStatusIndexOnceAndOnlyWhenMissing) {
  EXPECT_TRUE(queue_->statusIndexMissing());
  queue_->ensureIndexes();
  queue_->ensureIndexes();
  EXPECT_FALSE(queue_->statusIndexMissing());
  // One index led by task_status alone, one by (task_status, executed), each added once.
  const auto indexes = db_->query("SHOW INDEX FROM {hosting_task} WHERE Column_name = 'task_status'");
  ASSERT_EQ(indexes.size(), 2u);
  const auto running = db_->query("SHOW INDEX FROM {hosting_task} WHERE Key_name = 'skynet_task_running'");
  ASSERT_EQ(running.size(), 2u);
  EXPECT_EQ(running[1].text(4), "executed");
}

TEST_F(TaskQueueTest, AddsOnlyTheIndexThatIsMissing) {
  db_->execute("ALTER TABLE {hosting_task} ADD INDEX site_status (task_status)");
  EXPECT_TRUE(queue_->statusIndexMissing());
  queue_->ensureIndexes();
  EXPECT_FALSE(queue_->statusIndexMissing());
  EXPECT_TRUE(db_->query("SHOW INDEX FROM {hosting_task} WHERE Key_name = 'skynet_task_status'").empty());
  EXPECT_EQ(db_->query("SHOW INDEX FROM {hosting_task} WHERE Key_name = 'skynet_task_running'").size(), 2u);
}

TEST_F(TaskQueueTest, UsesTheDrupalTablePrefix) {
  for (const char* table : {"hosting_task", "hosting_task_log", "hosting_task_arguments", "hosting_context", "node",
                            "node_revision", "variable", "semaphore"}) {
    db_->execute(std::string("RENAME TABLE `") + table + "` TO `aegir_" + table + "`");
  }
  auto params = params_;
  params.prefix = "aegir_";
  db::Connection prefixed(params);
  AegirFixture fixture(prefixed);
  TaskQueue queue(prefixed);
  EXPECT_TRUE(queue.missingTables().empty());
  const auto task = fixture.queueTask(10, "verify");
  EXPECT_EQ(queue.queuedAbove(0, 10).at(0).nid, task.nid);
  EXPECT_TRUE(claimTask(prefixed, queue.queuedAbove(0, 10).at(0), 1700000000));
  runs::migrate(prefixed);
  EXPECT_EQ(prefixed.queryOne("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
                              "AND TABLE_NAME = 'aegir_skynet_run'")
                ->integer(0),
            1);
}

TEST(Connection, RefusesWrongCredentialsWithoutShowingThePassword) {
  auto params = Sandbox::instance().createDatabase("q_credentials");
  params.password = "wrong-password-123";
  try {
    db::Connection connection(params);
    FAIL() << "connected with a wrong password";
  } catch (const db::Error& error) {
    EXPECT_TRUE(error.accessDenied());
    EXPECT_EQ(std::string(error.what()).find("wrong-password-123"), std::string::npos);
    EXPECT_NE(std::string(error.what()).find("cannot connect to database 'q_credentials' as 'aegir'"),
              std::string::npos);
  }
}

// The sandbox's superuser (root, no password, socket only), to create users with fewer rights.
db::ConnectionParams rootParams(const db::ConnectionParams& of) {
  auto params = of;
  params.user = "root";
  params.password = "";
  return params;
}

std::int64_t serverConnectionsOf(db::Connection& root, const std::string& user) {
  return root.queryOne("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = ?", {user})->integer(0);
}

TEST(Connection, NamesAMissingDatabase) {
  auto params = Sandbox::instance().createDatabase("q_missing_db");
  params.database = "q_no_such_database";
  try {
    db::Connection connection(params);
    FAIL() << "connected to a database that does not exist";
  } catch (const db::Error& error) {
    EXPECT_NE(std::string(error.what()).find("cannot connect to database 'q_no_such_database' as 'aegir'"),
              std::string::npos)
        << error.what();
    EXPECT_NE(std::string(error.what()).find("Unknown database"), std::string::npos) << error.what();
  }
}

TEST(Connection, ClosesTheServerConnectionWhenSetUpFailsAfterConnecting) {
  // With no prepared statement allowed on the server, a connection is made and its session
  // set-up (a prepared statement) is then refused.
  const auto params = Sandbox::instance().createDatabase("q_setup_fails");
  db::Connection root(rootParams(params));
  const auto connectionsOfAegir = [&] { return serverConnectionsOf(root, "aegir"); };
  const std::int64_t before = connectionsOfAegir();  // prepares root's statements while it may
  const auto limit = root.queryOne("SELECT @@GLOBAL.max_prepared_stmt_count")->integer(0);
  const std::string setLimit = "SET GLOBAL max_prepared_stmt_count = ?";
  root.execute(setLimit, {limit});
  root.execute(setLimit, {std::int64_t{0}});
  std::string message;
  try {
    db::Connection connection(params);
  } catch (const db::Error& error) {
    message = error.what();
  }
  root.execute(setLimit, {limit});
  ASSERT_FALSE(message.empty()) << "the set-up did not fail";
  EXPECT_NE(message.find("cannot set up the connection to database 'q_setup_fails' as 'aegir'"), std::string::npos)
      << message;
  EXPECT_NE(message.find("max_prepared_stmt_count"), std::string::npos) << message;
  // A leaked handle would keep its server connection open until wait_timeout (8 hours).
  EXPECT_TRUE(testing::waitUntil([&] { return connectionsOfAegir() == before; }, 10))
      << connectionsOfAegir() - before << " connection(s) left open";
}

TEST(Connection, RefusesInvalidUtf8InTextThatValidUtf8Repairs) {
  auto params = Sandbox::instance().createDatabase("q_utf8");
  db::Connection connection(params);
  const std::string insert = "INSERT INTO {hosting_task_log} (vid, nid, type, message, error, timestamp) "
                             "VALUES (1, 1, 'message', ?, '', 0)";
  const std::string output = "done \xFF, then a cut \xE2\x82";
  try {
    connection.execute(insert, {output});
    FAIL() << "strict mode took invalid UTF-8";
  } catch (const db::Error& error) {
    EXPECT_FALSE(error.connectionLost()) << error.what();  // a rejected statement, not an outage
  }
  connection.execute(insert, {validUtf8(output)});
  connection.execute(insert, {utf8Tail(output, 12)});
  const auto rows = connection.query("SELECT message FROM {hosting_task_log} ORDER BY lid");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].text(0), "done \xEF\xBF\xBD, then a cut \xEF\xBF\xBD");
  EXPECT_EQ(rows[1].text(0), "en a cut \xEF\xBF\xBD");  // 12 bytes: "hen a cut " + U+FFFD is 13
}

TEST(Connection, DefaultsToShortReadAndWriteTimeouts) {
  const db::ConnectionParams defaults;
  EXPECT_EQ(defaults.readTimeoutSeconds, 10u);
  EXPECT_EQ(defaults.writeTimeoutSeconds, 10u);
}

// A server whose default cuts GROUP_CONCAT at 1,024 bytes (MySQL's) still gives the daemon's
// lists whole: the audit's lists of vids are longer.
TEST(Connection, GroupConcatListsAreNotCutShortWhereTheServerDefaultIsShort) {
  auto params = Sandbox::instance().createDatabase("q_group_concat");
  const std::string root = "mariadb --no-defaults --user=root --socket=" + Sandbox::instance().socket() + " -e ";
  ASSERT_EQ(testing::runCommand(root + "'SET GLOBAL group_concat_max_len = 1024'"), 0);
  std::optional<db::Row> row;
  {
    db::Connection connection(params);
    row = connection.queryOne("SELECT LENGTH(GROUP_CONCAT(seq)), @@SESSION.group_concat_max_len FROM seq_1_to_10000");
  }
  ASSERT_EQ(testing::runCommand(root + "'SET GLOBAL group_concat_max_len = DEFAULT'"), 0);
  EXPECT_EQ(row->integer(0), 48893);  // 10,000 numbers and 9,999 commas
  EXPECT_GE(row->integer(1), db::Connection::kGroupConcatAtLeast);
}

TEST(Connection, ReadsLongValuesWhole) {
  auto params = Sandbox::instance().createDatabase("q_long");
  db::Connection connection(params);
  const std::string big(100000, 'x');
  connection.execute("INSERT INTO {variable} (name, value) VALUES ('big', ?)", {big});
  EXPECT_EQ(connection.queryOne("SELECT value FROM {variable} WHERE name = 'big'")->text(0), big);
}

TEST(Transaction, AnInnerTransactionJoinsTheOuterOne) {
  auto params = Sandbox::instance().createDatabase("q_nested");
  db::Connection connection(params);
  const auto count = [&] { return connection.queryOne("SELECT COUNT(*) FROM {variable} WHERE name = 'nested'")->integer(0); };
  {
    db::Transaction outer(connection);
    {
      db::Transaction inner(connection);
      connection.execute("INSERT INTO {variable} (name, value) VALUES ('nested', 'b:1;')");
      inner.commit();  // joins the outer one: nothing is committed yet
    }
  }  // the outer one rolls back, the inner's row with it
  EXPECT_EQ(count(), 0);
  {
    db::Transaction outer(connection);
    try {
      db::Transaction inner(connection);
      connection.execute("INSERT INTO {variable} (name, value) VALUES ('nested', 'b:1;')");
      throw std::runtime_error("a failure inside");
    } catch (const std::runtime_error&) {
    }
    EXPECT_THROW(outer.commit(), db::Error) << "a part failed: nothing may be committed";
  }
  EXPECT_EQ(count(), 0);
  {
    db::Transaction outer(connection);
    connection.execute("INSERT INTO {variable} (name, value) VALUES ('nested', 'b:1;')");
    outer.commit();
  }
  EXPECT_EQ(count(), 1);
}

TEST(RunStore, AnEndIsRecordedWholeOnARunningRunAndAStopReportedFirstKeepsItsState) {
  auto params = Sandbox::instance().createDatabase("q_finish_run");
  db::Connection connection(params);
  runs::migrate(connection);
  runs::RunStore store(connection);
  const auto start = [&] {
    return static_cast<std::int64_t>(
        connection.executeAll({runs::RunStore::startTaskRunSql({1, 2, 3, "verify", "drush", 0, "host", 1, 1000.5, 999, 60})})
            .at(0)
            .insertId);
  };
  const auto read = [&](std::int64_t id) {
    return *connection.queryOne("SELECT state, exit_code, term_signal, stopped, message, log_tail, pid, output_file "
                                "FROM {skynet_run} WHERE id = ?",
                                {id});
  };
  runs::RunEnd end{runs::state::kSucceeded, 0, std::nullopt, 1010.25, "daemon's message", "daemon's tail",
                   runs::RunProcess{4242, 77, "boot", "/tmp/out", 1000.75}};

  const auto running = start();
  store.takeLock({3, false, running, 0}, 1000.5);
  store.finishRun(running, end);
  auto row = read(running);
  EXPECT_EQ(row.text(0), runs::state::kSucceeded);
  EXPECT_EQ(row.integer(1, -1), 0);
  EXPECT_TRUE(row.isNull(2));
  EXPECT_EQ(row.real(3), 1010.25);
  EXPECT_EQ(row.text(4), "daemon's message");
  EXPECT_EQ(row.text(5), "daemon's tail");
  EXPECT_EQ(row.integer(6), 4242);
  EXPECT_EQ(row.text(7), "/tmp/out");
  EXPECT_EQ(connection.queryOne("SELECT COUNT(*) FROM {skynet_lock} WHERE run_id = ?", {running})->integer(0), 0);

  // A stop reported through the API before the daemon saw the end: its state, time and
  // message stay; the exit code and the tail, which only the daemon has, are added.
  const auto reported = start();
  connection.execute("UPDATE {skynet_run} SET state = 'failed', stopped = 1005, message = 'reported' WHERE id = ?",
                     {reported});
  end.exitCode = 3;
  store.finishRun(reported, end);
  row = read(reported);
  EXPECT_EQ(row.text(0), runs::state::kFailed);
  EXPECT_EQ(row.integer(1), 3);
  EXPECT_EQ(row.real(3), 1005);
  EXPECT_EQ(row.text(4), "reported");
  EXPECT_EQ(row.text(5), "daemon's tail");
  EXPECT_EQ(row.integer(6), 4242);

  // ... and what the report gave itself (an exit code, a log) is kept as well.
  const auto reportedWithLog = start();
  connection.execute("UPDATE {skynet_run} SET state = 'succeeded', exit_code = 7, log_tail = 'reported tail' "
                     "WHERE id = ?",
                     {reportedWithLog});
  store.finishRun(reportedWithLog, end);
  row = read(reportedWithLog);
  EXPECT_EQ(row.text(0), runs::state::kSucceeded);
  EXPECT_EQ(row.integer(1), 7);
  EXPECT_EQ(row.text(5), "reported tail");
}

TEST(Schema, MigratesOnceAndIsIdempotent) {
  auto params = Sandbox::instance().createDatabase("q_schema");
  db::Connection connection(params);
  EXPECT_EQ(runs::schemaVersion(connection), 0);
  runs::migrate(connection);
  EXPECT_EQ(runs::schemaVersion(connection), runs::kSchemaVersion);
  connection.execute("INSERT INTO {skynet_worker} (host, pid, started, heartbeat) VALUES ('h', 1, 1, 1)");
  runs::migrate(connection);
  EXPECT_EQ(runs::schemaVersion(connection), runs::kSchemaVersion);
  EXPECT_EQ(connection.queryOne("SELECT COUNT(*) FROM {skynet_worker}")->integer(0), 1);
}

TEST(Schema, FinishesAVersionADaemonKilledHalfWayLeftBehind) {
  auto params = Sandbox::instance().createDatabase("q_schema_half");
  db::Connection connection(params);
  runs::migrate(connection);
  // What a kill -9 during version 2 leaves: its first DDL done (DDL commits at once), the
  // recorded version still 1, a table of version 2 not created yet.
  connection.execute("UPDATE {skynet_schema} SET version = 1");
  connection.execute("DROP TABLE {skynet_application}");
  runs::migrate(connection);
  EXPECT_EQ(runs::schemaVersion(connection), runs::kSchemaVersion);
  EXPECT_EQ(connection.queryOne("SELECT COUNT(*) FROM {skynet_application}")->integer(0), 0);
}

TEST(Schema, VersionThreeDropsTheIndexOnStateAlone) {
  auto params = Sandbox::instance().createDatabase("q_schema_state");
  db::Connection connection(params);
  runs::migrate(connection);
  const auto hasStateIndex = [&] {
    return connection.queryOne("SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() "
                               "AND TABLE_NAME = ? AND INDEX_NAME = 'state'",
                               {connection.prefix() + "skynet_run"})
               ->integer(0) > 0;
  };
  EXPECT_FALSE(hasStateIndex());
  // A database of version 2, as an older skynet left it.
  connection.execute("ALTER TABLE {skynet_run} ADD KEY state (state)");
  connection.execute("UPDATE {skynet_schema} SET version = 2");
  runs::migrate(connection);
  EXPECT_EQ(runs::schemaVersion(connection), runs::kSchemaVersion);
  EXPECT_FALSE(hasStateIndex());
}

// Without an index on state alone, the listings by state name both kinds and are read from
// kind_state_schedule: with a long history they read the rows they show, not the history.
TEST(RunStore, TheRunningAndDueListingsReadOnlyTheirRowsOfALongHistory) {
  auto params = Sandbox::instance().createDatabase("q_listing_history");
  db::Connection connection(params);
  runs::migrate(connection);
  connection.execute("INSERT INTO {skynet_run} (kind, token, command, state, stopped, created) "
                     "SELECT IF(seq % 3 = 0, 'job', 'task'), MD5(seq), 'true', IF(seq % 50 = 0, 'failed', 'succeeded'),"
                     " seq, seq FROM seq_1_to_5000");
  connection.execute("UPDATE {skynet_run} SET state = 'running', stopped = NULL WHERE id IN (10, 4000)");
  connection.execute("UPDATE {skynet_run} SET state = 'scheduled', stopped = NULL, schedule = 100 WHERE id = 2001");
  connection.execute("UPDATE {skynet_run} SET state = 'scheduled', stopped = NULL, schedule = 1e12 WHERE id = 2004");
  connection.execute("ANALYZE TABLE {skynet_run}");
  const auto rowsRead = [&](const std::function<void()>& read) { return rowsReadBy(connection, read); };
  runs::RunApiStore api(connection);
  runs::RunFilter running;
  running.runningOnly = true;
  std::vector<std::int64_t> ids;
  EXPECT_LT(rowsRead([&] {
              for (const auto& run : api.list(running).runs) ids.push_back(run.id);
            }),
            100);
  EXPECT_EQ(ids, (std::vector<std::int64_t>{4000, 10}));
  runs::RunFilter due;
  due.dueOnly = true;
  due.now = 1000;
  ids.clear();
  EXPECT_LT(rowsRead([&] {
              for (const auto& run : api.list(due).runs) ids.push_back(run.id);
            }),
            100);
  EXPECT_EQ(ids, (std::vector<std::int64_t>{2001}));
  runs::RunStore store(connection);
  ids.clear();
  EXPECT_LT(rowsRead([&] {
              for (const auto& run : store.runningRuns()) ids.push_back(run.id);
            }),
            100);
  EXPECT_EQ(ids, (std::vector<std::int64_t>{10, 4000}));
}

// What the daemon reads at each poll and recovery pass: its own running runs (cancel requests),
// the workers that are up or still have running runs, a dead worker's running runs. Each must read
// the few running runs, not every run a long-lived worker had.
TEST(RunStore, TheWorkerReadsReadOnlyTheRunningRunsOfALongHistory) {
  auto params = Sandbox::instance().createDatabase("q_worker_history");
  db::Connection connection(params);
  runs::migrate(connection);
  runs::RunStore store(connection);
  const auto gone = store.registerWorker("h", 100, "1", 1);     // stopped, one run still running
  const auto done = store.registerWorker("h", 101, "1", 2);     // stopped, nothing running
  const auto current = store.registerWorker("h", 102, "1", 3);  // up
  store.stopWorker(gone, 10);
  store.stopWorker(done, 10);
  connection.execute("INSERT INTO {skynet_run} (kind, token, command, state, stopped, created, worker_id) "
                     "SELECT IF(seq % 3 = 0, 'job', 'task'), MD5(seq), 'true', 'succeeded', seq, seq,"
                     " CASE seq % 3 WHEN 0 THEN ? WHEN 1 THEN ? ELSE ? END FROM seq_1_to_6000",
                     {gone, done, current});
  connection.execute("UPDATE {skynet_run} SET state = 'running', stopped = NULL WHERE id IN (3000, 5003, 5006)");
  connection.execute("UPDATE {skynet_run} SET cancel_requested = 1, cancelled_by = 'me' WHERE id IN (5006, 5009)");
  connection.execute("ANALYZE TABLE {skynet_run}");
  const auto rowsRead = [&](const std::function<void()>& read) { return rowsReadBy(connection, read); };
  std::vector<std::int64_t> ids;
  EXPECT_LT(rowsRead([&] {
              for (const auto& worker : store.workers()) ids.push_back(worker.id);
            }),
            100);
  EXPECT_EQ(ids, (std::vector<std::int64_t>{gone, current}));
  ids.clear();
  EXPECT_LT(rowsRead([&] {
              for (const auto& run : store.unfinishedRuns(current)) ids.push_back(run.id);
            }),
            100);
  EXPECT_EQ(ids, (std::vector<std::int64_t>{5003, 5006}));
  ids.clear();
  EXPECT_LT(rowsRead([&] {
              for (const auto& request : store.cancelRequests(current)) ids.push_back(request.first);
            }),
            100);
  EXPECT_EQ(ids, (std::vector<std::int64_t>{5006}));  // 5009 ended: nothing to cancel
}

TEST(Schema, RefusesADatabaseFromANewerSkynet) {
  auto params = Sandbox::instance().createDatabase("q_schema_newer");
  db::Connection connection(params);
  runs::migrate(connection);
  connection.execute("UPDATE {skynet_schema} SET version = 99");
  EXPECT_THROW(runs::migrate(connection), db::Error);
}

}  // namespace
}  // namespace skynet::aegir
