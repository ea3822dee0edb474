#include "util/files.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "support/sandbox.h"

namespace skynet {
namespace {

class FilesTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::makeTempDir("skynet-files"); }
  void TearDown() override { testing::runCommand("rm -rf " + dir_); }

  std::string write(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  std::string dir_;
};

TEST_F(FilesTest, ReadsAWholeFileLargerThanOneBuffer) {
  std::string text;
  for (int i = 0; i < 3000; ++i) text += "line " + std::to_string(i) + "\n";
  text += std::string("\0binary\0", 8);
  EXPECT_EQ(readFile(write("big", text)), text);
  EXPECT_EQ(readFile(write("empty", "")), "");
  EXPECT_EQ(readFile(dir_ + "/missing"), "");
  EXPECT_EQ(readFile(dir_), "");  // a folder cannot be read
}

TEST_F(FilesTest, ReadsProcFilesThatClaimToBeEmpty) {
  // /proc reports a size of 0: what counts is what reading returns.
  const std::string stat = readFile("/proc/self/stat");
  EXPECT_EQ(stat.rfind(std::to_string(getpid()) + " (", 0), 0u) << stat;
  EXPECT_EQ(readFile("/proc/sys/kernel/random/boot_id").size(), 37u);  // 36 characters and a newline
}

TEST_F(FilesTest, ReadsTheTailOfAFile) {
  const std::string path = write("out.log", "first\nsecond\nthird\n");
  EXPECT_EQ(readFileTail(path, 6), "third\n");
  EXPECT_EQ(readFileTail(path, 19), "first\nsecond\nthird\n");
  EXPECT_EQ(readFileTail(path, 1000), "first\nsecond\nthird\n");
  EXPECT_EQ(readFileTail(path, 0), "");
  EXPECT_EQ(readFileTail(write("empty", ""), 10), "");
  EXPECT_EQ(readFileTail(dir_ + "/missing", 10), "");
  std::string big(100000, 'x');
  big += "end";
  EXPECT_EQ(readFileTail(write("big", big), 5000), big.substr(big.size() - 5000));
}

}  // namespace
}  // namespace skynet
