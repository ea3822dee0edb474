// The application shell (a Poco ServerApplication): options, sub-commands, logging, exit codes.
//
//   skynet queued|q   run the queue daemon (foreground; --daemon, --pidfile, --umask from Poco)
//   skynet check      validate configuration and database, print a report
//   skynet status     queue depth, running tasks, recent outcomes, live workers
//   skynet version
//
// Exit codes (sysexits): 0 normal, 64 usage, 69 database unavailable (check, status),
// 77 started as root, 78 configuration error.
#pragma once

#include <Poco/Util/ServerApplication.h>

#include <string>
#include <vector>

namespace skynet::app {

class SkynetApplication : public Poco::Util::ServerApplication {
 public:
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
  void printHelp();
  int usageError(const std::string& message);

  bool commandLineAccepted_ = false;
  bool helpRequested_ = false;
  bool verbose_ = false;
  std::string configFile_;
  std::vector<std::string> overrides_;
};

}  // namespace skynet::app
