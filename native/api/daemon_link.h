// What the HTTP API needs from the daemon it runs in. The daemon implements it (the tests a
// fake); every method may be called from any of the API's request threads.
#pragma once

#include <cstdint>

namespace skynet::api {

struct DaemonLink {  // implemented by the daemon; all thread-safe
  virtual ~DaemonLink() = default;
  virtual void wake() = 0;                    // poll now (many wakes coalesce into one poll)
  virtual double lastLoopTurn() const = 0;    // unix time of the loop's last turn (health)
  virtual std::int64_t workerId() const = 0;  // 0 until registered
};

}  // namespace skynet::api
