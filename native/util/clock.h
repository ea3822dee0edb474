// Two clocks, for two jobs:
// - unixTime(): wall-clock time as Unix epoch seconds with a fraction: what Skynet stores (UTC),
//   shows and compares with times other processes wrote (node.changed, heartbeats).
// - monotonicTime(): seconds on a clock that never jumps: every deadline, timeout, grace and
//   backoff, so that setting the system clock forward does not kill running tasks.
#pragma once

#include <chrono>

namespace skynet {

inline double unixTime() {
  using namespace std::chrono;
  return duration_cast<duration<double>>(system_clock::now().time_since_epoch()).count();
}

inline double monotonicTime() {
  using namespace std::chrono;
  return duration_cast<duration<double>>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace skynet
