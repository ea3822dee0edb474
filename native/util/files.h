// Reading small files whole or by their end, with open() and pread() rather than a stream: the
// daemon reads a /proc file for every process it launches and the tail of every run's output as
// the run ends, and a std::ifstream (its locale, its buffer) cost several times the reading.
// Pure functions of the file system: safe from any thread.
#pragma once

#include <cstddef>
#include <string>

namespace skynet {

// The whole file, or "" when it cannot be opened or read.
std::string readFile(const std::string& path);

// The last `limit` bytes of the file (all of it when shorter), or "" when it cannot be opened
// or read.
std::string readFileTail(const std::string& path, std::size_t limit);

}  // namespace skynet
