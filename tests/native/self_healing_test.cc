// Faults a queue daemon must survive (issue "Self-healing"): kill -9 at any point, a child that
// dies while no daemon watches it, a new binary or configuration under a running task, a frozen
// database, two daemons on one database, output that is not UTF-8. Each test causes the fault and
// checks that nothing was lost, run twice or left processing.
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <sstream>

#include "aegir/task_queue.h"
#include "process/child_process.h"
#include "process/process_identity.h"
#include "runs/schema.h"
#include "support/test_site.h"
#include "util/clock.h"

namespace skynet {
namespace {

using testing::TestSite;
using testing::waitUntil;

struct RunRow {
  std::int64_t id = 0, nid = 0, rid = 0, pid = 0, worker = 0;
  std::string state, type, message, logTail;
  double started = 0, stopped = 0;
};

class SelfHealingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() == 0) GTEST_SKIP() << "the daemon refuses root; scripts/test runs this as an unprivileged user";
    site_ = std::make_unique<TestSite>(testing::testDatabaseName("h"));
  }
  void TearDown() override {
    for (auto& daemon : daemons_) {
      if (daemon && !daemon->poll()) {
        kill(daemon->pid(), SIGKILL);
        daemon->wait();
      }
    }
    // Leave no simulator behind (hang, sleep) whatever the test did: every run is a process group.
    try {
      killRunGroups();
    } catch (const db::Error&) {
    }
    if (HasFailure()) {
      for (int i = 1; i <= launches_; ++i) std::cerr << "daemon " << i << ":\n" << read(logName(i)) << "\n";
    }
  }

  std::string logName(int i) const { return "daemon-" + std::to_string(i) + ".txt"; }
  std::string read(const std::string& name) const {
    std::ifstream in(site_->dir() + "/" + name);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  std::string lastLog() const { return read(logName(launches_)); }

  // Starts `skynet queued` (the binary, as supervisor would) with extra --set options.
  process::ChildProcess& launch(const std::vector<std::string>& sets = {}, const std::string& executable = SKYNET_BINARY,
                                const std::string& host = "",
                                const std::map<std::string, std::string>& extraEnvironment = {}) {
    process::LaunchSpec spec;
    spec.executable = executable;
    spec.arguments = {"queued", "--config_file=" + site_->configFile()};
    for (const auto& set : sets) {
      spec.arguments.push_back("--set");
      spec.arguments.push_back(set);
    }
    spec.environment = {{"HOME", site_->home()}, {"PATH", "/usr/local/bin:/usr/bin:/bin"}, {"USER", "test"}};
    if (!host.empty()) spec.environment["SKYNET_HOSTNAME"] = host;
    for (const auto& [name, value] : extraEnvironment) spec.environment[name] = value;
    spec.outputFile = site_->dir() + "/" + logName(++launches_);
    daemons_.push_back(process::ChildProcess::launch(spec));
    return *daemons_.back();
  }

  // SIGKILL to the process group of every run whose process still runs: the recorded start time
  // must match, so a pid reused by someone else's process is never hit.
  void killRunGroups(const std::string& where = "1") {
    for (const auto& row : site_->db().query("SELECT pid, proc_start, boot_id FROM {skynet_run} WHERE pid IS NOT NULL"
                                             " AND proc_start IS NOT NULL AND " + where)) {
      const process::ProcessIdentity identity{static_cast<pid_t>(row.integer(0)),
                                              static_cast<std::uint64_t>(row.integer(1)), row.text(2)};
      if (process::stillRunning(identity)) kill(-identity.pid, SIGKILL);
    }
  }

  // What `skynet status` prints.
  std::string status() {
    process::LaunchSpec spec;
    spec.executable = SKYNET_BINARY;
    spec.arguments = {"status", "--config_file=" + site_->configFile()};
    spec.environment = {{"HOME", site_->home()}, {"PATH", "/usr/local/bin:/usr/bin:/bin"}, {"USER", "test"}};
    spec.outputFile = site_->dir() + "/status.txt";
    process::ChildProcess::launch(spec)->wait();
    return read("status.txt");
  }

  void killNine(process::ChildProcess& daemon) {
    kill(daemon.pid(), SIGKILL);
    daemon.wait();
  }

  std::vector<RunRow> runs(const std::string& where = "1") {
    std::vector<RunRow> rows;
    if (runs::schemaVersion(site_->db()) == 0) return rows;
    for (const auto& row : site_->db().query(
             "SELECT id, COALESCE(task_nid, 0), COALESCE(task_rid, 0), COALESCE(pid, 0), COALESCE(worker_id, 0), state,"
             " COALESCE(task_type, ''), COALESCE(message, ''), COALESCE(log_tail, ''), COALESCE(started, 0),"
             " COALESCE(stopped, 0) FROM {skynet_run} WHERE " + where + " ORDER BY id")) {
      rows.push_back({row.integer(0), row.integer(1), row.integer(2), row.integer(3), row.integer(4), row.text(5),
                      row.text(6), row.text(7), row.text(8), row.real(9), row.real(10)});
    }
    return rows;
  }

  // How many hosting-task invocations of the simulator took each task (its invocation log).
  std::map<std::int64_t, int> invocationsByTask() {
    std::map<std::int64_t, int> counts;
    for (const auto& line : site_->invocations()) {
      const auto call = Poco::JSON::Parser().parse(line).extract<Poco::JSON::Object::Ptr>();
      const auto argv = call->getArray("argv");
      if (argv->size() > 3 && argv->getElement<std::string>(2) == "hosting-task") {
        ++counts[std::stoll(argv->getElement<std::string>(3))];
      }
    }
    return counts;
  }

  bool finished(std::int64_t nid) {
    const int status = site_->aegir().current(nid).status;
    return status != aegir::kQueued && status != aegir::kProcessing;
  }
  // Every task of this test's database is final (one query, however many tasks).
  bool allFinished(const std::vector<std::int64_t>&) {
    return site_->db()
               .queryOne("SELECT COUNT(*) FROM {hosting_task} t JOIN {node} n ON n.vid = t.vid "
                         "WHERE t.task_status IN (0, -1)")
               ->integer(0) == 0;
  }
  std::int64_t rowsAtProcessing() {
    return site_->db().queryOne("SELECT COUNT(*) FROM {hosting_task} WHERE task_status = -1")->integer(0);
  }
  // The most runs whose [started, stopped] overlap at one instant (runs that spawned a process).
  static int mostAtOnce(const std::vector<RunRow>& all) {
    std::vector<std::pair<double, int>> edges;
    for (const auto& run : all) {
      if (run.pid == 0 || run.stopped == 0) continue;
      edges.emplace_back(run.started, 1);
      edges.emplace_back(run.stopped, -1);
    }
    std::sort(edges.begin(), edges.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first < b.first : a.second < b.second;  // an end before a start at one time
    });
    int now = 0, most = 0;
    for (const auto& edge : edges) most = std::max(most, now += edge.second);
    return most;
  }
  bool taken(const testing::TaskRef& task) { return site_->aegir().current(task.nid).vid != task.vid; }

  std::unique_ptr<TestSite> site_;
  std::vector<std::unique_ptr<process::ChildProcess>> daemons_;
  int launches_ = 0;
};

TEST_F(SelfHealingTest, KillNineAtManyPointsLosesNothingAndRunsNothingTwice) {
  std::vector<std::int64_t> nids;
  const std::vector<std::int64_t> sites = {10, 11, 12, 3};
  for (int i = 0; i < 32; ++i) {
    nids.push_back(site_->aegir().queueTask(sites[i % sites.size()], "verify", i % 3 == 0 ? "sleep:0.4" : "sleep:0.1").nid);
  }
  const std::vector<std::string> sets = {"queue.concurrency=3", "queue.poll_interval=0.1"};
  std::mt19937 random(20261201);
  std::uniform_int_distribution<int> delayMs(50, 900);
  int trials = 0;
  for (; trials < 10 && !allFinished(nids); ++trials) {
    auto& daemon = launch(sets);
    // The fault at a random point of the workload: claims, spawns, runs, records all happen here.
    usleep(static_cast<useconds_t>(delayMs(random)) * 1000);
    killNine(daemon);
  }
  auto& last = launch(sets);
  ASSERT_TRUE(waitUntil([&] { return allFinished(nids); }, 120)) << lastLog();
  ASSERT_TRUE(waitUntil([&] { return runs("state = 'running'").empty(); })) << lastLog();
  kill(last.pid(), SIGTERM);
  EXPECT_EQ(last.wait().exitCode, 0);

  const auto invocations = invocationsByTask();
  int lost = 0, twice = 0, stuck = 0;
  for (auto nid : nids) {
    const int status = site_->aegir().current(nid).status;
    if (status == aegir::kProcessing || status == aegir::kQueued) ++stuck;
    if (status != aegir::kSuccess) ++lost;
    const auto found = invocations.find(nid);
    if (found == invocations.end() || found->second != 1) ++twice;
    EXPECT_EQ(status, aegir::kSuccess) << "task " << nid;
    EXPECT_EQ(found == invocations.end() ? 0 : found->second, 1) << "task " << nid << " ran more or less than once";
    EXPECT_EQ(runs("task_nid = " + std::to_string(nid) + " AND state = 'succeeded'").size(), 1u) << "task " << nid;
  }
  EXPECT_EQ(rowsAtProcessing(), 0) << "no hosting_task row may stay at -1, claimed revisions included";
  EXPECT_LE(mostAtOnce(runs("kind = 'task'")), 3);
  std::cout << "kill -9 trials: " << trials << ", tasks: " << nids.size() << ", lost: " << lost << ", twice: " << twice
            << ", stuck: " << stuck << ", most at once: " << mostAtOnce(runs("kind = 'task'")) << "\n";
}

TEST_F(SelfHealingTest, AClaimWhoseChildNeverStartedGoesBackToTheQueueAndRunsOnce) {
  // What a kill -9 between the claim and the spawn leaves: the queued revision at -1, a run
  // `running` without a pid, its worker dead.
  const auto task = site_->aegir().queueTask(10, "verify");
  auto& first = launch({"queue.concurrency=1"});
  ASSERT_TRUE(waitUntil([&] { return finished(task.nid); })) << lastLog();
  killNine(first);
  const auto stranded = site_->aegir().queueTask(11, "verify");
  auto& db = site_->db();
  db.execute("UPDATE {hosting_task} SET task_status = -1 WHERE vid = ?", {stranded.vid});
  const auto worker = db.queryOne("SELECT MAX(id) FROM {skynet_worker}")->integer(0);
  db.execute("INSERT INTO {skynet_run} (kind, token, task_nid, task_vid, task_rid, task_type, command, state, started,"
             " worker_id, host, attempts) VALUES ('task', 'f00d', ?, ?, 11, 'verify', 'drush', 'running', ?, ?, ?, 1)",
             {stranded.nid, stranded.vid, unixTime(), worker,
              db.queryOne("SELECT host FROM {skynet_worker} WHERE id = ?", {worker})->text(0)});

  auto& second = launch({"queue.concurrency=1"});
  ASSERT_TRUE(waitUntil([&] { return finished(stranded.nid); })) << lastLog();
  EXPECT_EQ(site_->aegir().current(stranded.nid).status, aegir::kSuccess);
  EXPECT_EQ(invocationsByTask()[stranded.nid], 1);
  const auto all = runs("task_nid = " + std::to_string(stranded.nid));
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].state, "deferred");
  EXPECT_NE(all[0].message.find("never started"), std::string::npos) << all[0].message;
  ASSERT_TRUE(waitUntil([&] { return runs("id = " + std::to_string(all[1].id))[0].state == "succeeded"; }));
  kill(second.pid(), SIGTERM);
  second.wait();
  EXPECT_EQ(rowsAtProcessing(), 0);
}

TEST_F(SelfHealingTest, AChildThatCrashesWhileNoDaemonRunsIsFinalizedAtTheNextStartWithALogEntry) {
  const auto task = site_->aegir().queueTask(10, "verify", "crash-after:1");
  auto& first = launch();
  ASSERT_TRUE(waitUntil([&] { return taken(task) && !runs("pid IS NOT NULL").empty(); })) << lastLog();
  const auto pid = static_cast<pid_t>(runs()[0].pid);
  killNine(first);
  // The crash happens while no daemon runs.
  ASSERT_TRUE(waitUntil([&] { return kill(pid, 0) != 0; }));
  EXPECT_EQ(site_->aegir().current(task.nid).status, aegir::kProcessing);

  auto& second = launch();
  ASSERT_TRUE(waitUntil([&] { return finished(task.nid); })) << lastLog();
  const auto current = site_->aegir().current(task.nid);
  EXPECT_EQ(current.status, aegir::kError);
  const auto log = site_->aegir().log(current.vid);
  ASSERT_FALSE(log.empty());
  EXPECT_EQ(log.back().error, "SKYNET_TASK_DIED");
  EXPECT_NE(log.back().message.find("while no Skynet daemon watched it"), std::string::npos) << log.back().message;
  ASSERT_TRUE(waitUntil([&] { return runs("state = 'running'").empty(); }));
  const auto all = runs();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].state, "failed");
  EXPECT_EQ(invocationsByTask()[task.nid], 1);
  EXPECT_EQ(rowsAtProcessing(), 0);
  kill(second.pid(), SIGTERM);
  second.wait();
}

TEST_F(SelfHealingTest, AdoptsARunningChildAfterKillNineAndKeepsTheConcurrencyLimit) {
  const auto first = site_->aegir().queueTask(10, "verify", "sleep:2");
  const auto second = site_->aegir().queueTask(11, "verify");
  auto& daemon = launch({"queue.concurrency=1"});
  ASSERT_TRUE(waitUntil([&] { return taken(first) && !runs("pid IS NOT NULL").empty(); })) << lastLog();
  killNine(daemon);
  auto& next = launch({"queue.concurrency=1"});
  ASSERT_TRUE(waitUntil([&] { return finished(first.nid) && finished(second.nid); })) << lastLog();
  ASSERT_TRUE(waitUntil([&] { return runs("state = 'running'").empty(); }));
  EXPECT_NE(lastLog().find("adopted from worker"), std::string::npos) << lastLog();
  const auto firstRuns = runs("task_nid = " + std::to_string(first.nid));
  const auto secondRuns = runs("task_nid = " + std::to_string(second.nid));
  ASSERT_EQ(firstRuns.size(), 1u);
  ASSERT_EQ(secondRuns.size(), 1u);
  EXPECT_EQ(firstRuns[0].state, "succeeded");
  EXPECT_NE(firstRuns[0].message.find("adopted from worker"), std::string::npos) << firstRuns[0].message;
  // The adopted task counted against concurrency 1: the other one started only after it ended.
  EXPECT_GE(secondRuns[0].started, firstRuns[0].stopped);
  EXPECT_EQ(invocationsByTask()[first.nid], 1);
  kill(next.pid(), SIGTERM);
  next.wait();
}

TEST_F(SelfHealingTest, SigtermInAdoptModeHandsRunningTasksToTheNextStartAndStatusShowsThem) {
  const auto task = site_->aegir().queueTask(10, "verify", "sleep:4");
  auto& daemon = launch({"queue.shutdown=adopt"});
  ASSERT_TRUE(waitUntil([&] { return taken(task) && !runs("pid IS NOT NULL").empty(); })) << lastLog();
  kill(daemon.pid(), SIGTERM);
  EXPECT_EQ(daemon.wait().exitCode, 0);
  EXPECT_EQ(runs()[0].state, "running");  // left for the next start
  const std::string task_words = "task " + std::to_string(task.nid) + " (verify, rid 10)";
  const std::string left = status();
  EXPECT_NE(left.find("workers: 0 alive"), std::string::npos) << left;
  EXPECT_NE(left.find("waiting: 1 run(s) of worker 1 on "), std::string::npos) << left;
  EXPECT_NE(left.find(task_words), std::string::npos) << left;

  auto& next = launch();
  std::string adopted;
  ASSERT_TRUE(waitUntil([&] {
    adopted = status();
    return adopted.find("adopted from worker 1") != std::string::npos || finished(task.nid);
  })) << adopted;
  if (!finished(task.nid)) {
    EXPECT_NE(adopted.find("workers: 1 alive"), std::string::npos) << adopted;
    EXPECT_NE(adopted.find("1 running\n    " + task_words), std::string::npos) << adopted;
  }
  ASSERT_TRUE(waitUntil([&] { return finished(task.nid) && runs("state = 'running'").empty(); })) << lastLog();
  const auto all = runs();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].state, "succeeded");
  EXPECT_NE(all[0].message.find("adopted from worker"), std::string::npos);
  EXPECT_EQ(invocationsByTask()[task.nid], 1);
  kill(next.pid(), SIGTERM);
  next.wait();
}

TEST_F(SelfHealingTest, ARunningChildSurvivesAConfigChangeAndABinaryChangeAndIsAdoptedByTheNewImage) {
  // The daemon runs from a copy of the binary, which the test replaces as a package upgrade would.
  const std::string binary = site_->dir() + "/skynet";
  ASSERT_EQ(testing::runCommand("cp " SKYNET_BINARY " " + binary), 0);
  const auto task = site_->aegir().queueTask(10, "verify", "sleep:4");
  auto& daemon = launch({}, binary);
  ASSERT_TRUE(waitUntil([&] { return taken(task) && !runs("pid IS NOT NULL").empty(); })) << lastLog();

  site_->writeConfig("[queue]\nconcurrency = 2\n");
  ASSERT_TRUE(waitUntil([&] { return lastLog().find("configuration reloaded from") != std::string::npos; }))
      << lastLog();
  EXPECT_NE(lastLog().find("concurrency 2"), std::string::npos);

  ASSERT_EQ(testing::runCommand("cp " SKYNET_BINARY " " + binary + ".new && mv " + binary + ".new " + binary), 0);
  ASSERT_TRUE(waitUntil([&] { return lastLog().find("adopted from worker") != std::string::npos; })) << lastLog();
  EXPECT_NE(lastLog().find("a new binary is at"), std::string::npos);
  EXPECT_FALSE(daemon.poll().has_value()) << "the same process goes on (execve keeps the pid)";
  ASSERT_TRUE(waitUntil([&] { return finished(task.nid) && runs("state = 'running'").empty(); })) << lastLog();
  const auto all = runs();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].state, "succeeded");
  EXPECT_EQ(invocationsByTask()[task.nid], 1);
  kill(daemon.pid(), SIGTERM);
  EXPECT_EQ(daemon.wait().exitCode, 0);
}

TEST_F(SelfHealingTest, ATimeoutAlsoKillsGroupMembersThatIgnoreSigterm) {
  const auto task = site_->aegir().queueTask(10, "verify", "hang-group");
  auto& daemon = launch({"task.verify.timeout=1", "queue.kill_grace=1"});
  ASSERT_TRUE(waitUntil([&] { return finished(task.nid); })) << lastLog();
  ASSERT_TRUE(waitUntil([&] { return !runs("state = 'timed_out'").empty(); })) << lastLog();
  const auto run = runs()[0];
  const auto at = run.logTail.find("stubborn pid ");
  ASSERT_NE(at, std::string::npos) << run.logTail;
  const pid_t stubborn = static_cast<pid_t>(std::stol(run.logTail.substr(at + 13)));
  EXPECT_NE(kill(stubborn, 0), 0) << "the member that ignored SIGTERM must have been killed";
  EXPECT_NE(lastLog().find("did not stop after SIGTERM"), std::string::npos);
  kill(daemon.pid(), SIGTERM);
  daemon.wait();
}

TEST_F(SelfHealingTest, OutputThatIsNotUtf8DoesNotStopTheQueue) {
  const auto binary = site_->aegir().queueTask(10, "verify", "bytes");
  const auto next = site_->aegir().queueTask(11, "verify");
  auto& daemon = launch();
  ASSERT_TRUE(waitUntil([&] { return finished(binary.nid) && finished(next.nid); })) << lastLog();
  ASSERT_TRUE(waitUntil([&] { return runs("state = 'running'").empty(); }));
  const auto first = runs("task_nid = " + std::to_string(binary.nid));
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].state, "succeeded");
  EXPECT_NE(first[0].logTail.find("before \xef\xbf\xbd\xef\xbf\xbd after caf\xc3\xa9"), std::string::npos)
      << first[0].logTail;
  EXPECT_EQ(runs("task_nid = " + std::to_string(next.nid))[0].state, "succeeded");
  kill(daemon.pid(), SIGTERM);
  daemon.wait();
}

TEST_F(SelfHealingTest, TwoDaemonsOnOneDatabaseNeverBreakSiteOrExclusiveRules) {
  // Sites 10, 11, 12 and 3 (the hostmaster), the server 1 and the platforms 2 and 4.
  const std::vector<std::int64_t> targets = {10, 11, 12, 3, 10, 11, 12, 3, 1, 10, 11, 2, 12, 3, 4};
  std::vector<std::int64_t> nids;
  for (int i = 0; i < 1000; ++i) nids.push_back(site_->aegir().queueTask(targets[i % targets.size()], "verify").nid);
  const std::vector<std::string> sets = {"queue.concurrency=4", "queue.poll_interval=0.1"};
  auto& here = launch(sets);
  auto& there = launch(sets, SKYNET_BINARY, "other-host.example.com");
  ASSERT_TRUE(waitUntil([&] { return allFinished(nids); }, 600)) << lastLog();
  ASSERT_TRUE(waitUntil([&] { return runs("state = 'running'").empty(); }));
  kill(here.pid(), SIGTERM);
  kill(there.pid(), SIGTERM);
  here.wait();
  there.wait();

  const auto all = runs("kind = 'task' AND pid IS NOT NULL");
  std::map<std::int64_t, int> byWorker;
  int siteOverlaps = 0, exclusiveOverlaps = 0;
  for (std::size_t i = 0; i < all.size(); ++i) {
    ++byWorker[all[i].worker];
    for (std::size_t j = i + 1; j < all.size(); ++j) {
      const bool overlap = all[i].started < all[j].stopped && all[j].started < all[i].stopped;
      if (!overlap) continue;
      if (all[i].rid == all[j].rid) ++siteOverlaps;
      const auto exclusive = [](std::int64_t rid) { return rid == 1 || rid == 2 || rid == 4; };
      if (exclusive(all[i].rid) || exclusive(all[j].rid)) ++exclusiveOverlaps;
    }
  }
  EXPECT_EQ(siteOverlaps, 0);
  EXPECT_EQ(exclusiveOverlaps, 0);
  EXPECT_EQ(byWorker.size(), 2u) << "both daemons took tasks";
  const auto invocations = invocationsByTask();
  int twice = 0;
  for (auto nid : nids) twice += invocations.count(nid) && invocations.at(nid) == 1 ? 0 : 1;
  EXPECT_EQ(twice, 0);
  EXPECT_EQ(rowsAtProcessing(), 0);
  EXPECT_EQ(site_->db().queryOne("SELECT COUNT(*) FROM {skynet_lock} WHERE rid <> 0")->integer(0), 0)
      << "a site lock outlived its run";
  std::cout << "two daemons: " << nids.size() << " tasks, runs per worker:";
  for (const auto& [worker, count] : byWorker) std::cout << " " << count;
  std::cout << "; site overlaps " << siteOverlaps << ", exclusive overlaps " << exclusiveOverlaps << ", twice " << twice
            << "\n";
}

TEST_F(SelfHealingTest, RunsOfAWorkerOnAnotherHostAreMarkedLostAfterItsHeartbeatStops) {
  const auto task = site_->aegir().queueTask(10, "verify", "hang");
  // A worker elsewhere took the task (hosting-task saved its revision there), then went silent.
  auto& first = launch({}, SKYNET_BINARY, "elsewhere.example.com");
  ASSERT_TRUE(waitUntil([&] { return taken(task) && !runs("pid IS NOT NULL").empty(); })) << lastLog();
  killNine(first);
  killRunGroups();
  auto& db = site_->db();
  // Its heartbeat is fresh: the runs wait for it.
  auto& here = launch({"queue.lost_after=2"});
  ASSERT_TRUE(waitUntil([&] { return lastLog().find("connected to database") != std::string::npos; })) << lastLog();
  ASSERT_TRUE(waitUntil([&] { return finished(task.nid); }, 60)) << lastLog();
  const auto current = site_->aegir().current(task.nid);
  EXPECT_EQ(current.status, aegir::kError);
  const auto log = site_->aegir().log(current.vid);
  ASSERT_FALSE(log.empty());
  EXPECT_EQ(log.back().error, "SKYNET_TASK_LOST");
  EXPECT_NE(log.back().message.find("elsewhere.example.com"), std::string::npos) << log.back().message;
  EXPECT_EQ(runs()[0].state, "lost");
  EXPECT_EQ(db.queryOne("SELECT COUNT(*) FROM {skynet_lock} WHERE rid <> 0")->integer(0), 0);
  EXPECT_EQ(rowsAtProcessing(), 0);
  kill(here.pid(), SIGTERM);
  here.wait();
}

TEST_F(SelfHealingTest, AWallClockJumpKillsNothing) {
  // libfaketime moves the daemon's wall clock (not its monotonic clock, as a real jump would not)
  // when the test writes a new offset into its file.
  const std::string library = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";
  if (access(library.c_str(), R_OK) != 0) GTEST_SKIP() << "libfaketime (Debian's faketime) is not installed";
  const std::string clock = site_->dir() + "/faketime";
  std::ofstream(clock) << "+0\n";
  const auto task = site_->aegir().queueTask(10, "verify", "hang");
  auto& daemon = launch({"task.verify.timeout=60", "queue.kill_grace=1"}, SKYNET_BINARY, "",
                        {{"LD_PRELOAD", library}, {"FAKETIME_TIMESTAMP_FILE", clock}, {"FAKETIME_NO_CACHE", "1"},
                         {"FAKETIME_DONT_FAKE_MONOTONIC", "1"}});
  ASSERT_TRUE(waitUntil([&] { return taken(task) && !runs("pid IS NOT NULL").empty(); })) << lastLog();
  const auto pid = static_cast<pid_t>(runs()[0].pid);
  std::ofstream(clock) << "+2d\n";
  const auto heartbeat = [&] { return site_->db().queryOne("SELECT MAX(heartbeat) FROM {skynet_worker}")->real(0); };
  // The daemon lives two days ahead now; a deadline on the wall clock would have passed.
  ASSERT_TRUE(waitUntil([&] { return heartbeat() > unixTime() + 86400; }, 30)) << lastLog();
  const double jumped = heartbeat();
  ASSERT_TRUE(waitUntil([&] { return heartbeat() > jumped; }, 30)) << lastLog();
  EXPECT_EQ(kill(pid, 0), 0) << "the task was killed by a clock jump";
  EXPECT_EQ(site_->aegir().current(task.nid).status, aegir::kProcessing);
  EXPECT_EQ(lastLog().find("timed out"), std::string::npos) << lastLog();
  kill(daemon.pid(), SIGKILL);
  daemon.wait();
}

class FrozenDatabaseTest : public SelfHealingTest {
 protected:
  void SetUp() override {
    if (geteuid() == 0) GTEST_SKIP() << "the daemon refuses root; scripts/test runs this as an unprivileged user";
    server_ = std::make_unique<testing::PrivateServer>("frozen");
    site_ = std::make_unique<TestSite>(server_->params(), "");
  }
  void TearDown() override {
    if (server_) kill(server_->pid(), SIGCONT);
    if (site_) SelfHealingTest::TearDown();
    site_.reset();
    server_.reset();
  }
  std::unique_ptr<testing::PrivateServer> server_;
};

TEST_F(FrozenDatabaseTest, ATimeoutFiresWhileMariadbIsStopped) {
  const auto task = site_->aegir().queueTask(10, "verify", "hang");
  auto& daemon = launch({"task.verify.timeout=2", "queue.kill_grace=1"});
  ASSERT_TRUE(waitUntil([&] { return taken(task) && !runs("pid IS NOT NULL").empty(); })) << lastLog();
  const auto pid = static_cast<pid_t>(runs()[0].pid);
  const pid_t server = server_->pid();
  ASSERT_GT(server, 0);
  ASSERT_EQ(kill(server, SIGSTOP), 0);
  // While the database cannot answer, supervision goes on: the hung task is killed. (The wait's
  // bound only keeps the test from hanging; it asserts no time.)
  const bool killed = waitUntil([&] { return kill(pid, 0) != 0; }, 30);
  kill(server, SIGCONT);
  ASSERT_TRUE(killed) << lastLog();
  EXPECT_NE(lastLog().find("timed out after 2 s"), std::string::npos) << lastLog();
  site_->reconnect();
  ASSERT_TRUE(waitUntil([&] { return finished(task.nid); }, 90)) << lastLog();
  ASSERT_TRUE(waitUntil([&] { return runs("state = 'timed_out'").size() == 1; }, 90)) << lastLog();
  EXPECT_EQ(site_->aegir().current(task.nid).status, aegir::kError);
  kill(daemon.pid(), SIGTERM);
  daemon.wait();
}

}  // namespace
}  // namespace skynet
