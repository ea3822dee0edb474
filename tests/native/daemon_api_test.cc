// The HTTP API served by the real daemon process, end to end: scheduled lackey jobs run at their
// time with their environment, cancels stop running jobs and Aegir tasks, a wake starts a queued
// task without waiting for the poll, cron schedules make their runs, jobs are adopted.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "aegir/task_queue.h"
#include "process/child_process.h"
#include "process/process_identity.h"
#include "support/http_client.h"
#include "support/test_site.h"
#include "util/clock.h"

namespace skynet {
namespace {

using testing::httpGet;
using testing::httpSend;
using testing::TestSite;
using testing::waitUntil;

const std::string kKey = "the-admin-key-of-this-test";

class DaemonApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() == 0) GTEST_SKIP() << "the daemon refuses root; scripts/test runs this as an unprivileged user";
    site_ = std::make_unique<TestSite>(testing::testDatabaseName("da"));
    exchange_ = site_->dir() + "/exchange";
    ASSERT_EQ(testing::runCommand("mkdir -p " + exchange_ + "/proj/app"), 0);
  }
  void TearDown() override {
    if (daemon_ && !daemon_->poll()) {
      kill(daemon_->pid(), SIGKILL);
      daemon_->wait();
    }
    for (const auto& row : site_->db().query(
             "SELECT pid, proc_start, boot_id FROM {skynet_run} WHERE pid IS NOT NULL AND proc_start IS NOT NULL")) {
      const process::ProcessIdentity identity{static_cast<pid_t>(row.integer(0)),
                                              static_cast<std::uint64_t>(row.integer(1)), row.text(2)};
      if (process::stillRunning(identity)) kill(-identity.pid, SIGKILL);
    }
    if (HasFailure()) std::cerr << "daemon log:\n" << log() << "\n";
  }

  std::string log() const {
    std::ifstream in(site_->dir() + "/daemon-" + std::to_string(launches_) + ".txt");
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  // Starts `skynet queued` with the API on a free loopback port; returns once it listens.
  void startDaemon(const std::vector<std::string>& extra = {}) {
    process::LaunchSpec spec;
    spec.executable = SKYNET_BINARY;
    spec.arguments = {"queued", "--config_file=" + site_->configFile(), "--set", "api.listen=127.0.0.1:0",
                      "--set", "api.admin_key=" + kKey, "--set", "runs.workdir=" + exchange_, "--set",
                      "queue.poll_interval=0.2"};
    for (const auto& set : extra) {
      spec.arguments.push_back("--set");
      spec.arguments.push_back(set);
    }
    spec.environment = {{"HOME", site_->home()}, {"PATH", "/usr/local/bin:/usr/bin:/bin"}, {"USER", "test"}};
    spec.outputFile = site_->dir() + "/daemon-" + std::to_string(++launches_) + ".txt";
    daemon_ = process::ChildProcess::launch(spec);
    const std::string marker = "API: listening on 127.0.0.1:";
    ASSERT_TRUE(waitUntil([&] { return log().find(marker) != std::string::npos; })) << log();
    const std::string text = log();
    port_ = static_cast<std::uint16_t>(std::stoi(text.substr(text.find(marker) + marker.size())));
    ASSERT_TRUE(waitUntil([&] { return log().find("connected to database") != std::string::npos; })) << log();
  }

  void stopDaemon() {
    kill(daemon_->pid(), SIGTERM);
    EXPECT_EQ(daemon_->wait().exitCode, 0) << log();
  }

  // A project "proj" with an application "app" running `command`; returns the application's id.
  std::int64_t application(const std::string& command, const std::string& extra = "") {
    auto reply = httpSend(port_, "POST", "/api/project/", "name=proj&directory=proj", kKey);
    EXPECT_EQ(reply.status, 200) << reply.body;
    const auto projectId = reply.object()->getObject("entry")->getValue<std::int64_t>("id");
    reply = httpSend(port_, "POST", "/api/application/",
                     "name=app&directory=app&project_id=" + std::to_string(projectId) +
                         "&command=" + testing::formEncode(command) + extra,
                     kKey);
    EXPECT_EQ(reply.status, 200) << reply.body;
    return reply.object()->getObject("entry")->getValue<std::int64_t>("id");
  }

  std::int64_t schedule(std::int64_t applicationId, const std::string& when = "") {
    const auto reply = httpSend(port_, "POST", "/api/run/application/" + std::to_string(applicationId),
                                when.empty() ? "" : "schedule=" + testing::formEncode(when), kKey);
    EXPECT_EQ(reply.status, 200) << reply.body;
    return reply.object()->getObject("entry")->getValue<std::int64_t>("id");
  }

  Poco::JSON::Object::Ptr run(std::int64_t id) {
    const auto reply = httpGet(port_, "/api/run/" + std::to_string(id));
    if (reply.status != 200) {
      ADD_FAILURE() << "GET /api/run/" << id << ": " << reply.status << " " << reply.body;
      return new Poco::JSON::Object;
    }
    return reply.array()->getObject(0);
  }
  std::string stateOf(std::int64_t id) { return run(id)->optValue<std::string>("state", ""); }

  std::unique_ptr<TestSite> site_;
  std::unique_ptr<process::ChildProcess> daemon_;
  std::string exchange_;
  std::uint16_t port_ = 0;
  int launches_ = 0;
};

TEST_F(DaemonApiTest, AScheduledRunExecutesAtItsTimeWithItsEnvironmentAndItsOutcomeAndLogAreRecorded) {
  startDaemon();
  const auto app = application("echo \"id=$SKYNET_RUN_ID token=${#SKYNET_RUN_TOKEN} url=$SKYNET_API_URL dir=$(pwd)\"");
  const double at = unixTime() + 2;
  const auto id = schedule(app, std::to_string(static_cast<long>(at)));
  EXPECT_EQ(stateOf(id), "scheduled");
  ASSERT_TRUE(waitUntil([&] { return stateOf(id) == "succeeded"; })) << log();
  const auto entry = run(id);
  EXPECT_GE(entry->getValue<double>("start_ts"), static_cast<double>(static_cast<long>(at)));
  EXPECT_EQ(entry->getValue<int>("exit_code"), 0);
  const std::string raw = httpGet(port_, "/api/run/" + std::to_string(id) + ".raw").body;
  EXPECT_NE(raw.find("id=" + std::to_string(id) + " token=32 url=http://127.0.0.1:" + std::to_string(port_) +
                     " dir=" + exchange_ + "/proj/app"),
            std::string::npos)
      << raw;
  stopDaemon();
}

TEST_F(DaemonApiTest, AFailingCommandIsRecordedAsFailedWithItsExitCode) {
  startDaemon();
  const auto id = schedule(application("echo going wrong; exit 3"));
  ASSERT_TRUE(waitUntil([&] { return stateOf(id) == "failed"; })) << log();
  EXPECT_EQ(run(id)->getValue<int>("exit_code"), 3);
  EXPECT_NE(httpGet(port_, "/api/run/" + std::to_string(id) + ".raw").body.find("going wrong"), std::string::npos);
  stopDaemon();
}

TEST_F(DaemonApiTest, RunsOfOneApplicationNeverOverlapUnlessItAllowsParallelRuns) {
  startDaemon({"runs.concurrency=4"});
  const auto app = application("sleep 1");
  const auto first = schedule(app), second = schedule(app);
  ASSERT_TRUE(waitUntil([&] { return stateOf(first) == "succeeded" && stateOf(second) == "succeeded"; })) << log();
  const auto a = run(first), b = run(second);
  const bool overlap = a->getValue<double>("start_ts") < b->getValue<double>("end_ts") &&
                       b->getValue<double>("start_ts") < a->getValue<double>("end_ts");
  EXPECT_FALSE(overlap) << "two runs of one application ran at once";

  const auto parallel = httpSend(port_, "POST", "/api/application/",
                                 "name=par&directory=app&allow_parallel=1&command=sleep+1&project_id=" +
                                     std::to_string(run(first)->getValue<std::int64_t>("project_id")),
                                 kKey);
  ASSERT_EQ(parallel.status, 200) << parallel.body;
  const auto parallelApp = parallel.object()->getObject("entry")->getValue<std::int64_t>("id");
  const auto third = schedule(parallelApp), fourth = schedule(parallelApp);
  ASSERT_TRUE(waitUntil([&] { return stateOf(third) == "running" && stateOf(fourth) == "running"; })) << log();
  ASSERT_TRUE(waitUntil([&] { return stateOf(third) == "succeeded" && stateOf(fourth) == "succeeded"; })) << log();
  stopDaemon();
}

TEST_F(DaemonApiTest, CancelStopsARunningJobByItsProcessGroup) {
  startDaemon({"queue.kill_grace=1"});
  const auto id = schedule(application("sleep 600 & wait"));
  ASSERT_TRUE(waitUntil([&] { return stateOf(id) == "running" && !run(id)->isNull("pid"); })) << log();
  const auto pid = static_cast<pid_t>(run(id)->getValue<int>("pid"));
  const auto reply = httpSend(port_, "POST", "/api/run/" + std::to_string(id) + "/cancel", "by=alice", kKey);
  EXPECT_EQ(reply.status, 202) << reply.body;
  ASSERT_TRUE(waitUntil([&] { return stateOf(id) == "cancelled"; })) << log();
  EXPECT_NE(kill(-pid, 0), 0) << "the job's process group must be gone";
  EXPECT_EQ(run(id)->getValue<std::string>("cancelled_by"), "alice");
  stopDaemon();
}

TEST_F(DaemonApiTest, CancelStopsARunningAegirTaskAndLogsWhoCancelledIt) {
  startDaemon({"queue.kill_grace=1"});
  const auto task = site_->aegir().queueTask(10, "backup", "hang");
  std::int64_t id = 0;
  ASSERT_TRUE(waitUntil([&] {
    const auto rows = site_->db().query("SELECT id FROM {skynet_run} WHERE task_nid = ? AND pid IS NOT NULL", {task.nid});
    if (!rows.empty()) id = rows[0].integer(0);
    return id != 0 && site_->aegir().current(task.nid).vid != task.vid;
  })) << log();
  const auto reply = httpSend(port_, "POST", "/api/run/" + std::to_string(id) + "/cancel", "by=maintainer", kKey);
  EXPECT_EQ(reply.status, 202) << reply.body;
  ASSERT_TRUE(waitUntil([&] { return stateOf(id) == "cancelled"; })) << log();
  const auto current = site_->aegir().current(task.nid);
  EXPECT_EQ(current.status, aegir::kWarning) << "as Aegir's own cancel leaves a task";
  const auto entries = site_->aegir().log(current.vid);
  ASSERT_FALSE(entries.empty());
  EXPECT_EQ(entries.back().type, "warning");
  EXPECT_EQ(entries.back().error, "SKYNET_TASK_CANCELLED");
  EXPECT_NE(entries.back().message.find("cancelled by maintainer"), std::string::npos) << entries.back().message;
  stopDaemon();
}

TEST_F(DaemonApiTest, AWakeStartsAQueuedTaskWithoutWaitingForThePoll) {
  startDaemon({"queue.poll_interval=3600"});
  // The first turns are done: the daemon now sleeps for an hour unless woken.
  ASSERT_TRUE(waitUntil([&] { return httpGet(port_, "/healthz").status == 200; })) << log();
  const auto task = site_->aegir().queueTask(10, "verify");
  const auto reply = httpSend(port_, "POST", "/api/wake", "", "");
  EXPECT_EQ(reply.status, 202) << reply.body;
  ASSERT_TRUE(waitUntil([&] { return site_->aegir().current(task.nid).status == aegir::kSuccess; }, 30)) << log();
  stopDaemon();
}

TEST_F(DaemonApiTest, ACronScheduleMakesOneRunForItsSlotsMissedWhileNoDaemonRan) {
  startDaemon();
  const auto app = application("echo from cron", "&cron=" + testing::formEncode("*/5 * * * *"));
  // An hour of slots went by while the daemon was down.
  site_->db().execute("UPDATE {skynet_application} SET cron_next = ? WHERE id = ?", {unixTime() - 3600, app});
  ASSERT_TRUE(waitUntil([&] {
    return site_->db().queryOne("SELECT COUNT(*) FROM {skynet_run} WHERE application_id = ? AND state = 'succeeded'",
                                {app})->integer(0) == 1;
  })) << log();
  // One run for all the missed slots, and the next slot is in the future.
  EXPECT_EQ(site_->db().queryOne("SELECT COUNT(*) FROM {skynet_run} WHERE application_id = ?", {app})->integer(0), 1);
  EXPECT_GT(site_->db().queryOne("SELECT cron_next FROM {skynet_application} WHERE id = ?", {app})->real(0), unixTime());
  stopDaemon();
}

TEST_F(DaemonApiTest, AJobIsAdoptedAfterKillNineAndItsExitCodeIsStillRecorded) {
  startDaemon();
  const auto id = schedule(application("sleep 2; echo finished; exit 4"));
  ASSERT_TRUE(waitUntil([&] { return stateOf(id) == "running" && !run(id)->isNull("pid"); })) << log();
  kill(daemon_->pid(), SIGKILL);
  daemon_->wait();
  startDaemon();
  ASSERT_TRUE(waitUntil([&] { return stateOf(id) != "running"; })) << log();
  const auto entry = run(id);
  EXPECT_EQ(entry->getValue<std::string>("state"), "failed");
  EXPECT_EQ(entry->getValue<int>("exit_code"), 4);
  EXPECT_NE(entry->getValue<std::string>("message").find("adopted from worker"), std::string::npos);
  stopDaemon();
}

}  // namespace
}  // namespace skynet
