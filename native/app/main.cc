#include <Poco/AutoPtr.h>
#include <Poco/Channel.h>
#include <Poco/Logger.h>
#include <Poco/Message.h>

#include <iostream>

#include "app/skynet_application.h"

namespace {

// Poco reports a rejected command line through its start-up logger; keep the text so it can be
// printed as one usage line with the usage exit code.
class RememberChannel : public Poco::Channel {
 public:
  void log(const Poco::Message& message) override { text = message.getText(); }
  std::string text;
};

}  // namespace

int main(int argc, char** argv) {
  Poco::AutoPtr<RememberChannel> startup(new RememberChannel);
  try {
    skynet::app::SkynetApplication app;
    // After construction: Poco's Application sets a console channel on every logger.
    Poco::Logger::get("ApplicationStartup").setChannel(startup);
    const int code = app.run(argc, argv);
    if (!app.commandLineAccepted() && code == Poco::Util::Application::EXIT_CONFIG) {
      std::cerr << "skynet: " << (startup->text.empty() ? "bad command line" : startup->text)
                << "; see skynet --help\n";
      return Poco::Util::Application::EXIT_USAGE;
    }
    return code;
  } catch (const Poco::Exception& error) {
    std::cerr << "skynet: " << error.displayText() << "\n";
    return Poco::Util::Application::EXIT_SOFTWARE;
  }
}
