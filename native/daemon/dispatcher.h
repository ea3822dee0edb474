// The queue daemon's database thread: everything that waits on MariaDB happens here, so the
// supervision thread (daemon/supervisor.h) keeps its deadlines while the database is frozen.
//
// Each turn it (re)connects with backoff, beats the heartbeat, adopts or finalizes the runs of
// dead workers, and, when its poll interval has passed or it was woken, forwards cancel requests
// and polls (one probe statement; the queue itself is mirrored, daemon/queue_mirror.h, so a poll
// reads only what is new). Then it writes one batch: the outbox (what the supervision thread saw)
// and the claims the scheduling policy allows, Aegir tasks (up to queue.concurrency) and due
// lackey jobs (up to runs.concurrency), in one transaction behind the lock table (RunStore::lockAll), so per-site
// and exclusive rules hold across every daemon on the database. What the batch changes in memory
// (the runs it ends and claims, the mirror, logs, metrics) applies once it is committed. Claimed
// runs are handed to the supervision thread as Launch commands.
//
// A batch the server rejects for its content or rolls back to break a deadlock (not a lost
// connection) is written again one item at a time, and the item it rejects is logged and
// dropped, so one bad record never stops the queue. A process's start is written with the next
// batch, or after kStartedWriteDelay: a short run's start and end are then one statement (a
// daemon killed meanwhile finds the process by the SKYNET_RUN_ID in its environment).
//
// Threading: run() is the thread's body; every other public method is thread-safe.
#pragma once

#include <Poco/Logger.h>

#include <atomic>
#include <cstdint>
#include <functional>
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
#include "daemon/queue_mirror.h"
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
  // Polls at once (an API wake-up): many calls before the next turn make one poll. With
  // `schedules` (a run scheduled or cancelled, a cron set through the API) that poll reads the
  // schedules too, else only if they are due for their periodic read.
  void wake(bool schedules) {
    if (schedules) schedulesRequested_.store(true);
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

  // What one transaction changes in memory, applied once it is committed.
  struct Batch {
    std::vector<std::function<void()>> afterCommit;
    std::vector<Command> commands;          // to the supervision thread, once committed
    std::set<std::int64_t> ended;           // runs this batch records as ended
    std::map<std::int64_t, runs::RunProcess> processes;  // starts of runs that end in this batch too
    std::optional<std::vector<runs::SiteLock>> locks;    // read under the lock table's locks
    // The states of tasks whose runs end in this batch, read with the locks (daemon/batch_start.h);
    // each is used once, so a task written twice reads its state again.
    std::map<std::int64_t, aegir::TaskState> taskStates;
    // Runs ending in this batch whose locks are released when it is written, unless a claim
    // of the same site in it released them first (Dispatcher::placeLock).
    std::set<std::int64_t> locksToRelease;
  };

  void turn();
  bool connect();
  void prepare(db::Connection& connection);
  void onDatabaseError(const db::Error& error);
  // Runs `body` in one transaction and applies its batch once committed.
  void inBatch(const std::function<void(Batch&)>& body);
  bool claimingNow() const;
  // Once the queue's copy held kReleaseAfterBacklog tasks or more and is empty again: gives what
  // the allocator kept of it back to the system (util/memory.h).
  void releaseMemoryAfterBacklog();
  // `woken`: a wake-up announced new tasks (the probe then reads the busy sites too);
  // `schedulesChanged`: one announced changed schedules (the probe then reads them too).
  void poll(bool woken, bool schedulesChanged);
  void writeAndClaim(bool polled);
  // One transaction: `events`, then the claims the policy allows when `claim`.
  void writeBatch(const std::vector<Mailbox::Posted>& events, bool claim);
  bool startsCanWait(const std::vector<Mailbox::Posted>& events) const;
  void write(const Event& event, Batch& batch);
  void dropped(const Event& event, const std::string& why);
  void recordStarted(const Started& started, Batch& batch);
  void recordLaunchFailed(const LaunchFailed& failed, Batch& batch);
  void recordEnded(std::int64_t runId, const RunEnding& ending, double stoppedWall, const std::string& outputFile,
                   Batch& batch);
  void recover(bool atStart);
  void adoptOrFinalize(const runs::UnfinishedRun& run, std::int64_t fromWorker);
  void finalizeLost(const runs::UnfinishedRun& run, const runs::WorkerRecord& worker);
  void forwardCancels();
  // The tasks the policy picks now (none when nothing can start); runs in `ending` are ending in
  // the same batch and count as no longer running.
  std::vector<aegir::QueuedTask> tasksToClaim(const std::set<std::int64_t>& ending);
  // Records `taken` in the batch as a new row, after the rows of a run ending in it that held the
  // same site (deferred writes, both: they go with the batch's next statement or its COMMIT).
  void placeLock(const runs::SiteLock& taken, Batch& batch, double now);
  // Claims `tasks` in `batch`, or each in its own transaction when `batch` is null.
  void claimTasks(const std::vector<aegir::QueuedTask>& tasks, Batch* batch);
  void createCronRuns();
  bool jobsToClaim() const;
  void claimJobs(Batch* batch);
  // Claims `tasks` in `batch` (those no lock holds back): their claims and run records in one
  // round trip, their lock rows deferred.
  void claimTasksIn(const std::vector<aegir::QueuedTask>& tasks, Batch& batch);
  bool claimJob(const runs::DueJob& job, Batch& batch);
  // The locks as this batch sees them: read once, under the lock table's locks.
  std::vector<runs::SiteLock>& locksOf(Batch& batch);
  // The batch's first read: the locks when `locks`, and the states of the tasks whose runs end in it.
  void startBatch(Batch& batch, bool locks);
  void keepLocks(Batch& batch, std::vector<runs::SiteLock> locks);
  std::string semaphoreOwner() const;
  std::string outputFileFor(const std::string& prefix, std::int64_t runId) const;
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
  double lastSemaphoreMono_ = -1e9;
  double lastRecoveryMono_ = -1e9;
  std::optional<bool> lastPaused_;
  bool semaphoreWarned_ = false;

  mutable std::mutex activeMutex_;
  std::map<std::int64_t, Active> active_;
  std::map<std::int64_t, Retry> retries_;  // by task nid
  QueueMirror mirror_;
  std::size_t backlogPeak_ = 0;  // the copy's most tasks since it was last empty after a backlog
  bool paused_ = false;
  std::set<std::int64_t> busySites_;   // processing under another runner, at the last poll
  std::set<std::int64_t> otherLocks_;  // sites other daemons held, at the last look at the locks
  std::set<std::int64_t> reread_;      // vids we handed back to the queue, read again by the next poll
  std::int64_t othersAlive_ = 0;       // other workers with a recent heartbeat, at the last recovery pass (kRecoverEvery)
  bool jobsDue_ = false;               // the last probe saw a due job, or a job slot freed since
  // The schedules as the probe last read them, and when (-1e18: read them at the next poll).
  std::optional<double> nextJob_, nextCron_;
  double schedulesReadMono_ = -1e18;
  double nextPollMono_ = 0;
  std::atomic<bool> pollRequested_{false};
  std::atomic<bool> schedulesRequested_{false};
  std::atomic<bool> claiming_{true};
  std::atomic<bool> finishing_{false};
  std::atomic<double> finishBy_{0};
};

}  // namespace skynet::daemon
