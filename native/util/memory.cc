#include "util/memory.h"

#include <malloc.h>

#include <cstdlib>
#include <string>

#include "util/files.h"

namespace skynet {

void configureAllocator() {
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);
  mallopt(M_TRIM_THRESHOLD, 128 * 1024);
}

long residentAnonKiB() {
  const std::string status = readFile("/proc/self/status");
  const auto at = status.find("\nRssAnon:");
  if (at == std::string::npos) return -1;
  return std::strtol(status.c_str() + at + 9, nullptr, 10);
}

std::size_t heapInUseKiB() {
  const auto info = mallinfo2();
  return (info.uordblks + info.hblkhd) / 1024;  // the arenas' blocks in use, and the blocks mmap()ed alone
}

bool releaseFreedMemory() { return malloc_trim(0) == 1; }

}  // namespace skynet
