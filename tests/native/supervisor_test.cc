#include "daemon/supervisor.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "support/sandbox.h"
#include "util/clock.h"

namespace skynet::daemon {
namespace {

class SupervisorTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::makeTempDir("skynet-supervisor"); }
  void TearDown() override { testing::runCommand("rm -rf " + dir_); }

  Launch echo(std::int64_t runId, const std::string& text) {
    Launch launch;
    launch.runId = runId;
    launch.spec.executable = "/bin/sh";
    launch.spec.arguments = {"-c", "echo " + text};
    launch.spec.environment = {{"PATH", "/usr/bin:/bin"}};
    launch.spec.outputFile = outputOf(runId);
    return launch;
  }
  std::string outputOf(std::int64_t runId) const {
    return dir_ + "/task-" + std::to_string(runId) + "-run-" + std::to_string(runId) + ".log";
  }
  std::string spare(int index) const { return dir_ + "/.skynet-next-output-" + std::to_string(index); }
  static ino_t inode(const std::string& path) {
    struct stat info {};
    return stat(path.c_str(), &info) == 0 ? info.st_ino : 0;
  }
  static std::string read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  // Ticks until `count` runs ended (a condition, with a generous limit).
  std::set<std::int64_t> awaitEnds(Supervisor& supervisor, std::size_t count) {
    std::set<std::int64_t> ended;
    const double limit = monotonicTime() + 30;
    while (ended.size() < count && monotonicTime() < limit) {
      for (const auto& end : supervisor.tick(monotonicTime())) ended.insert(end.runId);
      if (ended.size() < count) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return ended;
  }

  std::string dir_;
};

TEST_F(SupervisorTest, ABurstOfLaunchesTakesTheSpareOutputFilesAndEachRunWritesItsOwn) {
  Supervisor supervisor(1, 0, Poco::Logger::get("supervisor-test"));
  supervisor.launch(echo(1, "first"), monotonicTime());  // no spares yet: its file is created
  supervisor.makeSpareOutputFiles();
  std::set<ino_t> spares;
  for (int index = 0; index < 8; ++index) {
    ASSERT_NE(inode(spare(index)), 0u) << spare(index);
    spares.insert(inode(spare(index)));
  }
  for (std::int64_t run = 2; run <= 4; ++run) supervisor.launch(echo(run, "run" + std::to_string(run)), monotonicTime());
  for (std::int64_t run = 2; run <= 4; ++run) {
    EXPECT_TRUE(spares.count(inode(outputOf(run)))) << "run " << run << " did not take a spare";
  }
  EXPECT_EQ(awaitEnds(supervisor, 4), (std::set<std::int64_t>{1, 2, 3, 4}));
  EXPECT_EQ(read(outputOf(1)), "first\n");
  for (std::int64_t run = 2; run <= 4; ++run) EXPECT_EQ(read(outputOf(run)), "run" + std::to_string(run) + "\n");

  supervisor.makeSpareOutputFiles();  // the three taken are made again
  for (int index = 0; index < 8; ++index) EXPECT_NE(inode(spare(index)), 0u) << spare(index);
  // Spares removed behind the supervisor's back: a launch creates its own file as without them,
  // and the next refill puts them back.
  for (int index = 0; index < 8; ++index) ASSERT_EQ(unlink(spare(index).c_str()), 0);
  supervisor.launch(echo(5, "run5"), monotonicTime());
  EXPECT_EQ(awaitEnds(supervisor, 1), (std::set<std::int64_t>{5}));
  EXPECT_EQ(read(outputOf(5)), "run5\n");
  supervisor.makeSpareOutputFiles();
  for (int index = 0; index < 8; ++index) EXPECT_NE(inode(spare(index)), 0u) << spare(index);
  // Pruning removes old run files, never the spares.
  EXPECT_EQ(pruneOutputFiles(dir_, 1, unixTime() + 3 * 86400), 5);
  for (int index = 0; index < 8; ++index) EXPECT_NE(inode(spare(index)), 0u) << spare(index);
}

}  // namespace
}  // namespace skynet::daemon
