// What the HTTP API needs from the daemon it runs in. The daemon implements it (the tests a
// fake); every method may be called from any of the API's request threads.
#pragma once

#include <cstdint>

namespace skynet::api {

// What a wake-up announces. Tasks: new tasks are queued (POST /api/wake, which the hosting
// module sends after each task it commits). Schedules: a run was scheduled or cancelled, or an
// application's cron set, through the API; the daemon then reads the schedules at once, where
// it otherwise reads them every few seconds (a task's wake-up does not need them).
enum class Wake { Tasks, Schedules };

struct DaemonLink {  // implemented by the daemon; all thread-safe
  virtual ~DaemonLink() = default;
  virtual void wake(Wake what) = 0;           // poll now (many wakes coalesce into one poll)
  virtual double lastLoopTurn() const = 0;    // unix time of the loop's last turn (health)
  virtual std::int64_t workerId() const = 0;  // 0 until registered
};

}  // namespace skynet::api
