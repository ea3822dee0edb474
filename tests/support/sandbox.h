// The tests' private MariaDB (tests/support/mariadb-sandbox): started once per test binary on a
// unix socket in a temporary folder, stopped when the binary ends; if the binary crashes, the
// sandbox's watchdog stops the server. Each test gets a database of its own with the Aegir
// schema and base rows (tests/fixtures/).
#pragma once

#include <sys/types.h>

#include <string>

#include "db/connection.h"

namespace skynet::testing {

class Sandbox {
 public:
  static Sandbox& instance();
  // Stops the server if this binary started one; called by the test environment at exit.
  static void stopIfStarted();

  const std::string& socket() const { return socket_; }
  // A fresh database `name` with the Aegir fixture; parameters for the aegir user.
  db::ConnectionParams createDatabase(const std::string& name);

 private:
  Sandbox();
  void stop();
  static Sandbox* started_;
  std::string dir_;
  std::string socket_;
};

// A MariaDB of one test's own (for outages and freezes that must not touch the shared one), with
// one Aegir database `database`; stopped and removed when destroyed.
class PrivateServer {
 public:
  explicit PrivateServer(const std::string& database);
  ~PrivateServer();
  PrivateServer(const PrivateServer&) = delete;
  PrivateServer& operator=(const PrivateServer&) = delete;

  const db::ConnectionParams& params() const { return params_; }
  const std::string& dir() const { return dir_; }
  // mariadbd's pid (for SIGSTOP and SIGCONT).
  pid_t pid() const;
  // `halt` (stop, keep the data) and `start` again: an outage. Return the script's exit code.
  int halt();
  int start();

 private:
  int sandbox(const std::string& arguments) const;
  std::string dir_;
  db::ConnectionParams params_;
};

// Path of a file in the source tree, e.g. source("tests/aegir-sim/drush").
std::string source(const std::string& relative);
// Runs a command line through /bin/sh; returns its exit code and fills `output` (stdout+stderr).
int runCommand(const std::string& commandLine, std::string* output = nullptr);
// A new empty folder under the temporary directory, removed by the caller.
std::string makeTempDir(const std::string& prefix);

}  // namespace skynet::testing
