// The skynet binary as a maintainer meets it: exit codes, one-line messages, the daemon process.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "aegir/task_queue.h"
#include "process/child_process.h"
#include "runs/schema.h"
#include "support/test_site.h"

namespace skynet {
namespace {

using testing::TestSite;
using testing::waitUntil;

struct Result {
  int code = -1;
  std::string output;  // stdout and stderr together
};

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override { site_ = std::make_unique<TestSite>(testing::testDatabaseName("c")); }

  process::LaunchSpec spec(const std::vector<std::string>& arguments, const std::string& outputName) {
    process::LaunchSpec spec;
    spec.executable = SKYNET_BINARY;
    spec.arguments = arguments;
    spec.environment = {{"HOME", site_->home()}, {"PATH", "/usr/local/bin:/usr/bin:/bin"}, {"USER", "test"}};
    spec.outputFile = site_->dir() + "/" + outputName;
    return spec;
  }

  std::string read(const std::string& name) {
    std::ifstream in(site_->dir() + "/" + name);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  Result skynet(const std::vector<std::string>& arguments) {
    static int calls = 0;
    const std::string name = "out-" + std::to_string(++calls) + ".txt";
    auto child = process::ChildProcess::launch(spec(arguments, name));
    const auto status = child->wait();
    return {status.signal ? 128 + status.signal : status.exitCode, read(name)};
  }

  // The message of a failed command must be exactly one line.
  static int lines(const std::string& text) {
    int count = 0;
    for (char c : text) count += c == '\n';
    return count;
  }

  std::string conf() { return "--config_file=" + site_->configFile(); }

  std::unique_ptr<TestSite> site_;
};

TEST_F(CliTest, CheckReportsAHealthyHostmasterDatabase) {
  const auto result = skynet({"check", conf()});
  EXPECT_EQ(result.code, 0) << result.output;
  EXPECT_NE(result.output.find("Aegir tables: ok"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("Skynet tables: not created yet"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("queued tasks: 0"), std::string::npos) << result.output;
}

TEST_F(CliTest, CheckRefusesWrongCredentialsWithoutShowingThePassword) {
  const auto result = skynet({"check", conf(), "--set", "database.passwd=Not-The-Password-42"});
  EXPECT_EQ(result.code, 69);
  EXPECT_NE(result.output.find("Access denied"), std::string::npos) << result.output;
  EXPECT_EQ(result.output.find("Not-The-Password-42"), std::string::npos);
}

TEST_F(CliTest, CheckRefusesADatabaseWithoutAegirTables) {
  site_->db().execute("DROP TABLE {hosting_task}");
  const auto result = skynet({"check", conf()});
  EXPECT_EQ(result.code, 69);
  EXPECT_NE(result.output.find("is not a hostmaster database: missing table hosting_task"), std::string::npos)
      << result.output;
}

TEST_F(CliTest, CheckReportsAnUnreachableServer) {
  const auto result = skynet({"check", conf(), "--set", "database.socket=" + site_->dir() + "/no.sock"});
  EXPECT_EQ(result.code, 69);
  EXPECT_NE(result.output.find("cannot connect to database"), std::string::npos) << result.output;
}

TEST_F(CliTest, CheckReportsTheFoldersItWritesAndThePrivileges) {
  const auto result = skynet({"check", conf()});
  EXPECT_EQ(result.code, 0) << result.output;
  EXPECT_NE(result.output.find("log.task_output " + site_->dir() + "/task-output: can be created"), std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find("runs.workdir " + site_->home() + "/config/skynet/exchange: can be created"),
            std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find("privileges of 'aegir'@'localhost': ok"), std::string::npos) << result.output;
  EXPECT_EQ(result.output.find("warning"), std::string::npos) << result.output;
}

TEST_F(CliTest, CheckWarnsWhenAegirsOwnRunnersAreOn) {
  site_->db().execute("UPDATE {system} SET status = 1 WHERE name = 'hosting_queued'");
  site_->aegir().setVariable("hosting_queue_tasks_enabled", "i:1;");
  const auto result = skynet({"check", conf()});
  EXPECT_EQ(result.code, 0) << result.output;
  EXPECT_NE(result.output.find("hosting_queued: enabled; warning"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("hosting_queue_tasks_enabled: on; warning"), std::string::npos) << result.output;
}

TEST_F(CliTest, CheckRefusesAFolderItCannotWriteNamingKeyAndFolder) {
  // Below a regular file: no folder can be created there, whoever runs the test (root too).
  const std::string underAFile = site_->configFile() + "/logs";
  for (const char* key : {"log.task_output", "runs.workdir"}) {
    const auto result = skynet({"check", conf(), "--set", std::string(key) + "=" + underAFile});
    EXPECT_EQ(result.code, 78) << result.output;
    EXPECT_EQ(lines(result.output.substr(result.output.find("skynet: "))), 1) << result.output;
    EXPECT_NE(result.output.find("skynet: " + site_->configFile() + ": " + key + ": " + underAFile),
              std::string::npos)
        << result.output;
  }
  if (geteuid() == 0) return;  // root writes into any folder
  const std::string locked = site_->dir() + "/locked";
  ASSERT_EQ(mkdir(locked.c_str(), 0500), 0);
  auto result = skynet({"check", conf(), "--set", "log.task_output=" + locked});
  EXPECT_EQ(result.code, 78) << result.output;
  EXPECT_NE(result.output.find("skynet: " + site_->configFile() + ": log.task_output: " + locked +
                               " is not writable (Permission denied)\n"),
            std::string::npos)
      << result.output;
  result = skynet({"check", conf(), "--set", "log.task_output=" + locked + "/new/logs"});
  EXPECT_EQ(result.code, 78) << result.output;
  EXPECT_NE(result.output.find(": log.task_output: " + locked + "/new/logs cannot be created: " + locked +
                               " is not writable (Permission denied)\n"),
            std::string::npos)
      << result.output;
}

// A database account of the test's own, made by the sandbox's superuser; dropped at the end.
class DatabaseUser {
 public:
  DatabaseUser(const db::ConnectionParams& site, const std::string& name) : name_(name), root_(rootOf(site)) {
    root_.execute("DROP USER IF EXISTS '" + name_ + "'@'localhost'");
    root_.execute("CREATE USER '" + name_ + "'@'localhost' IDENTIFIED BY 'pw-" + name_ + "'");
  }
  ~DatabaseUser() { root_.execute("DROP USER IF EXISTS '" + name_ + "'@'localhost'"); }
  // `what` e.g. "SELECT, INSERT ON `db`.*" (names are the test's own, never input).
  void grant(const std::string& what) { root_.execute("GRANT " + what + " TO '" + name_ + "'@'localhost'"); }
  std::vector<std::string> asArguments() const {
    return {"--set", "database.user=" + name_, "--set", "database.passwd=pw-" + name_};
  }
  db::Connection& root() { return root_; }

 private:
  static db::ConnectionParams rootOf(db::ConnectionParams params) {
    params.user = "root";
    params.password = "";
    return params;
  }
  std::string name_;
  db::Connection root_;
};

TEST_F(CliTest, CheckRefusesAUserWhoCannotCreateSkynetsTables) {
  const std::string db = site_->params().database;
  DatabaseUser user(site_->params(), "c_no_create");
  user.grant("SELECT, INSERT, UPDATE, DELETE ON `" + db + "`.*");
  auto arguments = std::vector<std::string>{"check", conf()};
  for (const auto& argument : user.asArguments()) arguments.push_back(argument);
  auto result = skynet(arguments);
  EXPECT_EQ(result.code, 69) << result.output;
  EXPECT_NE(result.output.find("skynet: database user 'c_no_create'@'localhost' lacks the CREATE privilege on `" + db +
                               "`.* (to create Skynet's tables)\n"),
            std::string::npos)
      << result.output;
  user.grant("CREATE ON `" + db + "`.*");
  result = skynet(arguments);
  EXPECT_EQ(result.code, 69) << result.output;
  EXPECT_NE(result.output.find("lacks the ALTER privilege on `" + db + "`.* (to create Skynet's tables)\n"),
            std::string::npos)
      << result.output;
  user.grant("ALTER ON `" + db + "`.*");
  result = skynet(arguments);
  EXPECT_EQ(result.code, 0) << result.output;
  EXPECT_NE(result.output.find("privileges of 'c_no_create'@'localhost': ok"), std::string::npos) << result.output;
  // Nothing was changed on the way.
  EXPECT_EQ(runs::schemaVersion(site_->db()), 0);
}

TEST_F(CliTest, CheckNeedsOnlyDataPrivilegesOnceSkynetsTablesAreCurrent) {
  runs::migrate(site_->db());
  aegir::TaskQueue(site_->db()).ensureIndexes();
  const std::string db = site_->params().database;
  DatabaseUser user(site_->params(), "c_data_only");
  user.grant("SELECT, INSERT, UPDATE, DELETE ON `" + db + "`.*");
  auto arguments = std::vector<std::string>{"check", conf()};
  for (const auto& argument : user.asArguments()) arguments.push_back(argument);
  // runs::migrate() runs CREATE TABLE IF NOT EXISTS on its version table at every start.
  auto result = skynet(arguments);
  EXPECT_EQ(result.code, 69) << result.output;
  EXPECT_NE(result.output.find("lacks the CREATE privilege on `" + db + "`.`skynet_schema`"), std::string::npos)
      << result.output;
  user.grant("CREATE ON `" + db + "`.`skynet_schema`");
  result = skynet(arguments);
  EXPECT_EQ(result.code, 0) << result.output;
  EXPECT_NE(result.output.find("privileges of 'c_data_only'@'localhost': ok"), std::string::npos) << result.output;
}

TEST_F(CliTest, CheckSaysWhatItCannotVerifyWhenARoleGrantsIt) {
  const std::string db = site_->params().database;
  DatabaseUser user(site_->params(), "c_with_role");
  user.root().execute("DROP ROLE IF EXISTS c_schema_role");
  user.root().execute("CREATE ROLE c_schema_role");
  user.root().execute("GRANT CREATE, ALTER ON `" + db + "`.* TO c_schema_role");
  user.grant("c_schema_role");
  user.root().execute("SET DEFAULT ROLE c_schema_role FOR 'c_with_role'@'localhost'");
  user.grant("SELECT, INSERT, UPDATE, DELETE ON `" + db + "`.*");
  auto arguments = std::vector<std::string>{"check", conf()};
  for (const auto& argument : user.asArguments()) arguments.push_back(argument);
  const auto result = skynet(arguments);
  user.root().execute("DROP ROLE c_schema_role");
  EXPECT_EQ(result.code, 0) << result.output;
  EXPECT_NE(result.output.find("privileges of 'c_with_role'@'localhost': not verified: the CREATE privilege on `" + db +
                               "`.* (to create Skynet's tables) is not among the account's own grants; it may come "
                               "from its role(s) c_schema_role\n"),
            std::string::npos)
      << result.output;
}

TEST_F(CliTest, CheckNamesTheTableAPrivilegeIsMissingOn) {
  runs::migrate(site_->db());
  const std::string db = site_->params().database;
  DatabaseUser user(site_->params(), "c_no_delete");
  // Database-wide reads and schema changes (through a wildcard grant, as `aegir\_%` would be),
  // writes granted table by table, all but DELETE on the semaphore table.
  user.grant("SELECT, CREATE, ALTER ON `" + db.substr(0, 4) + "%`.*");
  for (const auto& row : user.root().query("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?",
                                           {db})) {
    const std::string table = row.text(0);
    user.grant(std::string(table == "semaphore" ? "INSERT, UPDATE" : "INSERT, UPDATE, DELETE") + " ON `" + db +
               "`.`" + table + "`");
  }
  auto arguments = std::vector<std::string>{"check", conf()};
  for (const auto& argument : user.asArguments()) arguments.push_back(argument);
  const auto result = skynet(arguments);
  EXPECT_EQ(result.code, 69) << result.output;
  EXPECT_NE(result.output.find("skynet: database user 'c_no_delete'@'localhost' lacks the DELETE privilege on `" + db +
                               "`.`semaphore` (to hold Aegir's cron semaphore hosting_queue_tasks_running)\n"),
            std::string::npos)
      << result.output;
}

TEST_F(CliTest, ConfigurationErrorsAreOneLineNamingFileAndKey) {
  const std::string file = site_->configFile();
  struct Case {
    std::vector<std::string> arguments;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {{"check", "--config_file=" + site_->dir() + "/absent.conf"},
       "skynet: " + site_->dir() + "/absent.conf: cannot read configuration file: No such file or directory\n"},
      {{"check", conf(), "--set", "queue.concurency=2"}, "skynet: " + file + ": queue.concurency: unknown key\n"},
      {{"check", conf(), "--set", "database.user="}, "skynet: " + file + ": database.user: must not be empty\n"},
      {{"check", conf(), "--set", "queue.timeout=forever"},
       "skynet: " + file + ": queue.timeout: expected a whole number of seconds (0 or more), got \"forever\"\n"},
      {{"queued", conf(), "--set", "queue.concurrency=0"},
       "skynet: " + file + ": queue.concurrency: expected a whole number from 1 to 1024, got \"0\"\n"},
  };
  for (const auto& c : cases) {
    const auto result = skynet(c.arguments);
    EXPECT_EQ(result.code, 78) << result.output;
    EXPECT_EQ(result.output, c.expected);
  }
}

TEST_F(CliTest, RejectsAMissingRequiredKey) {
  std::ofstream(site_->dir() + "/short.conf") << "[database]\nhost = localhost\nuser = aegir\n";
  const auto result = skynet({"check", "-c", site_->dir() + "/short.conf"});
  EXPECT_EQ(result.code, 78);
  EXPECT_EQ(result.output, "skynet: " + site_->dir() + "/short.conf: database.db: missing; it is required\n");
}

TEST_F(CliTest, RejectsAnUnreadableConfigurationFile) {
  if (geteuid() == 0) GTEST_SKIP() << "root reads any file";
  chmod(site_->configFile().c_str(), 0);
  const auto result = skynet({"check", conf()});
  EXPECT_EQ(result.code, 78);
  EXPECT_EQ(result.output,
            "skynet: " + site_->configFile() + ": cannot read configuration file: Permission denied\n");
}

TEST_F(CliTest, ReportsADrushThatIsNotOnThePath) {
  for (const char* command : {"check", "queued"}) {
    const auto result = skynet({command, conf(), "--set", "queue.drush=no-such-drush"});
    EXPECT_EQ(result.code, geteuid() == 0 && std::string(command) == "queued" ? 77 : 78) << result.output;
    if (geteuid() != 0 || std::string(command) == "check") {
      EXPECT_NE(result.output.find("queue.drush: 'no-such-drush' is not an executable on the PATH"), std::string::npos)
          << result.output;
    }
  }
}

TEST_F(CliTest, UsageErrorsExitWith64) {
  for (const auto& arguments : std::vector<std::vector<std::string>>{
           {},
           {"frobnicate"},
           {"--no-such-option", "check"},
           {"check", "extra"},
           {"check", "-c"},
           {"--daemon", "--no-such-option", "queued"},
           {"queued", "--daemon", "--umask=9x"},
           {"check", "--daemon"}}) {
    const auto result = skynet(arguments);
    EXPECT_EQ(result.code, 64) << result.output;
    EXPECT_EQ(lines(result.output), 1) << result.output;
    EXPECT_NE(result.output.find("see skynet --help"), std::string::npos) << result.output;
  }
}

TEST_F(CliTest, HelpListsTheCommandsAndOptions) {
  const auto result = skynet({"--help"});
  EXPECT_EQ(result.code, 0);
  for (const char* word : {"queued", "check", "status", "version", "--config_file", "--set", "--daemon", "--pidfile",
                           "--verbose"}) {
    EXPECT_NE(result.output.find(word), std::string::npos) << word;
  }
}

TEST_F(CliTest, RefusesToRunAsRoot) {
  for (const bool detach : {false, true}) {
    // Without root, a user namespace gives the binary uid 0 and no real privilege.
    std::vector<std::string> arguments = {"queued", conf()};
    if (detach) arguments.push_back("--daemon");  // refused before detaching, not in the background
    if (geteuid() != 0) {
      if (process::findExecutable("unshare", "/usr/bin:/bin").empty() ||
          testing::runCommand("unshare -r true") != 0) {
        GTEST_SKIP() << "no user namespaces here";
      }
      arguments.insert(arguments.begin(), {"-r", SKYNET_BINARY});
    }
    const std::string output = detach ? "root-daemon.txt" : "root.txt";
    auto launch = spec(arguments, output);
    if (geteuid() != 0) launch.executable = process::findExecutable("unshare", "/usr/bin:/bin");
    const auto status = process::ChildProcess::launch(launch)->wait();
    EXPECT_EQ(status.exitCode, 77) << "--daemon: " << detach;
    EXPECT_EQ(read(output), "skynet: refusing to run as root; run it as the aegir user (supervisor: user=aegir)\n");
  }
}

class DaemonProcessTest : public CliTest {
 protected:
  void SetUp() override {
    if (geteuid() == 0) GTEST_SKIP() << "the daemon refuses root; scripts/test runs this as an unprivileged user";
    CliTest::SetUp();
  }
};

TEST_F(DaemonProcessTest, RunsTasksThenStopsCleanlyOnSigterm) {
  const auto task = site_->aegir().queueTask(10, "verify");
  auto daemon = process::ChildProcess::launch(spec({"queued", conf()}, "daemon.txt"));
  ASSERT_TRUE(waitUntil([&] { return site_->aegir().current(task.nid).status == aegir::kSuccess; }))
      << read("daemon.txt");
  ASSERT_TRUE(waitUntil([&] { return read("daemon.txt").find("finished: succeeded") != std::string::npos; }));
  kill(daemon->pid(), SIGTERM);
  const auto status = daemon->wait();
  EXPECT_EQ(status.exitCode, 0) << read("daemon.txt");
  EXPECT_NE(read("daemon.txt").find("stopping on signal 15"), std::string::npos) << read("daemon.txt");

  const auto report = skynet({"status", conf()});
  EXPECT_EQ(report.code, 0) << report.output;
  EXPECT_NE(report.output.find("queue: 0 queued"), std::string::npos) << report.output;
  EXPECT_NE(report.output.find("workers: 0 alive"), std::string::npos) << report.output;
  EXPECT_NE(report.output.find("task " + std::to_string(task.nid) + " (verify, rid 10)"), std::string::npos)
      << report.output;
  EXPECT_NE(report.output.find(": succeeded in"), std::string::npos) << report.output;
}

TEST_F(DaemonProcessTest, ReloadsOnSighupAndStopsOnSigint) {
  auto daemon = process::ChildProcess::launch(spec({"queued", conf()}, "daemon.txt"));
  ASSERT_TRUE(waitUntil([&] { return read("daemon.txt").find("connected to database") != std::string::npos; }))
      << read("daemon.txt");
  kill(daemon->pid(), SIGHUP);  // re-reads the configuration, goes on
  ASSERT_TRUE(waitUntil([&] { return read("daemon.txt").find("configuration reloaded from") != std::string::npos; }))
      << read("daemon.txt");
  kill(daemon->pid(), SIGINT);
  EXPECT_EQ(daemon->wait().exitCode, 0);
  EXPECT_NE(read("daemon.txt").find("stopping on signal 2"), std::string::npos) << read("daemon.txt");
  EXPECT_NE(read("daemon.txt").find("] stopped"), std::string::npos) << read("daemon.txt");
}

TEST_F(DaemonProcessTest, StatusShowsTheLiveWorkerAndRunningTask) {
  const auto task = site_->aegir().queueTask(11, "backup", "hang");
  auto daemon = process::ChildProcess::launch(spec({"queued", conf(), "--set", "queue.shutdown=kill",
                                                    "--set", "queue.kill_grace=1"},
                                                   "daemon.txt"));
  ASSERT_TRUE(waitUntil([&] { return site_->aegir().current(task.nid).vid != task.vid; })) << read("daemon.txt");
  Result report;
  ASSERT_TRUE(waitUntil([&] {
    report = skynet({"status", conf()});
    return report.output.find("running: 1") != std::string::npos;
  })) << report.output;
  EXPECT_NE(report.output.find("workers: 1 alive"), std::string::npos) << report.output;
  EXPECT_NE(report.output.find("task " + std::to_string(task.nid) + " (backup, rid 11)"), std::string::npos)
      << report.output;
  kill(daemon->pid(), SIGTERM);
  EXPECT_EQ(daemon->wait().exitCode, 0);
  EXPECT_EQ(site_->aegir().current(task.nid).status, aegir::kError);
}

TEST_F(DaemonProcessTest, DaemonModeDetachesAndWritesItsPidFile) {
  const auto task = site_->aegir().queueTask(12, "verify");
  const std::string pidFile = site_->dir() + "/skynet.pid";
  const auto launcher = skynet({"queued", conf(), "--daemon", "--pidfile=" + pidFile});
  EXPECT_EQ(launcher.code, 0) << launcher.output;
  ASSERT_TRUE(waitUntil([&] { return site_->aegir().current(task.nid).status == aegir::kSuccess; }));
  std::ifstream in(pidFile);
  pid_t pid = 0;
  in >> pid;
  ASSERT_GT(pid, 0);
  EXPECT_EQ(kill(pid, 0), 0);
  kill(pid, SIGTERM);
  EXPECT_TRUE(waitUntil([&] { return kill(pid, 0) != 0; }));
}

TEST_F(DaemonProcessTest, DaemonModeReportsStartUpErrorsInTheForegroundAsWithout) {
  const std::vector<std::vector<std::string>> cases = {
      {"-c", site_->dir() + "/absent.conf"},
      {conf(), "--set", "queue.concurrency=0"},
      {conf(), "--set", "queue.drush=no-such-drush"},
      {conf(), "--set", "log.task_output=" + site_->configFile() + "/logs"},
  };
  for (const auto& extra : cases) {
    std::vector<std::string> foreground = {"queued"};
    foreground.insert(foreground.end(), extra.begin(), extra.end());
    auto detached = foreground;
    detached.push_back("--daemon");
    const auto expected = skynet(foreground);
    const auto result = skynet(detached);
    EXPECT_EQ(expected.code, 78) << expected.output;
    EXPECT_EQ(result.code, expected.code) << result.output;
    EXPECT_EQ(result.output, expected.output);
    EXPECT_EQ(lines(result.output), 1) << result.output;
  }
  // An unwritable output folder is a configuration error too.
  const std::string locked = site_->dir() + "/locked";
  ASSERT_EQ(mkdir(locked.c_str(), 0500), 0);
  const auto result = skynet({"queued", conf(), "--set", "log.task_output=" + locked, "--daemon"});
  EXPECT_EQ(result.code, 78) << result.output;
  EXPECT_EQ(result.output, "skynet: " + site_->configFile() + ": log.task_output: " + locked +
                               " is not writable (Permission denied)\n");
}

TEST_F(DaemonProcessTest, DaemonModeKeepsARelativeConfigurationPath) {
  const auto task = site_->aegir().queueTask(12, "verify");
  const std::string pidFile = site_->dir() + "/skynet.pid";
  auto launch = spec({"queued", "-c", "skynet.conf", "--daemon", "--pidfile=" + pidFile}, "relative.txt");
  launch.workingDirectory = site_->dir();
  const auto launcher = process::ChildProcess::launch(launch)->wait();
  EXPECT_EQ(launcher.exitCode, 0) << read("relative.txt");
  ASSERT_TRUE(waitUntil([&] { return site_->aegir().current(task.nid).status == aegir::kSuccess; }))
      << read("relative.txt");
  pid_t pid = 0;
  ASSERT_TRUE(waitUntil([&] {
    std::ifstream(pidFile) >> pid;
    return pid > 0;
  }));
  kill(pid, SIGTERM);
  EXPECT_TRUE(waitUntil([&] { return kill(pid, 0) != 0; }));
}

}  // namespace
}  // namespace skynet
