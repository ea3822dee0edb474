#include "util/memory.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

namespace skynet {
namespace {

TEST(Memory, ReadsItsOwnResidentMemoryAndWhatItHoldsAllocated) {
  const long before = residentAnonKiB();
  ASSERT_GT(before, 0);
  const std::size_t inUse = heapInUseKiB();
  std::vector<char> touched(16 << 20);
  std::memset(touched.data(), 1, touched.size());
  EXPECT_GE(residentAnonKiB() - before, 15 * 1024) << "16 MiB written to fresh pages";
  EXPECT_GE(heapInUseKiB() - inUse, 16u * 1024) << "16 MiB allocated";
}

TEST(Memory, GivesBackWhatAThreadFreedBelowABlockStillInUse) {
  // A thread fills its arena with small blocks (as the queue's copy does), keeps the last one and
  // frees the others: the free space lies below a block in use, where glibc does not trim it by
  // itself, so it stays resident.
  constexpr std::size_t kBlocks = 100000, kSize = 200;  // about 20 MiB
  void* kept = nullptr;
  std::thread([&] {
    std::vector<void*> blocks;
    blocks.reserve(kBlocks);
    for (std::size_t i = 0; i < kBlocks; ++i) {
      blocks.push_back(std::malloc(kSize));
      std::memset(blocks.back(), 1, kSize);
    }
    kept = std::malloc(kSize);
    std::memset(kept, 1, kSize);
    for (void* block : blocks) std::free(block);
  }).join();
  const long held = residentAnonKiB();
  const std::size_t inUse = heapInUseKiB();
  EXPECT_TRUE(releaseFreedMemory());
  const long released = residentAnonKiB();
  EXPECT_LE(released, held - 15 * 1024) << "held " << held << " KiB, after the release " << released << " KiB";
  EXPECT_EQ(heapInUseKiB(), inUse) << "the release frees nothing in use";
  std::free(kept);
}

}  // namespace
}  // namespace skynet
