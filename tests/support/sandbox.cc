#include "support/sandbox.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <stdexcept>

namespace skynet::testing {

std::string source(const std::string& relative) { return std::string(SKYNET_SOURCE_DIR) + "/" + relative; }

int runCommand(const std::string& commandLine, std::string* output) {
  FILE* pipe = popen((commandLine + " 2>&1").c_str(), "r");
  if (!pipe) throw std::runtime_error("cannot run " + commandLine);
  std::array<char, 4096> buffer{};
  std::string text;
  std::size_t got;
  while ((got = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) text.append(buffer.data(), got);
  const int status = pclose(pipe);
  if (output) *output = text;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string makeTempDir(const std::string& prefix) {
  const char* base = getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/" + prefix + "-XXXXXX";
  if (!mkdtemp(pattern.data())) throw std::runtime_error("cannot create a temporary folder");
  return pattern;
}

namespace {
std::string sandboxScript() { return source("tests/support/mariadb-sandbox"); }
}  // namespace

Sandbox::Sandbox() {
  dir_ = makeTempDir("skynet-mariadb");
  std::string output;
  if (runCommand(sandboxScript() + " start " + dir_ + " --owner-pid " + std::to_string(getpid()), &output) != 0) {
    throw std::runtime_error("cannot start the test MariaDB: " + output);
  }
  socket_ = dir_ + "/mysqld.sock";
}

Sandbox* Sandbox::started_ = nullptr;

Sandbox& Sandbox::instance() {
  static Sandbox sandbox;
  started_ = &sandbox;
  return sandbox;
}

void Sandbox::stopIfStarted() {
  if (started_) started_->stop();
}

void Sandbox::stop() {
  if (dir_.empty()) return;
  runCommand(sandboxScript() + " stop " + dir_);
  dir_.clear();
}

db::ConnectionParams Sandbox::createDatabase(const std::string& name) {
  std::string output;
  if (runCommand(sandboxScript() + " create-db " + dir_ + " " + name, &output) != 0) {
    throw std::runtime_error("cannot create test database " + name + ": " + output);
  }
  db::ConnectionParams params;
  params.socket = socket_;
  params.database = name;
  params.user = "aegir";
  params.password = "aegir-test-password";
  return params;
}

namespace {
// Stops the server after the last test, also when tests failed.
class SandboxEnvironment : public ::testing::Environment {
 public:
  void TearDown() override { Sandbox::stopIfStarted(); }
};
const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new SandboxEnvironment);
}  // namespace

PrivateServer::PrivateServer(const std::string& database) : dir_(makeTempDir("skynet-private")) {
  if (sandbox("start " + dir_ + " --owner-pid " + std::to_string(getpid())) != 0 ||
      sandbox("create-db " + dir_ + " " + database) != 0) {
    throw std::runtime_error("cannot start a private MariaDB in " + dir_);
  }
  params_.socket = dir_ + "/mysqld.sock";
  params_.database = database;
  params_.user = "aegir";
  params_.password = "aegir-test-password";
}

PrivateServer::~PrivateServer() {
  const pid_t server = pid();
  if (server > 0) kill(server, SIGCONT);  // a frozen server cannot stop
  sandbox("stop " + dir_);
}

pid_t PrivateServer::pid() const {
  std::ifstream in(dir_ + "/mysqld.pid");
  pid_t server = 0;
  in >> server;
  return server;
}

int PrivateServer::halt() { return sandbox("halt " + dir_); }
int PrivateServer::start() { return sandbox("start " + dir_); }

int PrivateServer::sandbox(const std::string& arguments) const {
  return runCommand(source("tests/support/mariadb-sandbox") + " " + arguments);
}

}  // namespace skynet::testing
