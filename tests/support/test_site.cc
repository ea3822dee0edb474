#include "support/test_site.h"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "support/sandbox.h"

namespace skynet::testing {

TestSite::TestSite(const std::string& databaseName, const std::string& config)
    : TestSite(Sandbox::instance().createDatabase(databaseName), config) {}

TestSite::TestSite(const db::ConnectionParams& params, const std::string& config) : params_(params) {
  dir_ = makeTempDir("skynet-site");
  home_ = dir_ + "/home";
  writeSimulatorHome(home_, params_);
  configFile_ = dir_ + "/skynet.conf";
  writeConfig(config);
  db_ = std::make_unique<db::Connection>(params_);
  aegir_ = std::make_unique<AegirFixture>(*db_);
}

TestSite::~TestSite() { runCommand("rm -rf " + dir_); }

void TestSite::reconnect() {
  aegir_.reset();
  db_ = std::make_unique<db::Connection>(params_);
  aegir_ = std::make_unique<AegirFixture>(*db_);
}

void TestSite::writeConfig(const std::string& config) {
  std::ofstream(configFile_) << "[database]\nhost = localhost\ndb = " << params_.database
                             << "\nuser = " << params_.user << "\npasswd = " << params_.password
                             << "\nsocket = " << params_.socket << "\n[queue]\ndrush = " << drush()
                             << "\npoll_interval = 0.2\n[log]\ntask_output = " << dir_ << "/task-output\n"
                             << "[api]\nlisten =\n"
                             << config;
}

bool waitUntil(const std::function<bool()>& condition, double seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

std::string testDatabaseName(const std::string& prefix) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return (prefix + "_" + info->name()).substr(0, 60);
}

}  // namespace skynet::testing
