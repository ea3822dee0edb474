#include "app/commands.h"

#include <gtest/gtest.h>

namespace skynet::app {
namespace {

using Arguments = std::vector<std::string>;

TEST(ReexecArguments, GiveTheConfigurationFileAsAnAbsolutePathAndDropDaemon) {
  const std::string file = "--config_file=/srv/aegir/skynet.conf";
  EXPECT_EQ(reexecArguments({"skynet", "queued", "-c", "skynet.conf", "--daemon"}, "/srv/aegir/skynet.conf"),
            (Arguments{"skynet", file, "queued"}));
  EXPECT_EQ(reexecArguments({"skynet", "-cskynet.conf", "q"}, "/srv/aegir/skynet.conf"),
            (Arguments{"skynet", file, "q"}));
  EXPECT_EQ(reexecArguments({"skynet", "--config_file=skynet.conf", "queued"}, "/srv/aegir/skynet.conf"),
            (Arguments{"skynet", file, "queued"}));
  EXPECT_EQ(reexecArguments({"skynet", "--config_file", "skynet.conf", "queued"}, "/srv/aegir/skynet.conf"),
            (Arguments{"skynet", file, "queued"}));
  EXPECT_EQ(reexecArguments({"skynet", "--config:skynet.conf", "queued"}, "/srv/aegir/skynet.conf"),
            (Arguments{"skynet", file, "queued"}));
}

TEST(ReexecArguments, KeepEveryOtherArgument) {
  EXPECT_EQ(reexecArguments({"/usr/bin/skynet", "queued", "--set", "queue.concurrency=2", "-v", "--pidfile=/run/s.pid"},
                            "/home/aegir/config/skynet/skynet.conf"),
            (Arguments{"/usr/bin/skynet", "--config_file=/home/aegir/config/skynet/skynet.conf", "queued", "--set",
                       "queue.concurrency=2", "-v", "--pidfile=/run/s.pid"}));
}

}  // namespace
}  // namespace skynet::app
