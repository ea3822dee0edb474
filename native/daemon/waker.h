// Wakes the daemon's loop early: a signal, a child's exit, or (later) an HTTP wake-up.
// A self-pipe, because wake() must be callable from a signal handler.
#pragma once

#include <atomic>

namespace skynet::daemon {

class Waker {
 public:
  Waker();
  ~Waker();
  Waker(const Waker&) = delete;
  Waker& operator=(const Waker&) = delete;

  // Async-signal-safe and thread-safe.
  void wake();
  // Sleeps until woken, `alsoReadable` (when >= 0) is readable, or `seconds` have passed;
  // returns true when woken.
  bool wait(double seconds, int alsoReadable = -1);

 private:
  int read_ = -1;
  int write_ = -1;
};

// SIGTERM/SIGINT ask to stop, SIGHUP to reload, SIGCHLD wakes the loop. The handlers only set
// flags and write to the waker; the loop does the work.
class Signals {
 public:
  static void install(Waker& waker);
  static bool stopRequested() { return stop_.load(); }
  static int stopSignal() { return stopSignal_.load(); }
  // True once per SIGHUP received.
  static bool takeReload() { return reload_.exchange(false); }

 private:
  static void handle(int signal);
  static std::atomic<bool> stop_;
  static std::atomic<int> stopSignal_;
  static std::atomic<bool> reload_;
  static Waker* waker_;
};

}  // namespace skynet::daemon
