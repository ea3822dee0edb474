// One test's Aegir world: a fresh database in the sandbox, a HOME where the Aegir simulator
// finds that database (as drush finds a site), and a skynet.conf that runs the simulator.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "db/connection.h"
#include "support/aegir_fixture.h"
#include "support/sandbox.h"

namespace skynet::testing {

class TestSite {
 public:
  // `config` is appended to the generated skynet.conf (INI), e.g. "[queue]\nconcurrency = 2\n".
  explicit TestSite(const std::string& databaseName, const std::string& config = "");
  // The same on a database that exists already (e.g. in a sandbox of the test's own).
  TestSite(const db::ConnectionParams& params, const std::string& config);
  ~TestSite();

  db::Connection& db() { return *db_; }
  AegirFixture& aegir() { return *aegir_; }
  const db::ConnectionParams& params() const { return params_; }
  const std::string& dir() const { return dir_; }
  const std::string& home() const { return home_; }
  const std::string& configFile() const { return configFile_; }
  // A new connection for the test's own queries (after the server was restarted).
  void reconnect();
  // Rewrites skynet.conf with other extra lines.
  void writeConfig(const std::string& config);
  std::vector<std::string> invocations() const { return simulatorInvocations(home_); }
  static std::string drush() { return source("tests/aegir-sim/drush"); }

 private:
  db::ConnectionParams params_;
  std::string dir_, home_, configFile_;
  std::unique_ptr<db::Connection> db_;
  std::unique_ptr<AegirFixture> aegir_;
};

// Polls `condition` every 20 ms until it holds or `seconds` pass; returns whether it held.
bool waitUntil(const std::function<bool()>& condition, double seconds = 60);

// A database name from the running test's name.
std::string testDatabaseName(const std::string& prefix);

}  // namespace skynet::testing
