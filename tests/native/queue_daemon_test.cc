#include "daemon/queue_daemon.h"

#include <Poco/AutoPtr.h>
#include <Poco/Channel.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <mutex>
#include <sstream>
#include <thread>

#include "runs/run_store.h"
#include "runs/schema.h"
#include "util/clock.h"
#include "support/log_capture.h"
#include "support/sandbox.h"
#include "support/test_site.h"

namespace skynet::daemon {
namespace {

using testing::TestSite;
using testing::waitUntil;

using testing::LogCapture;

struct RunRow {
  std::string state;
  std::int64_t vid = 0, rid = 0, workerId = 0, pid = 0, attempts = 0;
  std::string type, message, logTail, outputFile;
  bool hasExitCode = false;
  std::int64_t exitCode = 0, signal = 0;
  double started = 0, stopped = 0;
};

class QueueDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    site_ = std::make_unique<TestSite>(testing::testDatabaseName("d"));
    capture_ = new LogCapture;
    Poco::Logger::get("test-daemon").setChannel(capture_);
    Poco::Logger::get("test-daemon").setLevel("debug");
    setenv("HOME", site_->home().c_str(), 1);
  }

  void TearDown() override {
    stop();
    if (HasFailure()) std::cerr << "daemon log:\n" << capture_->all();
  }

  // Starts the daemon in a thread with the site's configuration plus `config`.
  void start(const std::string& config = "") {
    site_->writeConfig(config);
    daemon_ = std::make_unique<QueueDaemon>(loadSettings(site_->configFile()), Poco::Logger::get("test-daemon"),
                                            waker_);
    daemon_->setReloader([this] { return loadSettings(site_->configFile()); });
    thread_ = std::thread([this] { exitCode_ = daemon_->run(); });
  }

  int stop() {
    if (daemon_) {
      daemon_->requestStop();
      thread_.join();
      daemon_.reset();
    }
    return exitCode_;
  }

  bool finished(std::int64_t nid) {
    const int status = site_->aegir().current(nid).status;
    return status != aegir::kQueued && status != aegir::kProcessing;
  }

  bool allFinished(const std::vector<std::int64_t>& nids) {
    for (auto nid : nids) {
      if (!finished(nid)) return false;
    }
    return true;
  }

  // The task's runs; none while the daemon has not yet created its tables.
  std::vector<RunRow> runsOf(std::int64_t nid) {
    std::vector<RunRow> rows;
    if (runs::schemaVersion(site_->db()) == 0) return rows;
    for (const auto& row : site_->db().query(
             "SELECT state, task_vid, task_rid, worker_id, pid, attempts, task_type, message, log_tail, exit_code,"
             " term_signal, started, stopped, output_file FROM {skynet_run} WHERE task_nid = ? ORDER BY id",
             {nid})) {
      RunRow run;
      run.state = row.text(0);
      run.vid = row.integer(1);
      run.rid = row.integer(2);
      run.workerId = row.integer(3);
      run.pid = row.integer(4);
      run.attempts = row.integer(5);
      run.type = row.text(6);
      run.message = row.text(7);
      run.logTail = row.text(8);
      run.hasExitCode = !row.isNull(9);
      run.exitCode = row.integer(9);
      run.signal = row.integer(10);
      run.started = row.real(11);
      run.stopped = row.real(12);
      run.outputFile = row.text(13);
      rows.push_back(run);
    }
    return rows;
  }

  // The last run of a task once it is recorded as finished.
  RunRow finalRun(std::int64_t nid) {
    EXPECT_TRUE(waitUntil([&] {
      const auto runs = runsOf(nid);
      return !runs.empty() && runs.back().state != "running";
    }));
    const auto runs = runsOf(nid);
    return runs.empty() ? RunRow{} : runs.back();
  }

  std::unique_ptr<TestSite> site_;
  Poco::AutoPtr<LogCapture> capture_;
  Waker waker_;
  std::unique_ptr<QueueDaemon> daemon_;
  std::thread thread_;
  int exitCode_ = -1;
};

TEST_F(QueueDaemonTest, RunsEachQueuedTaskExactlyOnceWithTheExactCommandLine) {
  std::vector<std::int64_t> nids;
  for (std::int64_t rid : {10, 11, 12}) nids.push_back(site_->aegir().queueTask(rid, "verify").nid);
  start("[queue]\nconcurrency = 3\n");
  ASSERT_TRUE(waitUntil([&] { return allFinished(nids); }));
  ASSERT_TRUE(waitUntil([&] { return finalRun(nids.back()).state == "succeeded"; }));
  EXPECT_EQ(stop(), 0);

  const auto lines = site_->invocations();
  ASSERT_EQ(lines.size(), 3u);
  std::set<std::string> seen;
  for (const auto& line : lines) {
    const auto call = Poco::JSON::Parser().parse(line).extract<Poco::JSON::Object::Ptr>();
    const auto argv = call->getArray("argv");
    ASSERT_EQ(argv->size(), 6u);
    EXPECT_EQ(argv->getElement<std::string>(0), TestSite::drush());
    EXPECT_EQ(argv->getElement<std::string>(1), "@hostmaster");
    EXPECT_EQ(argv->getElement<std::string>(2), "hosting-task");
    seen.insert(argv->getElement<std::string>(3));
    EXPECT_EQ(argv->getElement<std::string>(4), "--strict=0");
    EXPECT_EQ(argv->getElement<std::string>(5), "--force");
    // Its own process group, and only HOME, USER and PATH from the daemon, plus the run's id
    // (how a restarted daemon finds a child whose pid it had no time to record).
    EXPECT_EQ(call->getValue<int>("pgid"), call->getValue<int>("pid"));
    const auto names = call->getArray("env_names");
    std::set<std::string> env;
    for (unsigned i = 0; i < names->size(); ++i) env.insert(names->getElement<std::string>(i));
    EXPECT_EQ(env, (std::set<std::string>{"HOME", "USER", "PATH", "SKYNET_RUN_ID"}));
    EXPECT_EQ(call->getObject("env")->getValue<std::string>("HOME"), site_->home());
  }
  EXPECT_EQ(seen, (std::set<std::string>{std::to_string(nids[0]), std::to_string(nids[1]), std::to_string(nids[2])}));
  for (auto nid : nids) {
    EXPECT_EQ(site_->aegir().current(nid).status, aegir::kSuccess);
    EXPECT_EQ(site_->aegir().revisions(nid), 2);  // the queued one and the one hosting-task saved
  }
}

TEST_F(QueueDaemonTest, RunsTasksInQueueOrder) {
  // Queued in reverse nid order: node.changed decides, not the nid.
  const auto third = site_->aegir().queueTask(10, "verify", "", 1700000300);
  const auto second = site_->aegir().queueTask(11, "verify", "", 1700000200);
  const auto first = site_->aegir().queueTask(12, "verify", "", 1700000100);
  start();
  ASSERT_TRUE(waitUntil([&] { return allFinished({first.nid, second.nid, third.nid}); }));
  stop();
  const auto lines = site_->invocations();
  ASSERT_EQ(lines.size(), 3u);
  std::vector<std::string> order;
  for (const auto& line : lines) {
    order.push_back(
        Poco::JSON::Parser().parse(line).extract<Poco::JSON::Object::Ptr>()->getArray("argv")->getElement<std::string>(3));
  }
  EXPECT_EQ(order, (std::vector<std::string>{std::to_string(first.nid), std::to_string(second.nid),
                                             std::to_string(third.nid)}));
}

TEST_F(QueueDaemonTest, EverySimulatedOutcomeEndsInTheRightFinalState) {
  struct Case {
    std::int64_t rid;
    const char* behaviour;
    int status;
    const char* state;
  };
  const std::vector<Case> cases = {
      {10, "succeed", aegir::kSuccess, "succeeded"}, {11, "fail", aegir::kError, "failed"},
      {12, "warn", aegir::kWarning, "warning"},      {1, "sleep:0.5", aegir::kSuccess, "succeeded"},
      {2, "crash", aegir::kError, "failed"},         {3, "flood:3000000", aegir::kSuccess, "succeeded"},
  };
  std::vector<std::int64_t> nids;
  for (const auto& c : cases) nids.push_back(site_->aegir().queueTask(c.rid, "verify", c.behaviour).nid);
  start("[queue]\nconcurrency = 3\nexclusive =\n");
  ASSERT_TRUE(waitUntil([&] { return allFinished(nids); }));
  for (std::size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(cases[i].behaviour);
    EXPECT_EQ(site_->aegir().current(nids[i]).status, cases[i].status);
    EXPECT_EQ(finalRun(nids[i]).state, cases[i].state);
  }
  EXPECT_EQ(site_->aegir().countWithStatus(aegir::kProcessing), 0);

  // The crash: Skynet finished what hosting-task could not, and said why in the task's log.
  const auto crashed = site_->aegir().current(nids[4]);
  const auto log = site_->aegir().log(crashed.vid);
  ASSERT_FALSE(log.empty());
  EXPECT_EQ(log.back().type, "error");
  EXPECT_EQ(log.back().error, "SKYNET_TASK_DIED");
  EXPECT_EQ(log.back().message, "Skynet: hosting-task ended with exit code 255 before finishing the task.");
  const auto crashRun = finalRun(nids[4]);
  EXPECT_TRUE(crashRun.hasExitCode);
  EXPECT_EQ(crashRun.exitCode, 255);
  EXPECT_NE(crashRun.logTail.find("PHP Fatal error"), std::string::npos);

  // The flood: the whole output is in the run's file, the record keeps a bounded tail.
  const auto floodRun = finalRun(nids[5]);
  EXPECT_LE(floodRun.logTail.size(), 64u * 1024u);
  EXPECT_GT(floodRun.logTail.size(), 0u);
}

TEST_F(QueueDaemonTest, RecordsEachRunWithItsTaskWorkerAndTimes) {
  const auto task = site_->aegir().queueTask(10, "backup", "fail");
  start();
  const auto run = finalRun(task.nid);
  EXPECT_EQ(run.state, "failed");
  EXPECT_EQ(run.vid, task.vid);
  EXPECT_EQ(run.rid, 10);
  EXPECT_EQ(run.type, "backup");
  EXPECT_GT(run.workerId, 0);
  EXPECT_GT(run.pid, 0);
  EXPECT_EQ(run.attempts, 1);
  EXPECT_TRUE(run.hasExitCode);
  EXPECT_EQ(run.exitCode, 1);
  EXPECT_GE(run.stopped, run.started);
  EXPECT_GT(run.started, 1700000000.0);
  // The task's whole output is in the file the record names.
  std::ifstream output(run.outputFile);
  std::stringstream text;
  text << output.rdbuf();
  EXPECT_NE(text.str().find("Task starts processing"), std::string::npos) << run.outputFile;
  EXPECT_NE(run.logTail.find("Task starts processing"), std::string::npos);
  const auto worker = site_->db().queryOne("SELECT host, pid FROM {skynet_worker} WHERE id = ?", {run.workerId});
  ASSERT_TRUE(worker.has_value());
  EXPECT_EQ(worker->integer(1), getpid());
}

TEST_F(QueueDaemonTest, KillsAHungTaskAfterItsTimeoutAndFailsIt) {
  const auto task = site_->aegir().queueTask(10, "migrate", "hang");
  start("[queue]\nkill_grace = 1\n[task.migrate]\ntimeout = 1\n");
  const auto run = finalRun(task.nid);
  EXPECT_EQ(run.state, "timed_out");
  EXPECT_EQ(run.signal, SIGTERM);
  const auto current = site_->aegir().current(task.nid);
  EXPECT_EQ(current.status, aegir::kError);
  const auto log = site_->aegir().log(current.vid);
  ASSERT_FALSE(log.empty());
  EXPECT_EQ(log.back().error, "SKYNET_TASK_TIMEOUT");
  EXPECT_EQ(log.back().message,
            "Skynet: the task ran longer than its timeout of 1 s and was killed (signal 15 (Terminated)).");
  EXPECT_TRUE(capture_->contains("timed out after 1 s"));
}

TEST_F(QueueDaemonTest, RequeuesATaskHostingTaskNeverTookAndRetriesItLater) {
  const auto task = site_->aegir().queueTask(10, "verify", "exit-early");
  start();
  const auto deferred = finalRun(task.nid);
  EXPECT_EQ(deferred.state, "deferred");
  EXPECT_NE(deferred.message.find("PROVISION_OVERLOAD"), std::string::npos) << deferred.message;
  EXPECT_NE(deferred.message.find("next try in 5.0 s"), std::string::npos) << deferred.message;
  // Back in the queue on the same revision; nothing else touched.
  EXPECT_EQ(site_->aegir().current(task.nid).vid, task.vid);
  EXPECT_EQ(site_->aegir().statusOf(task.vid), aegir::kQueued);
  EXPECT_EQ(site_->aegir().revisions(task.nid), 1);

  // The load goes down: the retry takes it.
  site_->db().execute("UPDATE {hosting_task_arguments} SET value = 'succeed' WHERE vid = ?", {task.vid});
  ASSERT_TRUE(waitUntil([&] { return finished(task.nid); }, 30));
  EXPECT_EQ(site_->aegir().current(task.nid).status, aegir::kSuccess);
  const auto retried = finalRun(task.nid);
  EXPECT_EQ(retried.attempts, 2);
  EXPECT_EQ(site_->invocations().size(), 2u);
}

TEST_F(QueueDaemonTest, ClaimsNothingWhilePausedAndResumes) {
  site_->aegir().setVariable("hosting_skynet_paused", "s:1:\"1\";");
  const auto task = site_->aegir().queueTask(10, "verify");
  start();
  ASSERT_TRUE(waitUntil([&] { return capture_->contains("queue paused"); }));
  EXPECT_EQ(site_->aegir().statusOf(task.vid), aegir::kQueued);
  EXPECT_TRUE(site_->invocations().empty());
  site_->aegir().setVariable("hosting_skynet_paused", "b:0;");
  ASSERT_TRUE(waitUntil([&] { return finished(task.nid); }));
  EXPECT_TRUE(capture_->contains("queue resumed"));
}

TEST_F(QueueDaemonTest, PausingLetsRunningTasksFinish) {
  const auto task = site_->aegir().queueTask(10, "verify", "sleep:1");
  start();
  ASSERT_TRUE(waitUntil([&] { return site_->aegir().current(task.nid).vid != task.vid; }));
  site_->aegir().setVariable("hosting_skynet_paused", "i:1;");
  ASSERT_TRUE(waitUntil([&] { return finished(task.nid); }));
  EXPECT_EQ(site_->aegir().current(task.nid).status, aegir::kSuccess);
}

TEST_F(QueueDaemonTest, NeverRunsTwoTasksForOneSite) {
  const auto a = site_->aegir().queueTask(10, "verify", "sleep:0.5", 1700000100);
  const auto b = site_->aegir().queueTask(10, "backup", "sleep:0.5", 1700000200);
  const auto other = site_->aegir().queueTask(11, "verify", "sleep:0.5", 1700000300);
  start("[queue]\nconcurrency = 3\n");
  ASSERT_TRUE(waitUntil([&] { return allFinished({a.nid, b.nid, other.nid}); }));
  const auto first = finalRun(a.nid), second = finalRun(b.nid);
  EXPECT_GE(second.started, first.stopped);
}

TEST_F(QueueDaemonTest, ASitesLockPassesFromTheRunThatEndsToTheNextAndNoneIsLeftBehind) {
  // One at a time: each end and the next claim are one batch, whose claim releases the ended
  // run's lock row (the same site's, then another site's) and takes its own.
  const auto first = site_->aegir().queueTask(10, "verify", "succeed", 1700000100);
  const auto second = site_->aegir().queueTask(10, "migrate", "hang", 1700000200);
  const auto third = site_->aegir().queueTask(11, "migrate", "hang", 1700000300);
  start("[queue]\nconcurrency = 1\nkill_grace = 1\n[task.migrate]\ntimeout = 2\n");
  using Held = std::vector<std::pair<std::int64_t, std::int64_t>>;  // rid, run
  auto held = [&] {
    Held rows;
    for (const auto& row : site_->db().query("SELECT rid, run_id FROM {skynet_lock} WHERE rid <> 0 ORDER BY rid")) {
      rows.emplace_back(row.integer(0), row.integer(1));
    }
    return rows;
  };
  auto runIdOf = [&](std::int64_t nid) -> std::int64_t {
    if (runs::schemaVersion(site_->db()) == 0) return 0;  // the daemon has not created its tables yet
    const auto row = site_->db().queryOne("SELECT MAX(id) FROM {skynet_run} WHERE task_nid = ?", {nid});
    return row ? row->integer(0, 0) : 0;
  };
  ASSERT_TRUE(waitUntil([&] { return runIdOf(second.nid) != 0; }));
  EXPECT_EQ(held(), (Held{{10, runIdOf(second.nid)}}));
  ASSERT_TRUE(waitUntil([&] { return runIdOf(third.nid) != 0; }));
  EXPECT_EQ(held(), (Held{{11, runIdOf(third.nid)}}));
  ASSERT_TRUE(waitUntil([&] { return allFinished({first.nid, second.nid, third.nid}); }));
  ASSERT_TRUE(waitUntil([&] { return finalRun(third.nid).state == "timed_out"; }));
  EXPECT_EQ(finalRun(first.nid).state, "succeeded");
  EXPECT_EQ(finalRun(second.nid).state, "timed_out");
  EXPECT_TRUE(held().empty());
  EXPECT_EQ(site_->db().queryOne("SELECT COUNT(*) FROM {skynet_lock} WHERE rid = 0")->integer(0), 1) << "the guard row";
}

TEST_F(QueueDaemonTest, AClaimThatFindsItsTaskTakenLeavesNoRunRecordAndTheQueueGoesOn) {
  // A batch's claims and their run records go to the server together (dispatcher.cc,
  // claimTasksIn): where a claim affects no row, its record is taken back in the same transaction,
  // and the claims beside it keep their own records.
  const auto first = site_->aegir().queueTask(10, "verify", "sleep:1", 1700000100);
  const auto second = site_->aegir().queueTask(11, "verify", "sleep:1", 1700000150);
  const auto taken = site_->aegir().queueTask(12, "verify", "succeed", 1700000200);
  const auto last = site_->aegir().queueTask(13, "verify", "succeed", 1700000300);
  // Polls far apart: the poll that reads the queue comes before the first runs, the next one
  // after their ends, whose batches claim from the copy (a poll would find the task taken).
  start("[queue]\nconcurrency = 2\npoll_interval = 3\n");
  ASSERT_TRUE(waitUntil([&] {
    return site_->aegir().current(first.nid).status == aegir::kProcessing &&
           site_->aegir().current(second.nid).status == aegir::kProcessing;
  }));
  // Taken while the daemon's copy of the queue still holds it, by an administrator's statement
  // that leaves no trace the daemon reads (no `executed`, so its site does not count as busy).
  site_->db().execute("UPDATE {hosting_task} SET task_status = -1 WHERE vid = ?", {taken.vid});
  ASSERT_TRUE(waitUntil([&] { return allFinished({first.nid, second.nid, last.nid}); }));
  EXPECT_TRUE(capture_->contains("was taken by another runner")) << "the claim of the taken task was not tried";
  EXPECT_TRUE(runsOf(taken.nid).empty());
  EXPECT_EQ(site_->aegir().current(taken.nid).status, aegir::kProcessing) << "left as the other runner set it";
  for (const auto nid : {first.nid, second.nid, last.nid}) {
    ASSERT_EQ(runsOf(nid).size(), 1u) << nid;
    EXPECT_EQ(finalRun(nid).state, "succeeded") << nid;
  }
  EXPECT_EQ(site_->db().queryOne("SELECT COUNT(*) FROM {skynet_run}")->integer(0), 3);
  ASSERT_TRUE(waitUntil([&] {
    return site_->db().queryOne("SELECT COUNT(*) FROM {skynet_lock} WHERE rid <> 0")->integer(0) == 0;
  }));
}

TEST_F(QueueDaemonTest, AdoptModeHandsRunningTasksToTheNextStartWhichAdoptsThem) {
  const auto task = site_->aegir().queueTask(10, "verify", "sleep:1.5");
  start("[queue]\nshutdown = adopt\n");
  ASSERT_TRUE(waitUntil([&] { return site_->aegir().current(task.nid).vid != task.vid && runsOf(task.nid).back().pid; }));
  const auto pid = static_cast<pid_t>(runsOf(task.nid).back().pid);
  EXPECT_EQ(stop(), 0);
  EXPECT_EQ(kill(pid, 0), 0) << "the task's process should outlive the daemon";
  EXPECT_EQ(runsOf(task.nid).back().state, "running");
  start("[queue]\nshutdown = adopt\n");
  const auto run = finalRun(task.nid);
  EXPECT_EQ(run.state, "succeeded");
  EXPECT_NE(run.message.find("adopted from worker"), std::string::npos) << run.message;
  EXPECT_EQ(runsOf(task.nid).size(), 1u);
  EXPECT_EQ(site_->aegir().current(task.nid).status, aegir::kSuccess);
  EXPECT_EQ(site_->invocations().size(), 1u);
}

TEST_F(QueueDaemonTest, CapsARunsOutputFileKeepingItsHeadAndItsTail) {
  const auto task = site_->aegir().queueTask(10, "verify", "flood:6000000");
  start("[log]\nmax_output_bytes = 1048576\n");
  const auto run = finalRun(task.nid);
  EXPECT_EQ(run.state, "succeeded");
  std::ifstream in(run.outputFile, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_LE(text.size(), 1048576u);
  EXPECT_NE(text.substr(0, 1024).find("Running provision-verify"), std::string::npos) << "the head stays";
  EXPECT_NE(text.find("bytes of output cut here to keep the file within log.max_output_bytes"), std::string::npos);
  const std::string tail = text.substr(text.size() - 4096);
  EXPECT_NE(tail.find(std::string(99, 'x') + "\n"), std::string::npos) << "the tail stays: " << tail;
}

TEST_F(QueueDaemonTest, NeverAppendsToAnOlderRunsOutputFile) {
  const auto task = site_->aegir().queueTask(10, "verify");
  // A file of the same name from another database's run 1.
  ASSERT_EQ(testing::runCommand("mkdir -p " + site_->dir() + "/task-output && echo 'OLD RUN OUTPUT' > " + site_->dir() +
                                "/task-output/task-" + std::to_string(task.nid) + "-run-1.log"),
            0);
  start();
  const auto run = finalRun(task.nid);
  EXPECT_EQ(run.outputFile, site_->dir() + "/task-output/task-" + std::to_string(task.nid) + "-run-1.log");
  std::ifstream in(run.outputFile);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text.find("OLD RUN OUTPUT"), std::string::npos) << text;
  EXPECT_NE(text.find("Running provision-verify"), std::string::npos);
}

TEST_F(QueueDaemonTest, PrunesRunOutputFilesOlderThanKeepDays) {
  const std::string folder = site_->dir() + "/task-output";
  ASSERT_EQ(testing::runCommand("mkdir -p " + folder + " && touch -d '40 days ago' " + folder + "/task-7-run-3.log " +
                                folder + "/notes.txt && touch -d '2 days ago' " + folder + "/job-2-run-9.log"),
            0);
  start("[log]\nkeep_days = 30\n");
  ASSERT_TRUE(waitUntil([&] { return access((folder + "/task-7-run-3.log").c_str(), F_OK) != 0; }));
  EXPECT_EQ(access((folder + "/job-2-run-9.log").c_str(), F_OK), 0) << "younger than keep_days";
  EXPECT_EQ(access((folder + "/notes.txt").c_str(), F_OK), 0) << "not a run's output file";
  EXPECT_TRUE(capture_->contains("removed 1 run output file(s) older than 30 days"));
}

TEST_F(QueueDaemonTest, ADeepBacklogOnOneSiteDoesNotDelayAnotherSite) {
  // 2,000 old tasks on one site: ten times what a poll reads oldest-first.
  const std::int64_t old = static_cast<std::int64_t>(unixTime()) - 3600;
  for (int i = 0; i < 2000; ++i) site_->aegir().queueTask(10, "verify", "sleep:0.2", old + i);
  const auto other = site_->aegir().queueTask(11, "verify");
  start("[queue]\nconcurrency = 2\n");
  ASSERT_TRUE(waitUntil([&] { return finished(other.nid); }));
  EXPECT_EQ(site_->aegir().current(other.nid).status, aegir::kSuccess);
  EXPECT_GE(site_->aegir().countWithStatus(aegir::kQueued), 1950) << "the other site did not wait for the backlog";
}

TEST_F(QueueDaemonTest, GivesTheMemoryOfItsQueueCopyBackOnceABacklogIsGone) {
  // 1,000 tasks for one site, queued before the start: its first poll copies them all
  // (daemon/queue_mirror.h) and the first one runs while the others wait for the site.
  const auto first = site_->aegir().queueTask(10, "verify", "sleep:30");
  for (int i = 1; i < 1000; ++i) site_->aegir().queueTask(10, "verify");
  start("[queue]\nconcurrency = 2\n");
  ASSERT_TRUE(waitUntil([&] { return site_->aegir().current(first.nid).status == aegir::kProcessing; }));
  EXPECT_FALSE(capture_->contains("freed memory given back")) << "given back while the backlog was queued";
  // Someone else takes the backlog (another runner, an administrator): the copy drains.
  site_->db().execute("UPDATE {hosting_task} SET task_status = ? WHERE task_status = 0", {aegir::kError});
  EXPECT_TRUE(waitUntil([&] { return capture_->contains("the queue drained after a backlog of 1000 tasks"); }, 60));
  EXPECT_EQ(site_->db().queryOne("SELECT COUNT(*) FROM {skynet_run}")->integer(0), 1) << "a task taken away was run";
}

TEST_F(QueueDaemonTest, KeepsItsHeartbeatWhileDraining) {
  // Longer than a heartbeat interval (runs::kHeartbeatEvery), so one must come while it drains.
  const auto task = site_->aegir().queueTask(10, "verify", "sleep:14");
  start("[queue]\nshutdown = drain\n");
  ASSERT_TRUE(waitUntil([&] { return site_->aegir().current(task.nid).vid != task.vid; }));
  const double stopAsked = unixTime();
  std::thread stopper([this] { stop(); });
  const bool beat = waitUntil([&] {
    return site_->db().queryOne("SELECT MAX(heartbeat) FROM {skynet_worker}")->real(0) > stopAsked + 1;
  }, 25);
  const bool stillRunning = site_->aegir().current(task.nid).status == aegir::kProcessing;
  stopper.join();
  EXPECT_TRUE(beat) << "no heartbeat while draining: the worker would look dead to adoption";
  EXPECT_TRUE(stillRunning);
  EXPECT_EQ(site_->aegir().current(task.nid).status, aegir::kSuccess);
}

TEST_F(QueueDaemonTest, NewCredentialsForTheSameDatabaseKeepTheWorker) {
  auto& db = site_->db();
  const std::string user = "cred_" + std::to_string(getpid());
  db::ConnectionParams rootParams = site_->params();
  rootParams.user = "root";  // the sandbox's superuser (socket only, no password)
  rootParams.password = "";
  db::Connection root(rootParams);
  root.execute("CREATE USER IF NOT EXISTS '" + user + "'@'localhost' IDENTIFIED BY 'other-password'");
  root.execute("GRANT ALL PRIVILEGES ON `" + site_->params().database + "`.* TO '" + user + "'@'localhost'");
  start();
  ASSERT_TRUE(waitUntil([&] { return capture_->contains("connected to database"); }));
  const auto before = db.queryOne("SELECT COUNT(*), MAX(id) FROM {skynet_worker}");
  std::string config;
  {
    std::ifstream in(site_->configFile());
    config.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  const auto replace = [&](const std::string& from, const std::string& to) {
    config.replace(config.find(from), from.size(), to);
  };
  replace("user = " + site_->params().user, "user = " + user);
  replace("passwd = " + site_->params().password, "passwd = other-password");
  std::ofstream(site_->configFile()) << config;
  daemon_->requestReload();
  const auto task = site_->aegir().queueTask(10, "verify");
  ASSERT_TRUE(waitUntil([&] { return finished(task.nid); }));
  const auto after = db.queryOne("SELECT COUNT(*), MAX(id) FROM {skynet_worker}");
  EXPECT_EQ(after->integer(0), before->integer(0)) << "a new worker would make the running one look dead";
  EXPECT_EQ(runsOf(task.nid).back().workerId, before->integer(1));
  stop();
  root.execute("DROP USER '" + user + "'@'localhost'");
}

TEST_F(QueueDaemonTest, AReloadToAnotherDatabaseRecordsRunningTasksWhereTheyWereClaimed) {
  TestSite second(testing::testDatabaseName("d2"));
  const auto task = site_->aegir().queueTask(10, "verify", "sleep:1.5");
  start();
  ASSERT_TRUE(waitUntil([&] { return site_->aegir().current(task.nid).vid != task.vid; }));
  ASSERT_EQ(testing::runCommand("cp " + second.configFile() + " " + site_->configFile()), 0);
  daemon_->requestReload();
  ASSERT_TRUE(waitUntil([&] { return capture_->contains("connected to database '" + second.params().database + "'"); }));
  // The outcome went to the first database, before the daemon moved on.
  EXPECT_EQ(site_->aegir().current(task.nid).status, aegir::kSuccess);
  EXPECT_EQ(finalRun(task.nid).state, "succeeded");
  EXPECT_EQ(second.db().queryOne("SELECT COUNT(*) FROM {skynet_run}")->integer(0), 0);
  EXPECT_TRUE(capture_->contains("switching once the 1 run(s) claimed from"));
}

TEST_F(QueueDaemonTest, DrainModeWaitsForRunningTasks) {
  const auto task = site_->aegir().queueTask(10, "verify", "sleep:1");
  start("[queue]\nshutdown = drain\n");
  ASSERT_TRUE(waitUntil([&] { return site_->aegir().current(task.nid).vid != task.vid; }));
  EXPECT_EQ(stop(), 0);
  EXPECT_EQ(site_->aegir().current(task.nid).status, aegir::kSuccess);
  EXPECT_EQ(finalRun(task.nid).state, "succeeded");
}

TEST_F(QueueDaemonTest, KillModeKillsAndFailsRunningTasks) {
  const auto task = site_->aegir().queueTask(10, "verify", "hang");
  start("[queue]\nshutdown = kill\nkill_grace = 1\n");
  ASSERT_TRUE(waitUntil([&] { return site_->aegir().current(task.nid).vid != task.vid; }));
  EXPECT_EQ(stop(), 0);
  const auto current = site_->aegir().current(task.nid);
  EXPECT_EQ(current.status, aegir::kError);
  EXPECT_EQ(site_->aegir().log(current.vid).back().error, "SKYNET_TASK_KILLED");
}

TEST_F(QueueDaemonTest, ExclusiveTaskRunsAlone) {
  const auto platform = site_->aegir().queueTask(4, "verify", "sleep:0.5", 1700000100);
  const auto siteTask = site_->aegir().queueTask(10, "verify", "sleep:0.5", 1700000200);
  start("[queue]\nconcurrency = 3\n");
  ASSERT_TRUE(waitUntil([&] { return allFinished({platform.nid, siteTask.nid}); }));
  EXPECT_GE(finalRun(siteTask.nid).started, finalRun(platform.nid).stopped);
}

TEST_F(QueueDaemonTest, WarnsWhenAegirsCronRunnerStillTakesTasks) {
  const auto task = site_->aegir().queueTask(10, "verify");
  start();
  ASSERT_TRUE(waitUntil([&] { return finished(task.nid); }));
  EXPECT_FALSE(capture_->contains("hosting_queue_tasks_enabled"));  // the fixture has it off (b:0;)
  stop();
  site_->aegir().setVariable("hosting_queue_tasks_enabled", "i:1;");
  start();
  EXPECT_TRUE(waitUntil([&] { return capture_->contains("cron queue runner is on (hosting_queue_tasks_enabled)"); }));
}

TEST_F(QueueDaemonTest, HoldsAegirsQueueSemaphoreRenewingItWithItsHeartbeatAndReleasesItOnStop) {
  const auto semaphore = [&] {
    return site_->db().queryOne("SELECT value, expire FROM {semaphore} WHERE name = 'hosting_queue_tasks_running'");
  };
  start();
  ASSERT_TRUE(waitUntil([&] { return semaphore().has_value(); }));
  const auto worker = site_->db().queryOne("SELECT id FROM {skynet_worker} WHERE stopped IS NULL");
  ASSERT_TRUE(worker);
  const std::string owner = semaphore()->text(0);  // skynet:<host>:<worker id>
  EXPECT_EQ(owner.rfind("skynet:", 0), 0u) << owner;
  EXPECT_EQ(owner.substr(owner.rfind(':') + 1), worker->text(0)) << owner;
  const double firstExpiry = semaphore()->real(1);
  ASSERT_TRUE(waitUntil([&] { return semaphore()->real(1) > firstExpiry; }, 30)) << "never renewed";
  // Renewed in the heartbeat's transaction: the worker's heartbeat is of the same moment.
  const double heartbeat =
      site_->db().queryOne("SELECT heartbeat FROM {skynet_worker} WHERE id = ?", {worker->integer(0)})->real(0);
  EXPECT_NEAR(semaphore()->real(1) - 30, heartbeat, 0.5);
  stop();
  EXPECT_FALSE(semaphore()) << "left behind: Aegir's own runner would wait for it to expire";
}

TEST_F(QueueDaemonTest, LeavesAegirsQueueSemaphoreToTheRunnerThatHoldsItAndSaysSo) {
  const double expire = unixTime() + 3600;
  site_->db().execute("INSERT INTO {semaphore} (name, value, expire) VALUES ('hosting_queue_tasks_running', "
                      "'4711.aegir-cron', ?)",
                      {expire});
  start();
  EXPECT_TRUE(waitUntil([&] { return capture_->contains("Aegir's own queue runner holds the semaphore"); }));
  stop();
  const auto row = site_->db().queryOne("SELECT value, expire FROM {semaphore} WHERE name = 'hosting_queue_tasks_running'");
  ASSERT_TRUE(row);
  EXPECT_EQ(row->text(0), "4711.aegir-cron");
  EXPECT_DOUBLE_EQ(row->real(1), expire);
}

// A MariaDB of the test's own, so it can be stopped and started again under a running daemon.
class DatabaseOutageTest : public QueueDaemonTest {
 protected:
  void SetUp() override {
    server_ = std::make_unique<testing::PrivateServer>("outage");
    site_ = std::make_unique<TestSite>(server_->params(), "");
    capture_ = new LogCapture;
    Poco::Logger::get("test-daemon").setChannel(capture_);
    Poco::Logger::get("test-daemon").setLevel("debug");
    setenv("HOME", site_->home().c_str(), 1);
  }
  void TearDown() override {
    QueueDaemonTest::TearDown();
    site_.reset();
    server_.reset();
  }
  std::unique_ptr<testing::PrivateServer> server_;
};

TEST_F(DatabaseOutageTest, KeepsWatchingItsTasksAndWritesTheirOutcomeWhenTheDatabaseIsBack) {
  const auto task = site_->aegir().queueTask(10, "verify", "hang");
  start();
  std::int64_t pid = 0;
  ASSERT_TRUE(waitUntil([&] {
    const auto runs = runsOf(task.nid);
    pid = runs.empty() ? 0 : runs.back().pid;
    return pid > 0 && site_->aegir().current(task.nid).vid != task.vid;
  }));
  ASSERT_EQ(server_->halt(), 0);
  kill(static_cast<pid_t>(-pid), SIGKILL);  // the task dies while nobody can record it
  ASSERT_TRUE(waitUntil([&] { return capture_->contains("retrying with backoff"); }));
  ASSERT_EQ(server_->start(), 0);

  ASSERT_TRUE(waitUntil([&] { return capture_->contains("database is reachable again"); }));
  site_->reconnect();
  ASSERT_TRUE(waitUntil([&] { return finished(task.nid); }));
  const auto current = site_->aegir().current(task.nid);
  EXPECT_EQ(current.status, aegir::kError);
  EXPECT_EQ(site_->aegir().log(current.vid).back().message,
            "Skynet: hosting-task ended with signal 9 (Killed) before finishing the task.");
  EXPECT_EQ(finalRun(task.nid).state, "failed");

  // And it goes on taking tasks.
  const auto next = site_->aegir().queueTask(11, "verify");
  ASSERT_TRUE(waitUntil([&] { return finished(next.nid); }));
  EXPECT_EQ(site_->aegir().current(next.nid).status, aegir::kSuccess);
}

TEST_F(DatabaseOutageTest, StartsWithoutTheDatabaseAndWaitsForIt) {
  const auto task = site_->aegir().queueTask(10, "verify");
  ASSERT_EQ(server_->halt(), 0);
  start();
  ASSERT_TRUE(waitUntil([&] { return capture_->contains("retrying with backoff"); }));
  EXPECT_TRUE(capture_->contains("cannot connect to database 'outage'"));
  // Waiting for the database, the daemon sleeps between its attempts: over a few seconds of
  // outage this process (the daemon's threads; the test's own only sleeps) uses next to no CPU,
  // where a wait that came out 0 spun one thread at a full core.
  timespec before{}, after{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &before);
  std::this_thread::sleep_for(std::chrono::seconds(3));  // the window observed, not a synchronisation
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &after);
  const double cpu = static_cast<double>(after.tv_sec - before.tv_sec) + static_cast<double>(after.tv_nsec - before.tv_nsec) / 1e9;
  EXPECT_LT(cpu, 0.1) << "the daemon does not sleep while the database is down";
  ASSERT_EQ(server_->start(), 0);
  site_->reconnect();
  ASSERT_TRUE(waitUntil([&] { return finished(task.nid); }));
  EXPECT_EQ(site_->aegir().current(task.nid).status, aegir::kSuccess);
}

TEST_F(QueueDaemonTest, ReloadAppliesNewSettingsWithoutDisturbingRunningTasks) {
  const auto hung = site_->aegir().queueTask(10, "verify", "hang");
  const auto waiting = site_->aegir().queueTask(11, "verify");
  start("[queue]\nshutdown = kill\nkill_grace = 1\n");
  ASSERT_TRUE(waitUntil([&] { return site_->aegir().current(hung.nid).vid != hung.vid; }));
  EXPECT_EQ(site_->aegir().statusOf(waiting.vid), aegir::kQueued);  // concurrency 1: it waits

  site_->writeConfig("[queue]\nshutdown = kill\nkill_grace = 1\nconcurrency = nope\n");
  daemon_->requestReload();
  ASSERT_TRUE(waitUntil([&] { return capture_->contains("configuration not reloaded, the running one stays"); }));
  EXPECT_TRUE(capture_->contains("queue.concurrency: expected a whole number"));

  site_->writeConfig("[queue]\nshutdown = kill\nkill_grace = 1\nconcurrency = 2\n");
  daemon_->requestReload();
  ASSERT_TRUE(waitUntil([&] { return finished(waiting.nid); }));
  EXPECT_TRUE(capture_->contains("configuration reloaded from " + site_->configFile() + ": concurrency 2"));
  EXPECT_EQ(site_->aegir().current(hung.nid).status, aegir::kProcessing);  // still running
  EXPECT_EQ(stop(), 0);
  EXPECT_EQ(site_->aegir().current(hung.nid).status, aegir::kError);
}

TEST_F(QueueDaemonTest, FindsAnOldRevisionSetBackToQueuedByHand) {
  // A task that ran long ago: its revision is below everything the daemon's polls read.
  const auto old = site_->aegir().queueTask(10, "verify");
  site_->db().execute("UPDATE {hosting_task} SET task_status = 1 WHERE vid = ?", {old.vid});
  start("[queue]\npoll_interval = 0.1\n");
  const auto later = site_->aegir().queueTask(11, "verify");
  ASSERT_TRUE(waitUntil([&] { return finished(later.nid); }));  // polls went past it
  // The audit has read the whole history (one chunk, up to the last revision hosting-task saved)
  // and passed it again by its digest alone: the revision set back lies in a chunk the audit found
  // nothing queued in, and which it would pass again if the digest missed the change.
  const auto top = site_->db().queryOne("SELECT MAX(vid) FROM {node_revision}")->integer(0) + 1;
  const std::string passed = "audit: vids [1, " + std::to_string(top) + ") unchanged since they were read";
  ASSERT_TRUE(waitUntil([&] { return capture_->contains(passed); }, 60));
  // Set back to queued by hand: only the audit of the history finds it.
  site_->db().execute("UPDATE {hosting_task} SET task_status = 0 WHERE vid = ?", {old.vid});
  ASSERT_TRUE(waitUntil([&] { return finished(old.nid); }, 30));
  ASSERT_EQ(runsOf(old.nid).size(), 1u);
  EXPECT_EQ(finalRun(old.nid).state, "succeeded");
  EXPECT_EQ(finalRun(old.nid).vid, old.vid);
}

TEST_F(QueueDaemonTest, FindsATaskWhoseTransactionCommittedAfterAPoll) {
  start("[queue]\npoll_interval = 0.1\n");
  ASSERT_TRUE(waitUntil([&] { return runs::schemaVersion(site_->db()) > 0; }));
  // Another connection queues a task and holds its transaction open: its vid is taken now.
  db::Connection slow(site_->params());
  testing::AegirFixture slowAegir(slow);
  std::optional<testing::TaskRef> late;
  {
    db::Transaction transaction(slow);
    late = slowAegir.queueTask(10, "verify");
    // A task queued and committed after it (a higher vid) runs: polls went past the open one.
    const auto after = site_->aegir().queueTask(11, "verify");
    ASSERT_GT(after.vid, late->vid);
    ASSERT_TRUE(waitUntil([&] { return finished(after.nid); }));
    transaction.commit();
  }
  ASSERT_TRUE(waitUntil([&] { return finished(late->nid); }));
  EXPECT_EQ(finalRun(late->nid).state, "succeeded");
}

TEST_F(QueueDaemonTest, ARecordTheServerRejectsIsDroppedAndTheQueueGoesOn) {
  const auto first = site_->aegir().queueTask(10, "verify");
  const auto rejected = site_->aegir().queueTask(11, "verify");
  const auto third = site_->aegir().queueTask(12, "verify");
  start();
  ASSERT_TRUE(waitUntil([&] { return runs::schemaVersion(site_->db()) > 0; }));
  // The server refuses to record the end of the second task's run (as it would a value it
  // cannot store), and with it the batch that also claims the third task.
  site_->db().execute(
      "CREATE TRIGGER {skynet_test_reject} BEFORE UPDATE ON {skynet_run} FOR EACH ROW "
      "BEGIN IF NEW.task_nid = " + std::to_string(rejected.nid) + " AND NEW.state <> 'running' THEN "
      "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused by the test'; END IF; END");
  ASSERT_TRUE(waitUntil([&] { return finished(first.nid) && finished(rejected.nid) && finished(third.nid); }));
  EXPECT_EQ(finalRun(first.nid).state, "succeeded");
  EXPECT_EQ(finalRun(third.nid).state, "succeeded");
  ASSERT_TRUE(waitUntil([&] { return capture_->contains("dropping that record"); }));
  EXPECT_TRUE(capture_->contains("refused by the test"));
  ASSERT_EQ(runsOf(rejected.nid).size(), 1u);  // never claimed twice
  site_->db().execute("DROP TRIGGER {skynet_test_reject}");
}

// A stop reported through the API while the daemon records the same run's end: the two
// transactions lock in opposite orders, InnoDB breaks the circle by rolling back the smaller
// one, the daemon's batch (the run's end and the claim of the site's next task). The batch is
// written again; the report is kept, nothing is lost, repeated or left processing.
TEST_F(QueueDaemonTest, ABatchRolledBackByADeadlockIsWrittenAgainAndKeepsTheStopReportedMeanwhile) {
  const auto hung = site_->aegir().queueTask(10, "verify", "hang");
  const auto next = site_->aegir().queueTask(10, "verify");  // the same site: claimed in the batch that ends `hung`
  start("[queue]\nconcurrency = 2\n");
  std::int64_t pid = 0;
  ASSERT_TRUE(waitUntil([&] {
    const auto runs = runsOf(hung.nid);
    pid = runs.empty() ? 0 : runs.back().pid;
    return pid > 0 && site_->aegir().current(hung.nid).vid != hung.vid;
  }));
  const std::int64_t runId =
      site_->db().queryOne("SELECT id FROM {skynet_run} WHERE task_nid = ?", {hung.nid})->integer(0);
  site_->db().execute("CREATE TABLE {skynet_test_ballast} (n INT NOT NULL PRIMARY KEY) ENGINE=InnoDB");

  // The report's write (the API's own, held in a transaction so its lock lasts) holds the run's
  // row; the transaction is made the larger of the two (InnoDB rolls back the one that changed
  // fewer rows).
  db::Connection reporter(site_->params());
  {
    db::Transaction report(reporter);
    ASSERT_TRUE(runs::RunApiStore(reporter).applyStop(runId, "failed", {unixTime(), 3, "reported by the test"}));
    reporter.execute("INSERT INTO {skynet_test_ballast} (n) WITH RECURSIVE s (n) AS "
                     "(SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 500) SELECT n FROM s");
    kill(static_cast<pid_t>(-pid), SIGKILL);
    // The daemon's batch holds the lock table and waits for the run's row...
    ASSERT_TRUE(waitUntil([&] {
      return site_->db()
                 .queryOne("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE db = DATABASE() "
                           "AND state = 'Updating' AND info LIKE 'UPDATE %skynet_run%'")
                 ->integer(0) > 0;
    }));
    // ...and the report now wants the lock table's guard row: a deadlock. Not this transaction's.
    ASSERT_NO_THROW(reporter.query("SELECT rid FROM {skynet_lock} WHERE rid = 0 FOR UPDATE"));
    report.commit();
  }

  ASSERT_TRUE(waitUntil([&] { return finished(hung.nid) && finished(next.nid); }));
  EXPECT_TRUE(capture_->contains("rolled back to break a deadlock")) << "the premise: the batch lost the deadlock";
  const auto stopped = finalRun(hung.nid);
  EXPECT_EQ(stopped.state, "failed");
  EXPECT_TRUE(stopped.hasExitCode);
  EXPECT_EQ(stopped.exitCode, 3);
  EXPECT_EQ(stopped.logTail, "reported by the test");
  EXPECT_EQ(site_->aegir().current(hung.nid).status, aegir::kError);  // finalized, not left processing
  EXPECT_EQ(site_->aegir().statusOf(hung.vid), aegir::kQueued) << "the claimed revision goes back to 0";
  ASSERT_EQ(runsOf(next.nid).size(), 1u) << "claimed once, after the batch was written again";
  EXPECT_EQ(finalRun(next.nid).state, "succeeded");
  EXPECT_EQ(site_->invocations().size(), 2u) << "each task ran once";
  EXPECT_EQ(site_->db().queryOne("SELECT COUNT(*) FROM {skynet_lock} WHERE rid <> 0")->integer(0), 0);
  site_->db().execute("DROP TABLE {skynet_test_ballast}");
}

TEST(RetryDelay, DoublesFromFiveSecondsUpToFiveMinutes) {
  EXPECT_DOUBLE_EQ(retryDelay(1), 5);
  EXPECT_DOUBLE_EQ(retryDelay(2), 10);
  EXPECT_DOUBLE_EQ(retryDelay(3), 20);
  EXPECT_DOUBLE_EQ(retryDelay(7), 300);
  EXPECT_DOUBLE_EQ(retryDelay(30), 300);
}

}  // namespace
}  // namespace skynet::daemon
