#include <Poco/AutoPtr.h>
#include <Poco/Channel.h>
#include <Poco/Logger.h>
#include <Poco/Message.h>

#include <iostream>
#include <string>
#include <vector>

#include "app/skynet_application.h"
#include "util/memory.h"

namespace {

using skynet::app::SkynetApplication;

// Poco reports a rejected command line through its start-up logger; keep the text so it can be
// printed as one usage line with the usage exit code.
class RememberChannel : public Poco::Channel {
 public:
  void log(const Poco::Message& message) override { text = message.getText(); }
  std::string text;
};

// ServerApplication's own rule: it detaches when an argument is exactly "--daemon".
bool detachRequested(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--daemon") return true;
  }
  return false;
}

// Runs one application on the command line; a command line Poco refused becomes one usage line.
int runApplication(SkynetApplication& app, int argc, char** argv) {
  Poco::AutoPtr<RememberChannel> startup(new RememberChannel);
  // After construction: Poco's Application sets a console channel on every logger.
  Poco::Logger::get("ApplicationStartup").setChannel(startup);
  const int code = app.run(argc, argv);
  if (!app.commandLineAccepted() && code == Poco::Util::Application::EXIT_CONFIG) {
    std::cerr << "skynet: " << (startup->text.empty() ? "bad command line" : startup->text)
              << "; see skynet --help\n";
    return Poco::Util::Application::EXIT_USAGE;
  }
  return code;
}

// The foreground pass before detaching (see skynet_application.h): the command line without
// "--daemon", so this process stays attached to the caller's terminal and exit status.
int checkBeforeDetaching(int argc, char** argv, bool& ready) {
  std::vector<char*> attached;
  for (int i = 0; i < argc; ++i) {
    if (i == 0 || std::string(argv[i]) != "--daemon") attached.push_back(argv[i]);
  }
  attached.push_back(nullptr);
  SkynetApplication app(SkynetApplication::Pass::BeforeDetaching);
  const int code = runApplication(app, static_cast<int>(attached.size() - 1), attached.data());
  ready = app.readyToDetach();
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  skynet::configureAllocator();
  try {
    if (detachRequested(argc, argv)) {
      bool ready = false;
      const int code = checkBeforeDetaching(argc, argv, ready);
      if (!ready) return code;
    }
    SkynetApplication app;
    return runApplication(app, argc, argv);
  } catch (const Poco::Exception& error) {
    std::cerr << "skynet: " << error.displayText() << "\n";
    return Poco::Util::Application::EXIT_SOFTWARE;
  }
}
