#include "app/skynet_application.h"

#include <Poco/AutoPtr.h>
#include <Poco/ConsoleChannel.h>
#include <Poco/FormattingChannel.h>
#include <Poco/Exception.h>
#include <Poco/Logger.h>
#include <Poco/Path.h>
#include <Poco/PatternFormatter.h>
#include <Poco/Util/HelpFormatter.h>
#include <Poco/Util/Option.h>
#include <Poco/Util/OptionCallback.h>
#include <Poco/Util/OptionSet.h>

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "app/commands.h"
#include "version.h"

namespace skynet::app {

using Poco::Util::Option;
using Poco::Util::OptionCallback;

void SkynetApplication::defineOptions(Poco::Util::OptionSet& options) {
  if (pass_ == Pass::Run) {
    ServerApplication::defineOptions(options);  // --daemon, --pidfile, --umask
  } else {
    // The same options, so the command line is accepted or refused exactly as in the real run,
    // but with no effect: the pid file belongs to the process that detaches.
    Application::defineOptions(options);
    options.addOption(Option("daemon", "", "run in the background (queued only)")
                          .required(false)
                          .repeatable(false)
                          .callback(OptionCallback<SkynetApplication>(this, &SkynetApplication::handleIgnored)));
    options.addOption(Option("umask", "", "the daemon's umask, in octal (e.g. 027)")
                          .required(false)
                          .repeatable(false)
                          .argument("mask")
                          .callback(OptionCallback<SkynetApplication>(
                              this, &SkynetApplication::handleUmaskBeforeDetaching)));
    options.addOption(Option("pidfile", "", "write the daemon's process id to this file")
                          .required(false)
                          .repeatable(false)
                          .argument("path")
                          .callback(OptionCallback<SkynetApplication>(
                              this, &SkynetApplication::handlePidFileBeforeDetaching)));
  }
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

// Absolute at once: with --daemon, Poco changes to / after reading the options, and SIGHUP
// re-reads the same path later.
void SkynetApplication::handleConfigFile(const std::string&, const std::string& value) {
  configFile_ = value.empty() ? value : Poco::Path(value).makeAbsolute().toString();
}

void SkynetApplication::handleIgnored(const std::string&, const std::string&) {}

void SkynetApplication::handleUmaskBeforeDetaching(const std::string&, const std::string& value) {
  // ServerApplication refuses the same values, but only once detached, where nobody sees it.
  if (value.empty() || value.find_first_not_of("01234567") != std::string::npos) {
    throw Poco::InvalidArgumentException("umask contains non-octal characters", value);
  }
}

void SkynetApplication::handlePidFileBeforeDetaching(const std::string&, const std::string& value) {
  const std::string folder = Poco::Path(value).makeAbsolute().parent().toString();
  if (access(folder.c_str(), W_OK | X_OK) != 0) {
    throw Poco::CreateFileException("cannot write the pid file " + value + " in " + folder, std::strerror(errno));
  }
}
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
  const bool queued = command == "queued" || command == "q";
  if (pass_ == Pass::BeforeDetaching && !queued) return usageError("--daemon is only for queued");

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
  if (pass_ == Pass::BeforeDetaching) {
    const int code = checkQueuedCanStart(settings, std::cerr);
    readyToDetach_ = code == EXIT_OK;
    return code;
  }
  const std::string file = settings.file;
  const auto overrides = overrides_;
  return runQueued(settings, [file, overrides] { return loadSettings(file, overrides); }, log, std::cerr);
}

}  // namespace skynet::app
