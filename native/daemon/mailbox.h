// What the two threads of the queue daemon tell each other (see daemon/queue_daemon.h):
// - commands for the supervision thread: launch a claimed run, adopt a left process, cancel one;
// - events for the database thread (its outbox): a run's process started, could not start, or
//   ended. The outbox holds typed records, so it can be counted (metrics, `status`), inspected and
//   retried item by item; an item leaves it only once it is written to the database (or, for a
//   statement the server rejects for its content rather than a lost connection, once that is
//   logged).
//
// Threading: every method is thread-safe. Posting a command wakes the supervision thread's waker;
// posting an event wakes the database thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <variant>
#include <vector>

#include "daemon/supervisor.h"
#include "daemon/waker.h"

namespace skynet::daemon {

struct CancelCommand {
  std::int64_t runId = 0;
};

using Command = std::variant<Launch, Adoption, CancelCommand>;

struct LaunchFailed {
  std::int64_t runId = 0;
  std::string error;
  bool shuttingDown = false;  // not started because the daemon is stopping
};

using Event = std::variant<Started, LaunchFailed, Ended>;

class Mailbox {
 public:
  explicit Mailbox(Waker& supervisionWaker) : supervisionWaker_(supervisionWaker) {}

  void post(Command command);
  // Several at once, in order, with one wake-up: the launches of a batch are taken together, so
  // the supervision thread starts them one after another rather than waking for each.
  void post(std::vector<Command> commands);
  std::vector<Command> takeCommands();
  bool commandsPending() const;

  void post(Event event);
  // Several at once, in order, with one wake-up of the database thread.
  void post(std::vector<Event> events);
  // The oldest `max` events, left in the outbox until popEvents(); each with the monotonic time
  // it was posted at.
  struct Posted {
    double postedMono = 0;
    Event event;
  };
  std::vector<Posted> peekEvents(std::size_t max) const;
  // Removes the oldest `count` events (only the database thread takes events out).
  void popEvents(std::size_t count);
  std::size_t eventsPending() const;

  // The database thread sleeps here until an event arrives, wakeDatabase() is called, or the time passes.
  void waitForDatabaseWork(double seconds);
  void wakeDatabase();

 private:
  Waker& supervisionWaker_;
  mutable std::mutex mutex_;
  std::condition_variable databaseWork_;
  bool databaseWoken_ = false;
  std::vector<Command> commands_;
  std::deque<Posted> events_;
};

}  // namespace skynet::daemon
