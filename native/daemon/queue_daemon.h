// The queue daemon's loop: it polls (or is woken), claims what the scheduling policy picks,
// runs each task's `drush @hostmaster hosting-task <nid>` as a supervised child, and records
// what became of it.
//
// Data flows one way: the policy decides, the child process runs, the task queue and the run
// store record. The database may vanish at any moment: the loop then keeps watching its
// children, queues what it must write, and writes it once a connection is back.
#pragma once

#include <Poco/Logger.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "aegir/task_queue.h"
#include "config/settings.h"
#include "daemon/scan_window.h"
#include "daemon/waker.h"
#include "db/connection.h"
#include "process/child_process.h"
#include "runs/run_store.h"
#include "scheduler/policy.h"

namespace skynet::daemon {

// Retry backoff of a task that hosting-task did not take: 5 s, doubling, at most 5 minutes.
double retryDelay(int attempts);

class QueueDaemon {
 public:
  QueueDaemon(Settings settings, Poco::Logger& logger, Waker& waker);
  ~QueueDaemon();

  // Runs until a stop is requested (requestStop() or SIGTERM/SIGINT) and the shutdown mode is
  // done. Returns the process exit code.
  int run();
  // Thread-safe.
  void requestStop();
  // Thread-safe: re-read the configuration on the next turn of the loop (as SIGHUP does).
  void requestReload();
  // How the configuration is read again; without one a reload keeps the settings it has.
  void setReloader(std::function<Settings()> reloader) { reloader_ = std::move(reloader); }

 private:
  // drush's arguments for a task: @hostmaster hosting-task <nid> --strict=0 --force.
  std::vector<std::string> commandFor(std::int64_t nid) const;

  struct ActiveTask {
    aegir::QueuedTask task;
    std::int64_t runId = 0;
    int attempts = 1;
    std::unique_ptr<process::ChildProcess> child;
    std::string outputFile;
    double started = 0;
    double deadline = 0;  // 0: no timeout
    double killAt = 0;    // when SIGKILL follows the SIGTERM already sent; 0: none sent
    int timeoutSeconds = 0;
    bool timedOut = false;
    bool killedAtShutdown = false;
  };
  struct Retry {
    int attempts = 0;
    double after = 0;
    std::int64_t vid = 0;  // the revision that went back to the queue
  };

  void applySettings(Settings settings);
  void reload();
  bool connected();
  void onDatabaseError(const db::Error& error);
  void flushPending();
  void dispatch(double now);
  void start(const aegir::QueuedTask& task, double now);
  void reap(double now);
  void enforceTimeouts(double now);
  void recordOutcome(const ActiveTask& active, const process::ExitStatus& status, double now);
  void beginShutdown(double now);
  double nextWake(double now) const;
  std::string logTail(const std::string& file) const;

  Settings settings_;
  Poco::Logger& log_;
  Waker& waker_;
  scheduler::Policy policy_;
  std::map<std::string, std::string> childEnvironment_;
  std::string drushPath_;
  std::string host_;

  std::unique_ptr<db::Connection> db_;
  double reconnectAt_ = 0;
  double reconnectDelay_ = 1;
  bool databaseDown_ = false;
  std::int64_t workerId_ = 0;
  double lastHeartbeat_ = 0;
  std::optional<bool> lastPaused_;

  std::vector<ActiveTask> active_;
  std::map<std::int64_t, Retry> retries_;  // by task nid
  ScanWindow scan_;
  // Database work that waits for a connection, oldest first.
  std::deque<std::function<void()>> pending_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> reload_{false};
  std::function<Settings()> reloader_;
  bool stopping_ = false;
};

}  // namespace skynet::daemon
