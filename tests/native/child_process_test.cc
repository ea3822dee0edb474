#include "process/child_process.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

#include "process/process_identity.h"
#include "support/sandbox.h"

namespace skynet::process {
namespace {

class ChildProcessTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::makeTempDir("skynet-child"); }
  void TearDown() override { testing::runCommand("rm -rf " + dir_); }

  LaunchSpec shell(const std::string& script) {
    LaunchSpec spec;
    spec.executable = "/bin/sh";
    spec.arguments = {"-c", script};
    spec.environment = {{"HOME", "/home/test"}, {"USER", "test"}, {"PATH", "/usr/bin:/bin"}};
    spec.outputFile = dir_ + "/out.log";
    return spec;
  }

  std::string output() {
    std::ifstream in(dir_ + "/out.log");
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  std::string dir_;
};

TEST_F(ChildProcessTest, PassesArgumentsWithoutAShell) {
  LaunchSpec spec;
  spec.executable = "/usr/bin/printf";
  spec.arguments = {"%s|", "a b", "$HOME", "*;rm -rf /"};
  spec.outputFile = dir_ + "/out.log";
  auto child = ChildProcess::launch(spec);
  EXPECT_TRUE(child->wait().succeeded());
  EXPECT_EQ(output(), "a b|$HOME|*;rm -rf /|");
}

TEST_F(ChildProcessTest, GivesTheChildOnlyTheEnvironmentItWasGiven) {
  setenv("SKYNET_SECRET_FOR_TEST", "leak", 1);
  LaunchSpec spec = shell("");
  spec.executable = "/usr/bin/env";
  spec.arguments = {};
  ChildProcess::launch(spec)->wait();
  EXPECT_EQ(output(), "HOME=/home/test\nPATH=/usr/bin:/bin\nUSER=test\n");
}

TEST_F(ChildProcessTest, WritesStdoutAndStderrToTheOutputFile) {
  auto child = ChildProcess::launch(shell("echo out; echo err >&2; exit 3"));
  const ExitStatus status = child->wait();
  EXPECT_EQ(status.exitCode, 3);
  EXPECT_EQ(status.describe(), "exit code 3");
  EXPECT_EQ(output(), "out\nerr\n");
}

TEST_F(ChildProcessTest, RunsInAProcessGroupOfItsOwn) {
  auto child = ChildProcess::launch(shell("cut -d' ' -f5 /proc/$$/stat"));  // field 5: process group
  child->wait();
  EXPECT_EQ(std::stol(output()), static_cast<long>(child->pid()));
  EXPECT_NE(std::stol(output()), static_cast<long>(getpgrp()));
}

TEST_F(ChildProcessTest, SignalGroupReachesGrandchildren) {
  // The grandchild writes its pid, then both sleep; killing the group must end both.
  auto child = ChildProcess::launch(shell("sleep 300 & echo $! > " + dir_ + "/grandchild; wait"));
  const std::string pidFile = dir_ + "/grandchild";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::string text;
  while (text.empty() && std::chrono::steady_clock::now() < deadline) {
    std::ifstream in(pidFile);
    std::getline(in, text);
    if (text.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_FALSE(text.empty());
  const pid_t grandchild = static_cast<pid_t>(std::stol(text));
  child->signalGroup(SIGTERM);
  const ExitStatus status = child->wait();
  EXPECT_EQ(status.signal, SIGTERM);
  EXPECT_EQ(status.describe(), "signal 15 (Terminated)");
  // The grandchild was re-parented; poll until it is gone.
  bool gone = false;
  while (!gone && std::chrono::steady_clock::now() < deadline) {
    gone = kill(grandchild, 0) != 0;
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(gone);
}

TEST_F(ChildProcessTest, PollDoesNotBlockAndReportsTheExit) {
  auto child = ChildProcess::launch(shell("read line"));  // stdin is /dev/null: ends at once
  ExitStatus status = child->wait();
  EXPECT_EQ(status.exitCode, 1);
  EXPECT_EQ(child->poll()->exitCode, 1);
  auto sleeper = ChildProcess::launch(shell("sleep 300"));
  EXPECT_FALSE(sleeper->poll().has_value());
  sleeper->signalGroup(SIGKILL);
  EXPECT_EQ(sleeper->wait().signal, SIGKILL);
}

TEST_F(ChildProcessTest, ReportsAnExecutableThatCannotRun) {
  LaunchSpec spec = shell("");
  spec.executable = dir_ + "/missing-drush";
  try {
    ChildProcess::launch(spec);
    FAIL() << "launch should throw";
  } catch (const LaunchError& error) {
    EXPECT_EQ(std::string(error.what()), "cannot execute " + dir_ + "/missing-drush: No such file or directory");
  }
}

TEST_F(ChildProcessTest, ReportsAnOutputFileThatCannotBeOpened) {
  LaunchSpec spec = shell("true");
  spec.outputFile = dir_ + "/no/such/folder/out.log";
  EXPECT_THROW(ChildProcess::launch(spec), LaunchError);
}

TEST_F(ChildProcessTest, ClosesEveryOtherDescriptorOfTheDaemon) {
  // A descriptor the daemon opened without O_CLOEXEC (as a library's socket may be).
  const int leaky = open("/dev/null", O_RDONLY);
  ASSERT_GE(leaky, 3);
  const std::string fd = std::to_string(leaky);
  auto child = ChildProcess::launch(shell("test -e /proc/$$/fd/" + fd + " && echo open || echo closed; "
                                          "test -e /proc/$$/fd/1 && echo stdout"));
  child->wait();
  close(leaky);
  EXPECT_EQ(output(), "closed\nstdout\n");
}

TEST_F(ChildProcessTest, RunsInTheWorkingDirectoryItWasGiven) {
  LaunchSpec spec = shell("pwd");
  spec.workingDirectory = dir_;
  EXPECT_TRUE(ChildProcess::launch(spec)->wait().succeeded());
  char real[4096];
  ASSERT_NE(realpath(dir_.c_str(), real), nullptr);
  EXPECT_EQ(output(), std::string(real) + "\n");
}

TEST_F(ChildProcessTest, ReportsAWorkingDirectoryThatDoesNotExist) {
  LaunchSpec spec = shell("pwd");
  spec.workingDirectory = dir_ + "/gone";
  try {
    ChildProcess::launch(spec);
    FAIL() << "launch should throw";
  } catch (const LaunchError& error) {
    EXPECT_EQ(std::string(error.what()), "cannot enter working directory " + dir_ + "/gone: No such file or directory");
  }
}

TEST_F(ChildProcessTest, EmptiesTheOutputFileOfAnEarlierRun) {
  { std::ofstream(dir_ + "/out.log") << "an older run's output\n"; }
  ChildProcess::launch(shell("echo new"))->wait();
  EXPECT_EQ(output(), "new\n");
}

TEST_F(ChildProcessTest, GivesTheChildDefaultSignalHandlingWhateverTheDaemonIgnoresOrBlocks) {
  // The daemon may ignore or block signals in its threads; its tasks must not inherit that.
  struct sigaction ignore {}, previous {};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGTERM, &ignore, &previous);
  sigset_t blocked, before;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGINT);
  pthread_sigmask(SIG_BLOCK, &blocked, &before);
  LaunchSpec spec = shell("");
  spec.executable = "/bin/grep";  // reads its own status: what it was started with
  spec.arguments = {"-E", "^(SigIgn|SigBlk)", "/proc/self/status"};
  auto child = ChildProcess::launch(spec);
  sigaction(SIGTERM, &previous, nullptr);
  pthread_sigmask(SIG_SETMASK, &before, nullptr);
  ASSERT_TRUE(child->wait().succeeded());
  const std::string text = output();
  EXPECT_NE(text.find("SigBlk:\t0000000000000000"), std::string::npos) << text;
  const auto at = text.find("SigIgn:\t");
  ASSERT_NE(at, std::string::npos) << text;
  const unsigned long long ignored = std::stoull(text.substr(at + 8, 16), nullptr, 16);
  EXPECT_EQ(ignored & (1ULL << (SIGTERM - 1)), 0u) << text;
}

TEST_F(ChildProcessTest, IdentifiesAProcessByItsStartTimeWhateverItsName) {
  // A command name with spaces and parentheses, as /proc/<pid>/stat shows it in field 2.
  const std::string named = dir_ + "/a) b (c";
  ASSERT_EQ(symlink("/bin/sleep", named.c_str()), 0);
  LaunchSpec spec = shell("");
  spec.executable = named;
  spec.arguments = {"30"};
  auto child = ChildProcess::launch(spec);
  const auto identity = identify(child->pid());
  ASSERT_TRUE(identity.has_value());
  // Field 22 read another way: the 20th field after the last ')'.
  std::ifstream in("/proc/" + std::to_string(child->pid()) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_NE(stat.find("(a) b (c)"), std::string::npos) << stat;
  std::istringstream fields(stat.substr(stat.rfind(')') + 1));
  std::string field;
  for (int index = 3; index < 22; ++index) fields >> field;
  std::uint64_t startTicks = 0;
  ASSERT_TRUE(fields >> startTicks);
  EXPECT_EQ(identity->pid, child->pid());
  EXPECT_EQ(identity->startTicks, startTicks);
  EXPECT_EQ(identity->bootId, bootId());
  EXPECT_EQ(bootId().size(), 36u);
  EXPECT_TRUE(stillRunning(*identity));
  ProcessIdentity reused = *identity;
  ++reused.startTicks;  // the same pid, started at another time: another process
  EXPECT_FALSE(stillRunning(reused));
  child->signalGroup(SIGKILL);
  child->wait();
  EXPECT_FALSE(stillRunning(*identity));
  EXPECT_FALSE(identify(child->pid()).has_value());
  EXPECT_FALSE(identify(0).has_value());
}

TEST(FindExecutable, SearchesThePathInOrder) {
  EXPECT_EQ(findExecutable("sh", "/nonexistent:/bin:/usr/bin"), "/bin/sh");
  EXPECT_EQ(findExecutable("sh", "/usr/bin:/bin"), "/usr/bin/sh");
  EXPECT_EQ(findExecutable("no-such-drush", "/usr/bin:/bin"), "");
  EXPECT_EQ(findExecutable("/bin/sh", ""), "/bin/sh");
  EXPECT_EQ(findExecutable("/etc/passwd", ""), "");  // not executable
}

}  // namespace
}  // namespace skynet::process
