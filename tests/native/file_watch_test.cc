#include "daemon/file_watch.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace skynet::daemon {
namespace {

class FileWatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/skynet-file-watch.XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    folder_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(folder_); }

  void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }
  // Replaced the way editors and dpkg do it: a new file renamed into place.
  void replace(const std::string& path, const std::string& text) {
    write(path + ".new", text);
    ASSERT_EQ(std::rename((path + ".new").c_str(), path.c_str()), 0);
  }
  // Waits (up to 10 s: a condition, not a timing) for the events to be readable.
  static bool readable(const FolderEvents& events) {
    pollfd entry{events.fd(), POLLIN, 0};
    return poll(&entry, 1, 10000) == 1;
  }

  std::string folder_;
};

TEST_F(FileWatchTest, FolderEventsWakeWhenAWatchedFileIsReplacedAndStayQuietOtherwise) {
  const std::string file = folder_ + "/skynet.conf";
  write(file, "a");
  FolderEvents events;
  ASSERT_TRUE(events.active());
  events.watchFolderOf(file);
  ASSERT_TRUE(events.active());
  EXPECT_FALSE(events.drain());
  pollfd entry{events.fd(), POLLIN, 0};
  EXPECT_EQ(poll(&entry, 1, 0), 0) << "events without a change";

  replace(file, "b");
  EXPECT_TRUE(readable(events));
  EXPECT_TRUE(events.drain());
  EXPECT_EQ(poll(&entry, 1, 0), 0) << "drain() left events behind";

  write(file, "c");  // written in place
  EXPECT_TRUE(readable(events));
  EXPECT_TRUE(events.drain());
}

TEST_F(FileWatchTest, FolderEventsFollowASymbolicLinkToItsTargetsFolder) {
  std::filesystem::create_directory(folder_ + "/real");
  std::filesystem::create_directory(folder_ + "/links");
  const std::string target = folder_ + "/real/skynet.conf";
  const std::string link = folder_ + "/links/skynet.conf";
  write(target, "a");
  std::filesystem::create_symlink(target, link);
  FolderEvents events;
  events.watchFolderOf(link);
  ASSERT_TRUE(events.active());
  replace(target, "b");
  EXPECT_TRUE(readable(events));
}

TEST_F(FileWatchTest, AFolderThatCannotBeWatchedLeavesTheCallerToItsTimer) {
  FolderEvents events;
  events.watchFolderOf(folder_ + "/missing/skynet.conf");
  EXPECT_FALSE(events.active());
  EXPECT_EQ(events.fd(), -1);
}

TEST_F(FileWatchTest, AChangeCountsOnceItSettledAndSaysWhenToLookAgain) {
  const std::string file = folder_ + "/skynet.conf";
  write(file, "a");
  FileWatch watch(file, 1.0);
  EXPECT_EQ(watch.settlesIn(100.0), -1);
  EXPECT_FALSE(watch.changed(100.0));

  replace(file, "bb");
  EXPECT_FALSE(watch.changed(100.0));  // seen, not settled
  EXPECT_DOUBLE_EQ(watch.settlesIn(100.25), 0.75);
  EXPECT_FALSE(watch.changed(100.5));
  EXPECT_TRUE(watch.changed(101.0));
  EXPECT_EQ(watch.settlesIn(101.0), -1);
  EXPECT_FALSE(watch.changed(102.0));  // once per change
}

}  // namespace
}  // namespace skynet::daemon
