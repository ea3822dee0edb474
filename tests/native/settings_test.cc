#include "config/settings.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

#include "support/sandbox.h"

namespace skynet {
namespace {

class SettingsTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::makeTempDir("skynet-settings"); }
  void TearDown() override { testing::runCommand("rm -rf " + dir_); }

  std::string write(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }

  // The ConfigError message loading `path` gives, or "" when it loads.
  std::string errorOf(const std::string& path, const std::vector<std::string>& overrides = {}) {
    try {
      loadSettings(path, overrides);
    } catch (const ConfigError& error) {
      return error.what();
    }
    return "";
  }

  std::string dir_;
};

// The file the 2016 Skynet's drush hook wrote, trailing spaces included.
const char* const kOriginalIni =
    "[database]\nhost = db.example.com\ndb = aegir\nuser = aegir_user \npasswd = s3cret \n";

TEST_F(SettingsTest, ReadsTheOriginalIniFormatUnchanged) {
  const Settings settings = loadSettings(write("skynet.conf", kOriginalIni));
  EXPECT_EQ(settings.database.host, "db.example.com");
  EXPECT_EQ(settings.database.db, "aegir");
  EXPECT_EQ(settings.database.user, "aegir_user");
  EXPECT_EQ(settings.database.passwd, "s3cret");
  EXPECT_EQ(settings.database.port, 3306u);
}

TEST_F(SettingsTest, AppliesTheDocumentedDefaults) {
  setenv("HOME", "/var/aegir", 1);
  const Settings settings = loadSettings(write("skynet.conf", kOriginalIni));
  EXPECT_EQ(settings.queue.concurrency, 1);
  EXPECT_DOUBLE_EQ(settings.queue.pollInterval, 1.0);
  EXPECT_EQ(settings.queue.drush, "drush");
  EXPECT_EQ(settings.queue.alias, "@hostmaster");
  EXPECT_EQ(settings.queue.timeout, 14400);
  EXPECT_EQ(settings.queue.killGrace, 30);
  EXPECT_EQ(settings.queue.exclusive, (std::set<std::string>{"server", "platform"}));
  EXPECT_EQ(settings.queue.shutdown, ShutdownMode::Adopt);
  EXPECT_EQ(settings.api.listen, "127.0.0.1:8000");
  EXPECT_EQ(settings.api.maxLogBytes, 1048576);
  EXPECT_EQ(settings.runs.workdir, "/var/aegir/config/skynet/exchange");
  EXPECT_EQ(settings.log.taskOutput, "/var/aegir/config/skynet/logs");
  EXPECT_EQ(settings.log.level, "information");
  EXPECT_EQ(settings.log.maxOutputBytes, 16777216);
  EXPECT_EQ(settings.log.keepDays, 30);
  EXPECT_EQ(settings.runs.timeout, 86400);
  EXPECT_EQ(settings.runs.timezone, "UTC");
  EXPECT_EQ(settings.queue.lostAfter, 600);
}

TEST_F(SettingsTest, RejectsATimeZoneTheTzDatabaseDoesNotKnow) {
  const std::string base = kOriginalIni;
  EXPECT_NE(errorOf(write("tz1.conf", base + "[runs]\ntimezone = Mars/Olympus\n"))
                .find("runs.timezone: expected a time zone of the tz database"),
            std::string::npos);
  EXPECT_NE(errorOf(write("tz2.conf", base + "[runs]\ntimezone = ../../etc/passwd\n")).find("runs.timezone: expected"),
            std::string::npos);
  EXPECT_NE(errorOf(write("days.conf", base + "[log]\nkeep_days = 0\n")).find("log.keep_days: expected"),
            std::string::npos);
}

TEST_F(SettingsTest, ApiListenTakesHostAndPortWithPortZeroForAnyFreePort) {
  const std::string path = write("skynet.conf", kOriginalIni);
  EXPECT_EQ(loadSettings(path, {"api.listen=127.0.0.1:0"}).api.listen, "127.0.0.1:0");
  EXPECT_EQ(loadSettings(path, {"api.listen="}).api.listen, "");
  EXPECT_NE(errorOf(path, {"api.listen=127.0.0.1:65536"}).find("api.listen: expected host:port"), std::string::npos);
  EXPECT_NE(errorOf(path, {"api.listen=8000"}).find("api.listen: expected host:port"), std::string::npos);
}

TEST_F(SettingsTest, YamlAndIniMeanTheSameKeys) {
  const Settings ini = loadSettings(write("a.conf", std::string(kOriginalIni) +
                                                        "[queue]\nconcurrency = 4\nexclusive = server\n"
                                                        "[task.backup]\ntimeout = 7200\n"));
  const Settings yaml = loadSettings(write("a.yml",
                                           "database:\n  host: db.example.com\n  db: aegir\n  user: aegir_user\n"
                                           "  passwd: s3cret\nqueue:\n  concurrency: 4\n  exclusive: [server]\n"
                                           "task:\n  backup:\n    timeout: 7200\n"));
  for (const Settings* s : {&ini, &yaml}) {
    EXPECT_EQ(s->database.passwd, "s3cret");
    EXPECT_EQ(s->queue.concurrency, 4);
    EXPECT_EQ(s->queue.exclusive, std::set<std::string>{"server"});
    EXPECT_EQ(s->queue.timeoutFor("backup"), 7200);
    EXPECT_EQ(s->queue.timeoutFor("verify"), 14400);
  }
}

TEST_F(SettingsTest, SetOverridesOneKey) {
  const Settings settings =
      loadSettings(write("skynet.conf", kOriginalIni), {"queue.concurrency=3", "task.verify.timeout=60"});
  EXPECT_EQ(settings.queue.concurrency, 3);
  EXPECT_EQ(settings.queue.timeoutFor("verify"), 60);
}

TEST_F(SettingsTest, RejectsAnUnknownKeyNamingFileAndKey) {
  const std::string path = write("skynet.conf", std::string(kOriginalIni) + "[queue]\nconcurency = 2\n");
  EXPECT_EQ(errorOf(path), path + ": queue.concurency: unknown key");
  EXPECT_EQ(errorOf(write("ok.conf", kOriginalIni), {"queue.colour=red"}),
            dir_ + "/ok.conf: queue.colour: unknown key");
}

TEST_F(SettingsTest, RejectsAMissingRequiredKey) {
  const std::string path = write("skynet.conf", "[database]\nhost = localhost\ndb = aegir\n");
  EXPECT_EQ(errorOf(path), path + ": database.user: missing; it is required");
}

TEST_F(SettingsTest, RejectsMalformedValuesSayingWhatIsExpected) {
  const std::string base = kOriginalIni;
  EXPECT_NE(errorOf(write("1.conf", base + "[queue]\nconcurrency = many\n"))
                .find("queue.concurrency: expected a whole number from 1 to 1024, got \"many\""),
            std::string::npos);
  EXPECT_NE(errorOf(write("2.conf", base + "[queue]\npoll_interval = -1\n")).find("queue.poll_interval: expected"),
            std::string::npos);
  EXPECT_NE(errorOf(write("3.conf", base + "[queue]\nshutdown = later\n")).find("adopt, drain or kill"),
            std::string::npos);
  EXPECT_NE(errorOf(write("4.conf", base + "port = 99999\n")).find("database.port: expected a port"),
            std::string::npos);
  EXPECT_NE(errorOf(write("5.conf", base + "[task.backup]\ntimeout = soon\n")).find("task.backup.timeout"),
            std::string::npos);
  EXPECT_NE(errorOf(write("6.conf", base + "[queue]\nalias = hostmaster\n")).find("starting with @"),
            std::string::npos);
}

TEST_F(SettingsTest, RejectsLinesThatAreNotKeyValue) {
  const std::string path = write("skynet.conf", std::string(kOriginalIni) + "concurrency 4\n");
  EXPECT_EQ(errorOf(path), path + ": line 6: expected key = value");
}

TEST_F(SettingsTest, ReportsBrokenYamlWithItsLine) {
  const std::string path = write("skynet.yaml", "database:\n  db: aegir\n  user: [unclosed\n");
  EXPECT_NE(errorOf(path).find(path + ": line "), std::string::npos);
}

TEST_F(SettingsTest, ReportsAMissingFile) {
  EXPECT_EQ(errorOf(dir_ + "/absent.conf"),
            dir_ + "/absent.conf: cannot read configuration file: No such file or directory");
}

TEST_F(SettingsTest, NeverPutsThePasswordIntoAMessage) {
  // Neither for a misspelt password key, nor when the password itself is what is wrong.
  const std::string misspelt = write("1.conf", "[database]\ndb = a\nuser = u\npassword = hunter2\n");
  EXPECT_EQ(errorOf(misspelt), misspelt + ": database.password: unknown key");
  const std::string set = errorOf(write("2.conf", kOriginalIni), {"database.passwd", "database.pass=hunter2"});
  EXPECT_FALSE(set.empty());
  EXPECT_EQ(set.find("hunter2"), std::string::npos) << set;
  const std::string yaml = write("3.yml", "database:\n  db: a\n  user: u\n  passwd: {nested: hunter2}\n");
  EXPECT_EQ(errorOf(yaml), yaml + ": database.passwd.nested: unknown key");
}

}  // namespace
}  // namespace skynet
