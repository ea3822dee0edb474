// The application shell (a Poco ServerApplication): options, sub-commands, logging, exit codes.
//
//   skynet queued|q   run the queue daemon (foreground; --daemon, --pidfile, --umask from Poco)
//   skynet check      validate configuration and database, print a report
//   skynet status     queue depth, running tasks, recent outcomes, live workers
//   skynet version
//
// Exit codes (sysexits): 0 normal, 64 usage, 69 database unavailable or a privilege missing
// (check, status), 77 started as root, 78 configuration error.
//
// --daemon: Poco's ServerApplication forks before it reads the command line, its parent exits 0
// and the child's stderr is /dev/null, so every start-up error would vanish. main() therefore
// runs the command line first in a Pass::BeforeDetaching application, in the foreground: it
// reads the options as the real run will (Poco's --daemon, --umask, --pidfile without their
// effects), loads the configuration and makes the checks `queued` makes before it starts, and
// exits with their message and code; only when all pass does the real run detach.
#pragma once

#include <Poco/Util/ServerApplication.h>

#include <string>
#include <vector>

namespace skynet::app {

class SkynetApplication : public Poco::Util::ServerApplication {
 public:
  enum class Pass { Run, BeforeDetaching };
  explicit SkynetApplication(Pass pass = Pass::Run) : pass_(pass) {}

  // After a Pass::BeforeDetaching run: true when it found `queued` ready to start, so the real
  // run may detach; false when it printed something (help, version, an error) and main() exits
  // with its code.
  bool readyToDetach() const { return readyToDetach_; }
  // True once Poco accepted the command line (init succeeded); main() uses it to tell a usage
  // error from other start-up failures.
  bool commandLineAccepted() const { return commandLineAccepted_; }

 protected:
  void defineOptions(Poco::Util::OptionSet& options) override;
  void initialize(Poco::Util::Application& self) override;
  int main(const std::vector<std::string>& args) override;

 private:
  void handleHelp(const std::string& name, const std::string& value);
  void handleConfigFile(const std::string& name, const std::string& value);
  void handleVerbose(const std::string& name, const std::string& value);
  void handleSet(const std::string& name, const std::string& value);
  // ServerApplication's own options, read without their effects (Pass::BeforeDetaching).
  void handleUmaskBeforeDetaching(const std::string& name, const std::string& value);
  void handlePidFileBeforeDetaching(const std::string& name, const std::string& value);
  void handleIgnored(const std::string& name, const std::string& value);
  void printHelp();
  int usageError(const std::string& message);

  Pass pass_;
  bool readyToDetach_ = false;
  bool commandLineAccepted_ = false;
  bool helpRequested_ = false;
  bool verbose_ = false;
  std::string configFile_;
  std::vector<std::string> overrides_;
};

}  // namespace skynet::app
