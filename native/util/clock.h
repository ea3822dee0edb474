// Wall-clock time as Unix epoch seconds with a fraction: what Skynet stores (UTC) and compares.
#pragma once

#include <chrono>

namespace skynet {

inline double unixTime() {
  using namespace std::chrono;
  return duration_cast<duration<double>>(system_clock::now().time_since_epoch()).count();
}

}  // namespace skynet
