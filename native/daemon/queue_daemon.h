// The queue daemon: Aegir tasks and lackey jobs claimed from the database and run as supervised
// child processes.
//
// Two threads, so that supervision never waits on the database (issue "Self-healing" §2):
// - the supervision thread (the caller of run()): signals, reloads, the Supervisor (launch,
//   adopt, deadlines, group kills, reaping, output caps), and the file watches of the
//   configuration and the binary. It blocks only on its waker (a self-pipe: signals, SIGCHLD,
//   commands from the database thread), never on a query;
// - the database thread (daemon/dispatcher.h): connects, claims, records, adopts.
// They talk only through the Mailbox (typed commands one way, the typed outbox the other).
// A thread rather than MariaDB Connector/C's non-blocking API: every query would otherwise have
// to be written as a resumable state machine, and libmysqlclient's prepared-statement calls
// (which this code uses throughout, db/connection.h) have no complete non-blocking form; a
// blocked database thread costs nothing but itself, and its connection's read/write timeouts
// (10 s) make a stuck query noticed.
//
// Stopping (SIGTERM, SIGINT, requestStop()) follows queue.shutdown: adopt (leave running
// processes for the next start, which adopts them), drain (wait for them) or kill (SIGTERM their
// groups, SIGKILL after queue.kill_grace). A changed binary ends run() as in adopt mode and
// returns kExitReexec: the caller then executes the new binary in this same process, whose
// children stay its children and are adopted by the new image.
#pragma once

#include <Poco/Logger.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "api/daemon_link.h"
#include "config/settings.h"
#include "daemon/dispatcher.h"
#include "daemon/file_watch.h"
#include "daemon/mailbox.h"
#include "daemon/supervisor.h"
#include "daemon/waker.h"
#include "metrics/metrics.h"

namespace skynet::daemon {

class QueueDaemon : public api::DaemonLink {
 public:
  // run()'s result when the binary changed and the caller should execute it again.
  static constexpr int kExitReexec = -2;

  // `metrics` may be null; it outlives the daemon.
  QueueDaemon(Settings settings, Poco::Logger& logger, Waker& waker, metrics::Registry* metrics = nullptr);
  ~QueueDaemon() override;

  // Runs until a stop is requested and the shutdown mode is done; returns the exit code, or
  // kExitReexec.
  int run();
  // Thread-safe.
  void requestStop();
  // Thread-safe: re-read the configuration on the next turn of the loop (as SIGHUP does).
  void requestReload();
  // How the configuration is read again; without one a reload keeps the settings it has.
  void setReloader(std::function<Settings()> reloader) { reloader_ = std::move(reloader); }
  // Called on the supervision thread after each successful reload, with the new settings.
  void setOnReload(std::function<void(const Settings&)> onReload) { onReload_ = std::move(onReload); }
  // Watch this file (default: none) for a new binary of the daemon.
  void watchBinary(const std::string& path) {
    binaryWatch_ = FileWatch(path, kSettleSeconds);
    folderEvents_.watchFolderOf(path);
  }

  // For the HTTP API (api::DaemonLink); thread-safe.
  void wake(api::Wake what) override { dispatcher_->wake(what == api::Wake::Schedules); }
  // The older of the two threads' last turns: both must be alive for the daemon to be healthy.
  double lastLoopTurn() const override { return std::min(lastTurn_.load(), dispatcher_->lastTurn()); }
  std::int64_t workerId() const override { return dispatcher_->workerId(); }
  void setApiUrl(const std::string& url) { dispatcher_->setApiUrl(url); }

 private:
  static constexpr double kSettleSeconds = 1.0;
  // The longest sleep of the supervision thread with nothing due: GET /healthz wants both
  // threads to have turned within 10 s (or 3 poll intervals).
  static constexpr double kIdleTurnSeconds = 5.0;
  static constexpr double kShutdownFlushLimit = 10.0;
  static constexpr double kPruneEvery = 3600.0;

  void reload(const char* why);
  void beginShutdown(double nowMono);
  // Carries a command out; what it has to tell the database thread goes to `events`.
  void handle(Command& command, double nowMono, std::vector<Event>& events);

  Settings settings_;
  Poco::Logger& log_;
  Waker& waker_;
  Mailbox mailbox_;
  Supervisor supervisor_;
  std::unique_ptr<Dispatcher> dispatcher_;
  FileWatch configWatch_;
  FileWatch binaryWatch_;
  FolderEvents folderEvents_;  // when the two watches are worth a check
  bool foldersChanged_ = true;     // events since the last check (the first turn checks)
  double nextWatchCheckMono_ = 0;  // without inotify: the watches' next check
  std::atomic<bool> stop_{false};
  std::atomic<bool> reload_{false};
  std::atomic<double> lastTurn_{0};
  std::function<Settings()> reloader_;
  std::function<void(const Settings&)> onReload_;
  bool stopping_ = false;
  bool reexec_ = false;
  double nextPruneMono_ = 0;
};

}  // namespace skynet::daemon
