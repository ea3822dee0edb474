#include "app/skynet_application.h"

#include <Poco/AutoPtr.h>
#include <Poco/ConsoleChannel.h>
#include <Poco/FormattingChannel.h>
#include <Poco/Logger.h>
#include <Poco/PatternFormatter.h>
#include <Poco/Util/HelpFormatter.h>
#include <Poco/Util/Option.h>
#include <Poco/Util/OptionCallback.h>
#include <Poco/Util/OptionSet.h>

#include <iostream>

#include "app/commands.h"
#include "version.h"

namespace skynet::app {

using Poco::Util::Option;
using Poco::Util::OptionCallback;

void SkynetApplication::defineOptions(Poco::Util::OptionSet& options) {
  ServerApplication::defineOptions(options);  // --daemon, --pidfile, --umask
  options.addOption(Option("help", "h", "show this help and exit")
                        .required(false)
                        .repeatable(false)
                        .callback(OptionCallback<SkynetApplication>(this, &SkynetApplication::handleHelp)));
  options.addOption(Option("config_file", "c", "configuration file (INI, or YAML when it ends in .yml/.yaml); "
                                               "default ~/config/skynet/skynet.conf")
                        .required(false)
                        .repeatable(false)
                        .argument("PATH")
                        .callback(OptionCallback<SkynetApplication>(this, &SkynetApplication::handleConfigFile)));
  options.addOption(Option("verbose", "v", "log at debug level")
                        .required(false)
                        .repeatable(false)
                        .callback(OptionCallback<SkynetApplication>(this, &SkynetApplication::handleVerbose)));
  options.addOption(Option("set", "", "override one setting, e.g. --set queue.concurrency=4 (repeatable)")
                        .required(false)
                        .repeatable(true)
                        .argument("section.key=value")
                        .callback(OptionCallback<SkynetApplication>(this, &SkynetApplication::handleSet)));
}

void SkynetApplication::handleHelp(const std::string&, const std::string&) {
  helpRequested_ = true;
  stopOptionsProcessing();
}

void SkynetApplication::handleConfigFile(const std::string&, const std::string& value) { configFile_ = value; }
void SkynetApplication::handleVerbose(const std::string&, const std::string&) { verbose_ = true; }
void SkynetApplication::handleSet(const std::string&, const std::string& value) { overrides_.push_back(value); }

void SkynetApplication::initialize(Poco::Util::Application& self) {
  commandLineAccepted_ = true;
  ServerApplication::initialize(self);
}

void SkynetApplication::printHelp() {
  Poco::Util::HelpFormatter help(options());
  help.setCommand("skynet");
  help.setUsage("[options] queued|q|check|status|version");
  help.setHeader(
      "Skynet runs the Aegir hosting task queue: it claims queued tasks from the hostmaster database and "
      "runs `drush @hostmaster hosting-task <nid>` for each.\n\n"
      "Commands:\n"
      "  queued, q   run the queue daemon in the foreground (or with --daemon)\n"
      "  check       validate the configuration and the database, print a report\n"
      "  status      queue depth, running tasks, recent outcomes, live workers\n"
      "  version     print the version\n\n"
      "Options:");
  help.setFooter("Exit codes: 0 ok, 64 usage error, 69 database unavailable, 77 run as root, "
                 "78 configuration error.");
  help.format(std::cout);
}

int SkynetApplication::usageError(const std::string& message) {
  std::cerr << "skynet: " << message << "; see skynet --help\n";
  return EXIT_USAGE;
}

int SkynetApplication::main(const std::vector<std::string>& args) {
  if (helpRequested_) {
    printHelp();
    return EXIT_OK;
  }
  if (args.empty()) return usageError("no command given");
  if (args.size() > 1) return usageError("unexpected argument '" + args[1] + "'");
  const std::string& command = args[0];
  if (command == "version") {
    std::cout << "skynet " << kVersion << "\n";
    return EXIT_OK;
  }
  if (command != "queued" && command != "q" && command != "check" && command != "status") {
    return usageError("unknown command '" + command + "'");
  }

  Settings settings;
  try {
    settings = loadSettings(configFile_.empty() ? defaultConfigFile() : configFile_, overrides_);
  } catch (const ConfigError& error) {
    std::cerr << "skynet: " << error.what() << "\n";
    return EXIT_CONFIG;
  }

  Poco::AutoPtr<Poco::PatternFormatter> format(new Poco::PatternFormatter("%Y-%m-%d %H:%M:%S.%i [%p] %t"));
  format->setProperty("times", "UTC");
  Poco::AutoPtr<Poco::FormattingChannel> channel(new Poco::FormattingChannel(format, new Poco::ConsoleChannel));
  Poco::Logger& log = Poco::Logger::get("skynet");
  log.setChannel(channel);
  log.setLevel(verbose_ ? "debug" : settings.log.level);

  if (command == "check") return runCheck(settings, std::cout, std::cerr);
  if (command == "status") return runStatus(settings, std::cout, std::cerr);
  const std::string file = settings.file;
  const auto overrides = overrides_;
  return runQueued(settings, [file, overrides] { return loadSettings(file, overrides); }, log, std::cerr);
}

}  // namespace skynet::app
