// The queue daemon's database thread: everything that waits on MariaDB happens here, so the
// supervision thread (daemon/supervisor.h) keeps its deadlines while the database is frozen.
//
// Each turn it (re)connects with backoff, writes the outbox (what the supervision thread saw),
// beats the heartbeat, adopts or finalizes the runs of dead workers, forwards cancel requests,
// and claims what the scheduling policy allows: Aegir tasks (up to queue.concurrency) and due
// lackey jobs (up to runs.concurrency). A claim, its run record and its site lock are one
// transaction behind a guard row, so per-site and exclusive rules hold across every daemon on the
// database. Claimed runs are handed to the supervision thread as Launch commands.
//
// Threading: run() is the thread's body; every other public method is thread-safe.
#pragma once

#include <Poco/Logger.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "aegir/task_queue.h"
#include "config/settings.h"
#include "daemon/mailbox.h"
#include "daemon/outcome.h"
#include "daemon/scan_window.h"
#include "db/connection.h"
#include "metrics/metrics.h"
#include "runs/run_store.h"
#include "scheduler/policy.h"

namespace skynet::daemon {

// Retry backoff of a task that hosting-task did not take: 5 s, doubling, at most 5 minutes.
double retryDelay(int attempts);

class Dispatcher {
 public:
  // `metrics` may be null (no HTTP API); it outlives the dispatcher.
  Dispatcher(Settings settings, Poco::Logger& logger, Mailbox& mailbox, metrics::Registry* metrics = nullptr);
  ~Dispatcher();

  // The thread's body: returns after finish() once the outbox is written (or its time is up).
  void run();
  // Claims nothing more; the outbox is still written and the heartbeat still beats.
  void stopClaiming() { claiming_.store(false); mailbox_.wakeDatabase(); }
  // Ends run(): writes what it can within `seconds`, marks the worker stopped.
  void finish(double seconds);
  // Polls at once (an API wake-up): many calls before the next turn make one poll.
  void wake() {
    pollRequested_.store(true);
    mailbox_.wakeDatabase();
  }
  // New settings for the next turn. A different database is switched to only once every run
  // of the current one is recorded there.
  void updateSettings(const Settings& settings);

  // Where jobs find the API (SKYNET_API_URL), once the server knows its port.
  void setApiUrl(const std::string& url) {
    std::lock_guard<std::mutex> lock(settingsMutex_);
    apiUrl_ = url;
  }
  std::int64_t workerId() const { return workerId_.load(); }
  double lastTurn() const { return lastTurn_.load(); }
  // Runs claimed by this daemon and not yet recorded as finished.
  std::size_t activeRuns() const;

 private:
  struct Active {
    std::string kind;  // task | job
    aegir::QueuedTask task;
    std::int64_t applicationId = 0;
    bool exclusive = false;
    int attempts = 1;
    int timeout = 0;
    std::string outputFile;
    std::string cancelledBy;
    bool launched = false;
    double startedWall = 0;
    std::int64_t adoptedFrom = 0;  // the dead worker this run was taken over from
    double queuedAt = 0;           // when the task was queued or the job became due
  };
  struct Retry {
    int attempts = 0;
    double afterMono = 0;
    std::int64_t vid = 0;
  };

  void turn();
  bool connect();
  void prepare(db::Connection& connection);
  void onDatabaseError(const db::Error& error);
  bool writeOutbox();
  void write(const Event& event);
  void recordStarted(const Started& started);
  void recordLaunchFailed(const LaunchFailed& failed);
  void recordEnded(std::int64_t runId, const RunEnding& ending, double stoppedWall, const std::string& outputFile);
  void recover(bool atStart);
  void adoptOrFinalize(const runs::UnfinishedRun& run, std::int64_t fromWorker);
  void finalizeLost(const runs::UnfinishedRun& run, const runs::WorkerRecord& worker);
  void forwardCancels();
  void dispatchTasks(bool fresh);
  void createCronRuns();
  void dispatchJobs();
  bool claimTask(const aegir::QueuedTask& task);
  bool claimJob(const runs::DueJob& job);
  std::string semaphoreOwner() const;
  std::string outputFileFor(const std::string& prefix, std::int64_t runId) const;
  std::string readTail(const std::string& file, std::size_t limit) const;
  void applySettings(const Settings& settings);

  void countRunning();

  Poco::Logger& log_;
  Mailbox& mailbox_;
  metrics::Registry* metrics_;
  std::string apiUrl_;
  std::string host_;

  mutable std::mutex settingsMutex_;
  Settings settings_;
  std::optional<Settings> pendingSettings_;

  scheduler::Policy policy_;
  std::map<std::string, std::string> baseEnvironment_;
  std::string drushPath_;

  std::unique_ptr<db::Connection> db_;
  double reconnectAtMono_ = 0;
  double reconnectDelay_ = 1;
  bool databaseDown_ = false;
  bool prepared_ = false;
  std::atomic<std::int64_t> workerId_{0};
  std::atomic<double> lastTurn_{0};
  double lastHeartbeatMono_ = -1e9;
  double lastRecoveryMono_ = -1e9;
  std::optional<bool> lastPaused_;
  bool semaphoreWarned_ = false;

  mutable std::mutex activeMutex_;
  std::map<std::int64_t, Active> active_;
  std::map<std::int64_t, Retry> retries_;  // by task nid
  ScanWindow scan_;
  // What the last poll read, used again when only a slot was freed.
  struct Candidates {
    bool valid = false;
    bool paused = false;
    std::vector<aegir::QueuedTask> queued;
    std::set<std::int64_t> busySites;  // under other runners and daemons
  } candidates_;
  double nextPollMono_ = 0;
  std::atomic<bool> pollRequested_{false};
  bool taskSlotFreed_ = false;
  bool jobSlotFreed_ = false;

  std::atomic<bool> claiming_{true};
  std::atomic<bool> finishing_{false};
  std::atomic<double> finishBy_{0};
};

}  // namespace skynet::daemon
