#include "daemon/dispatcher.h"

#include <Poco/Environment.h>
#include <Poco/File.h>
#include <Poco/Format.h>
#include <Poco/Message.h>
#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <fstream>

#include "api/time_text.h"
#include "daemon/batch_start.h"
#include "daemon/poll_probe.h"
#include "process/process_identity.h"
#include "runs/catalog.h"
#include "runs/schema.h"
#include "scheduler/cron.h"
#include "util/clock.h"
#include "util/files.h"
#include "util/memory.h"
#include "util/utf8.h"
#include "version.h"

namespace skynet::daemon {

namespace {

// The policy sees the first queued task of every site and no other: it never picks a task behind
// its site's first (the property test in policy_test.cc holds it to that), so the oldest 200 it
// was shown as well changed no pick, and copying them cost each batch about 20 µs between a
// child's exit and the next spawn (perf, one site with a backlog).
constexpr std::size_t kViewOldest = 0;
// Events written in one batch at most.
constexpr std::size_t kBatchEvents = 64;
// A queue copy this big (about 350 KiB) freed when the queue drains is given back to the system
// (util/memory.h); a few tasks at a time are not worth the walk of the allocator's free lists.
constexpr std::size_t kReleaseAfterBacklog = 1000;
// A process's start waits this long for the next batch (see the header).
constexpr double kStartedWriteDelay = 0.05;
using runs::kHeartbeatEvery;
constexpr double kRecoverEvery = 10.0;
// A job scheduled or a cron set by another process (not through this daemon's API, which wakes
// it) is seen within this much.
constexpr double kSchedulesEvery = 5.0;
// Another worker that beat its heartbeat this recently is taken as running (see writeAndClaim).
constexpr double kOtherWorkerSilence = runs::kWorkerAliveWindow;
// A worker on this host whose heartbeat is older than this is dead even if its pid runs (reused).
constexpr double kLocalWorkerStale = 60.0;
constexpr double kMaxReconnectDelay = 30.0;
constexpr std::size_t kTaskTailLimit = 64 * 1024;
constexpr int kJobBatch = 50;
// Skynet's hold on hosting_queue_tasks_running is renewed about this often (with every
// heartbeat) and expires after a few missed renewals.
constexpr double kSemaphoreEvery = 10.0;
constexpr double kSemaphoreTtl = 30.0;

std::string seconds(double value) { return Poco::format("%.1f s", value); }

// The level of a run's "finished" line: information for a success, warning for a warning or a
// task queued again, error for the rest.
Poco::Message::Priority endPriority(const std::string& state) {
  if (state == runs::state::kSucceeded) return Poco::Message::PRIO_INFORMATION;
  if (state == runs::state::kWarning || state == runs::state::kDeferred) return Poco::Message::PRIO_WARNING;
  return Poco::Message::PRIO_ERROR;
}



std::string describe(const aegir::QueuedTask& task) {
  return "task " + std::to_string(task.nid) + " (" + task.type + ", rid " + std::to_string(task.rid) + ")";
}

std::string lastLine(const std::string& text) {
  auto end = text.find_last_not_of("\r\n \t");
  if (end == std::string::npos) return "";
  auto begin = text.rfind('\n', end);
  const std::size_t from = begin == std::string::npos ? 0 : begin + 1;
  return text.substr(from, end - from + 1);
}

// The run an event ends (an end, or a launch that failed); 0 for a start.
std::int64_t runEndedBy(const Event& event) {
  if (const auto* ended = std::get_if<Ended>(&event)) return ended->runId;
  if (const auto* failed = std::get_if<LaunchFailed>(&event)) return failed->runId;
  return 0;
}

bool pidAlive(std::int64_t pid) {
  return pid > 0 && (kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
}

// A directory below runs.workdir: what the API accepted, checked again before running.
bool staysInside(const std::string& relative) {
  if (!relative.empty() && relative[0] == '/') return false;
  std::size_t at = 0;
  while (at <= relative.size()) {
    const auto next = relative.find('/', at);
    const std::string part = relative.substr(at, next == std::string::npos ? std::string::npos : next - at);
    if (part == "..") return false;
    if (next == std::string::npos) break;
    at = next + 1;
  }
  return true;
}

}  // namespace

double retryDelay(int attempts) {
  const double delay = 5.0 * std::pow(2.0, std::max(0, attempts - 1));
  return std::min(delay, 300.0);
}

Dispatcher::Dispatcher(Settings settings, Poco::Logger& logger, Mailbox& mailbox, metrics::Registry* metrics)
    // SKYNET_HOSTNAME: the host a worker records, where the system's name is not unique (containers).
    : log_(logger),
      mailbox_(mailbox),
      metrics_(metrics),
      host_(Poco::Environment::get("SKYNET_HOSTNAME", Poco::Environment::nodeName())) {
  applySettings(settings);
  apiUrl_ = settings_.api.listen.empty() ? "" : "http://" + settings_.api.listen;
}

Dispatcher::~Dispatcher() = default;

void Dispatcher::countRunning() {
  if (!metrics_) return;
  int tasks = 0, jobs = 0;
  {
    std::lock_guard<std::mutex> lock(activeMutex_);
    for (const auto& [id, active] : active_) (active.kind == "task" ? tasks : jobs)++;
  }
  metrics_->setRunning("task", tasks);
  metrics_->setRunning("job", jobs);
  metrics_->setOutboxDepth(static_cast<int>(mailbox_.eventsPending()));
}

void Dispatcher::applySettings(const Settings& settings) {
  settings_ = settings;
  policy_.concurrency = settings_.queue.concurrency;
  policy_.exclusiveTypes = settings_.queue.exclusive;
  // Runs get the HOME, USER and PATH of the user the daemon runs as (aegir), and nothing else
  // of the daemon's environment.
  const passwd* user = getpwuid(geteuid());
  const std::string home = Poco::Environment::get("HOME", user ? user->pw_dir : "/");
  const std::string path = Poco::Environment::get("PATH", "/usr/local/bin:/usr/bin:/bin");
  baseEnvironment_ = {{"HOME", home}, {"USER", user ? user->pw_name : Poco::Environment::get("USER", "")}, {"PATH", path}};
  drushPath_ = process::findExecutable(settings_.queue.drush, path);
}

void Dispatcher::updateSettings(const Settings& settings) {
  {
    std::lock_guard<std::mutex> lock(settingsMutex_);
    pendingSettings_ = settings;
  }
  pollRequested_.store(true);  // a new concurrency or policy applies at once
  mailbox_.wakeDatabase();
}

std::size_t Dispatcher::activeRuns() const {
  std::lock_guard<std::mutex> lock(activeMutex_);
  return active_.size();
}

void Dispatcher::finish(double secondsLeft) {
  finishBy_.store(monotonicTime() + secondsLeft);
  claiming_.store(false);
  finishing_.store(true);
  mailbox_.wakeDatabase();
}

void Dispatcher::run() {
  for (;;) {
    lastTurn_.store(unixTime());
    turn();
    if (finishing_.load()) {
      const bool written = mailbox_.eventsPending() == 0;
      if (written || monotonicTime() >= finishBy_.load()) break;
    }
    double wait = 0;
    if (db_) {
      wait = std::max(0.0, std::min(settings_.queue.pollInterval, nextPollMono_ - monotonicTime()));
      for (const auto& [nid, retry] : retries_) {
        const double left = retry.afterMono - monotonicTime();
        if (left > 0) wait = std::min(wait, left);
      }
      if (mailbox_.eventsPending() > 0) wait = std::min(wait, kStartedWriteDelay);  // starts that waited
    } else {
      // Without a connection nothing here can be done before the reconnect. (The poll, overdue
      // since the outage began, would make the wait 0: a busy loop for the whole outage.) Work
      // posted meanwhile (an outcome, a reload, a stop) still ends the wait at once.
      wait = std::max(0.05, reconnectAtMono_ - monotonicTime());
    }
    if (finishing_.load()) wait = std::min(wait, 0.2);
    mailbox_.waitForDatabaseWork(wait);
  }
  const std::size_t unwritten = mailbox_.eventsPending();
  if (unwritten > 0) {
    log_.error(Poco::format("stopping with %z outcome(s) unwritten: the database is unreachable; "
                            "those runs stay running in the database until Skynet runs again and adopts them",
                            unwritten));
  }
  if (db_ && workerId_.load() != 0) {
    try {
      aegir::TaskQueue(*db_).releaseCronSemaphore(semaphoreOwner());
      runs::RunStore(*db_).stopWorker(workerId_.load(), unixTime());
    } catch (const db::Error& error) {
      log_.warning(std::string("could not mark this worker stopped: ") + error.what());
    }
  }
  db_.reset();
}

void Dispatcher::turn() {
  countRunning();
  {
    std::optional<Settings> fresh;
    {
      std::lock_guard<std::mutex> lock(settingsMutex_);
      fresh.swap(pendingSettings_);
    }
    if (fresh) {
      const auto& a = fresh->database;
      const auto& b = settings_.database;
      const bool otherDatabase =
          a.host != b.host || a.port != b.port || a.socket != b.socket || a.db != b.db || a.prefix != b.prefix;
      const bool otherCredentials = a.user != b.user || a.passwd != b.passwd;
      if (otherDatabase && activeRuns() > 0) {
        // Outcomes belong to the database the runs were claimed from: switch once they are written.
        log_.notice(Poco::format("the configuration names another database; switching once the %z run(s) "
                                 "claimed from '%s' are recorded there (claiming nothing meanwhile)",
                                 activeRuns(), settings_.database.db));
        std::lock_guard<std::mutex> lock(settingsMutex_);
        if (!pendingSettings_) pendingSettings_ = fresh;
        fresh.reset();
      } else {
        applySettings(*fresh);
        if (otherDatabase) {
          db_.reset();
          reconnectAtMono_ = 0;
          prepared_ = false;
          workerId_.store(0);
          mirror_.reset();
          schedulesReadMono_ = -1e18;
          nextJob_.reset();
          nextCron_.reset();
          busySites_.clear();
          otherLocks_.clear();
          reread_.clear();
          retries_.clear();
        } else if (otherCredentials) {
          db_.reset();  // the same worker reconnects with the new credentials
          reconnectAtMono_ = 0;
        }
      }
    }
  }
  if (!connect()) return;
  try {
    const double nowMono = monotonicTime();
    const bool beat = nowMono - lastHeartbeatMono_ >= kHeartbeatEvery;
    // Aegir's own runners take tasks only while they hold this semaphore; a Skynet daemon holds
    // it, renewed about every kSemaphoreEvery and expiring soon after the last renewal. It is
    // renewed with every heartbeat, in the heartbeat's transaction: one write commit where there
    // were two (at idle, each commit is most of what the daemon costs the server). Alone only when
    // no heartbeat came for longer, as right after a start.
    const double sinceSemaphore = nowMono - lastSemaphoreMono_;
    const bool renew = (beat && sinceSemaphore >= kSemaphoreEvery - kHeartbeatEvery / 2) ||
                       sinceSemaphore >= kSemaphoreEvery + kHeartbeatEvery;
    if (beat || renew) {
      db::Transaction transaction(*db_);
      if (beat) runs::RunStore(*db_).heartbeat(workerId_.load(), unixTime());
      const bool held = renew && aegir::TaskQueue(*db_).holdCronSemaphore(semaphoreOwner(), unixTime(), kSemaphoreTtl);
      transaction.commit();
      if (beat) lastHeartbeatMono_ = nowMono;
      if (renew) {
        if (!held && !semaphoreWarned_) {
          log_.warning("Aegir's own queue runner holds the semaphore hosting_queue_tasks_running; it may run tasks "
                       "beside Skynet until it lets go (disable hosting_queued, set hosting_queue_tasks_enabled to 0)");
        }
        semaphoreWarned_ = !held;
        lastSemaphoreMono_ = nowMono;
      }
    }
    if (nowMono - lastRecoveryMono_ >= kRecoverEvery) {
      recover(lastRecoveryMono_ < 0);
      lastRecoveryMono_ = nowMono;
    }
    // A poll when its time has come or someone announced work (API wake, a cancel, a reload); in
    // between, freed slots claim from the mirror of the queue.
    const bool woken = pollRequested_.exchange(false);
    const bool due = woken || nowMono >= nextPollMono_;
    if (due) forwardCancels();
    const bool polled = due && claimingNow();
    if (due) nextPollMono_ = nowMono + settings_.queue.pollInterval;
    if (polled) poll(woken, schedulesRequested_.exchange(false));
    writeAndClaim(polled);
    releaseMemoryAfterBacklog();
  } catch (const db::Error& error) {
    onDatabaseError(error);
  }
}

void Dispatcher::releaseMemoryAfterBacklog() {
  if (backlogPeak_ < kReleaseAfterBacklog || !mirror_.empty()) return;
  const std::size_t peak = backlogPeak_;
  backlogPeak_ = 0;
  if (!log_.debug()) {
    releaseFreedMemory();
    return;
  }
  // Measured for the debug log only.
  const long before = residentAnonKiB();
  const double startMono = monotonicTime();
  releaseFreedMemory();
  const double tookMs = (monotonicTime() - startMono) * 1000;
  const long after = residentAnonKiB();
  log_.debug(Poco::format("the queue drained after a backlog of %z tasks: %ld KiB of freed memory given back "
                          "to the system in %.2f ms (anonymous RSS %ld KiB, of it %z KiB in use)",
                          peak, before - after, tookMs, after, heapInUseKiB()));
}

bool Dispatcher::claimingNow() const {
  if (!claiming_.load()) return false;
  std::lock_guard<std::mutex> lock(settingsMutex_);
  return !pendingSettings_.has_value();  // switching databases: claim nothing meanwhile
}

bool Dispatcher::connect() {
  if (db_) return true;
  const double nowMono = monotonicTime();
  if (nowMono < reconnectAtMono_) return false;
  try {
    auto connection = std::make_unique<db::Connection>(settings_.database.connectionParams());
    if (!prepared_) prepare(*connection);
    else if (databaseDown_) log_.information("database is reachable again; writing what waited");
    db_ = std::move(connection);
    databaseDown_ = false;
    reconnectDelay_ = 1;
    return true;
  } catch (const db::Error& error) {
    onDatabaseError(error);
    return false;
  }
}

void Dispatcher::prepare(db::Connection& connection) {
  aegir::TaskQueue tasks(connection);
  const auto missing = tasks.missingTables();
  if (!missing.empty()) {
    throw db::Error("database '" + settings_.database.db + "' is not a hostmaster database: table " + missing.front() +
                        " is missing",
                    0);
  }
  tasks.ensureIndexes();
  if (tasks.cronQueueEnabled().value_or(true)) {
    log_.warning("Aegir's cron queue runner is on (hosting_queue_tasks_enabled) and may start tasks too; "
                 "switch it off: drush @hostmaster vset hosting_queue_tasks_enabled 0");
  }
  if (tasks.queuedModuleEnabled().value_or(false)) {
    log_.warning("Aegir's queue daemon module hosting_queued is enabled and may run tasks too; disable it "
                 "(drush @hostmaster dis hosting_queued) and stop its service");
  }
  runs::migrate(connection);
  const double now = unixTime();
  workerId_.store(runs::RunStore(connection).registerWorker(host_, getpid(), kVersion, now));
  lastHeartbeatMono_ = monotonicTime();
  lastSemaphoreMono_ = -1e9;  // taken at once
  lastRecoveryMono_ = -1e9;  // adopt what dead workers left before claiming anything
  prepared_ = true;
  log_.information(Poco::format("connected to database '%s'; worker %?d on %s", settings_.database.db,
                                workerId_.load(), host_));
}

void Dispatcher::onDatabaseError(const db::Error& error) {
  db_.reset();
  if (metrics_) metrics_->countDatabaseError();
  const std::size_t running = activeRuns();
  const std::string watching = running == 0 ? "" : Poco::format("; still watching %z running run(s)", running);
  if (!databaseDown_) log_.error(std::string(error.what()) + "; retrying with backoff" + watching);
  else log_.debug(std::string("database still unavailable: ") + error.what());
  databaseDown_ = true;
  reconnectAtMono_ = monotonicTime() + reconnectDelay_;
  reconnectDelay_ = std::min(reconnectDelay_ * 2, kMaxReconnectDelay);
}

// Writes the outbox oldest first. A lost connection leaves the item there for the next connection;
// a statement the server rejects for what it holds is logged and the item dropped, so one bad item
// never stops the queue. Returns false when the connection was lost.

void Dispatcher::inBatch(const std::function<void(Batch&)>& body) {
  Batch batch;
  {
    db::Transaction transaction(*db_);
    body(batch);
    runs::RunStore store(*db_);
    for (const auto runId : batch.locksToRelease) store.releaseLocks(runId);
    transaction.commit();
  }
  for (auto& apply : batch.afterCommit) apply();
  mailbox_.post(std::move(batch.commands));
}

// One probe for what changed, then only what it says is worth reading: the queue's new revisions
// (and the ones Skynet handed back, and one chunk of history for the audit), the busy sites while
// anything is queued, cron schedules that came due.
void Dispatcher::poll(bool woken, bool schedulesChanged) {
  const double now = unixTime();
  // The busy sites are read with the probe where the queue holds tasks or a wake-up announced
  // some, else only if the read finds tasks (an idle poll is then the cheaper probe alone).
  ProbeParts parts;
  parts.processingSites = woken || !mirror_.empty();
  // The schedules change when a run is scheduled or an application's cron is set (this daemon's
  // API wakes it then, saying so) and when a daemon makes or claims a job: read after such a
  // wake-up, after a poll that acted on them, and every kSchedulesEvery for what other processes
  // changed. In between, the slots last read come due as time passes.
  const double startMono = monotonicTime();
  parts.schedules = schedulesChanged || startMono - schedulesReadMono_ >= kSchedulesEvery;
  PollProbe probe = readPollProbe(*db_, static_cast<std::int64_t>(now), parts);
  const double nowMono = monotonicTime();
  if (parts.schedules) {
    nextJob_ = probe.nextJob;
    nextCron_ = probe.nextCron;
    schedulesReadMono_ = startMono;
  }
  const auto& paused = probe.paused;
  if (!paused) log_.warning("variable hosting_skynet_paused holds a value that is not a serialized scalar; ignoring it");
  const bool isPaused = paused.value_or(false);
  if (!lastPaused_ || *lastPaused_ != isPaused) {
    if (isPaused) log_.notice("queue paused (hosting_skynet_paused): no new tasks are claimed");
    else if (lastPaused_) log_.notice("queue resumed");
    lastPaused_ = isPaused;
  }
  paused_ = isPaused;
  if (nextJob_ && *nextJob_ <= now) {
    jobsDue_ = true;
    schedulesReadMono_ = -1e18;  // its claim changes the next schedule: read again next poll
  }
  if (nextCron_ && *nextCron_ <= now) {
    createCronRuns();
    schedulesReadMono_ = -1e18;
  }
  if (paused_) return;  // the mirror waits; what was queued meanwhile is read once resumed

  aegir::TaskQueue tasks(*db_);
  const auto read = mirror_.nextRead(nowMono, probe.maxVid);
  if (read.limit > 0) mirror_.applyRead(read, tasks.queuedAbove(read.from, read.limit));
  for (const auto vid : reread_) {
    for (const auto& task : tasks.queuedBetween(vid, vid + 1)) mirror_.add(task);
  }
  reread_.clear();
  const auto audit = mirror_.auditRange(nowMono, QueueMirror::kAuditCycleInPolls * settings_.queue.pollInterval);
  if (audit.first < audit.second) {
    const auto quiet = mirror_.quietDigest(audit);
    if (quiet && tasks.atZeroDigest(audit.first, audit.second) == *quiet) {
      mirror_.auditUnchanged(nowMono, audit);
      log_.debug(Poco::format("audit: vids [%?d, %?d) unchanged since they were read", audit.first, audit.second));
    } else {
      aegir::VidDigest atZero;
      const auto found = tasks.queuedInHistory(audit.first, audit.second, &atZero);
      mirror_.applyAudit(nowMono, audit, found, atZero);
      log_.debug(Poco::format("audit: vids [%?d, %?d) read, %z queued", audit.first, audit.second, found.size()));
    }
  }
  backlogPeak_ = std::max(backlogPeak_, mirror_.size());
  // Backoffs of tasks no longer queued (cancelled, deleted, run by someone else) are forgotten.
  for (auto it = retries_.begin(); it != retries_.end();) {
    it = mirror_.contains(it->second.vid) ? std::next(it) : retries_.erase(it);
  }
  busySites_.clear();
  if (mirror_.empty()) {  // an idle queue needs no busy sites
    otherLocks_.clear();
    return;
  }
  // Sites busy under another runner (Aegir's own, or a hosting-task started by hand). Our own
  // runs are not counted here (the policy knows them).
  busySites_ = probe.processingSites ? *probe.processingSites : tasks.processingSites(static_cast<std::int64_t>(now));
  {
    std::lock_guard<std::mutex> lock(activeMutex_);
    for (const auto& [id, active] : active_) {
      if (active.kind == "task") busySites_.erase(active.task.rid);
    }
  }
  // Alone on the database (no other daemon, no other runner, no lock of anyone else seen at the
  // last claim): nothing else takes tasks or holds sites, so there is nothing more to read.
  if (othersAlive_ == 0 && busySites_.empty() && otherLocks_.empty()) return;
  // The head of the queue, checked: a task there that someone else ran meanwhile would hold
  // back the tasks behind it (an exclusive one holds back all of them).
  const auto head = mirror_.head(aegir::TaskQueue::kStillQueuedAtOnce);
  const auto still = tasks.stillQueued(head);
  for (const auto vid : head) {
    if (!still.count(vid)) mirror_.remove(vid);
  }
  // Sites other daemons hold (also the locks of a dead worker not yet taken over).
  otherLocks_.clear();
  for (const auto& lock : runs::RunStore(*db_).heldLocks()) {
    if (lock.rid > 0 && lock.workerId != workerId_.load()) otherLocks_.insert(lock.rid);
  }
}

// Starts of processes that may wait for the next batch: nothing but starts is pending, the oldest
// is younger than kStartedWriteDelay, and the daemon is not finishing.
bool Dispatcher::startsCanWait(const std::vector<Mailbox::Posted>& events) const {
  if (events.empty() || finishing_.load()) return false;
  for (const auto& posted : events) {
    if (!std::holds_alternative<Started>(posted.event)) return false;
  }
  return monotonicTime() - events.front().postedMono < kStartedWriteDelay;
}

// The outbox and the claims of this turn: one transaction. A batch the server rejects for its
// content is written again one item at a time (see the header).
void Dispatcher::writeAndClaim(bool polled) {
  auto events = mailbox_.peekEvents(kBatchEvents);
  if (startsCanWait(events)) events.clear();
  if (othersAlive_ == 0) {
    writeBatch(events, true);
    return;
  }
  // With other daemons on the database, ends are committed on their own and claims are made
  // only when polling: a site freed here is then free for every daemon until the next poll of
  // any of them, where claiming at once (let alone handing the site over in one transaction)
  // would keep every site with the daemon that holds it.
  if (!events.empty()) writeBatch(events, false);
  if (polled) writeBatch({}, true);
}

void Dispatcher::writeBatch(const std::vector<Mailbox::Posted>& events, bool claim) {
  claim = claim && claimingNow();
  // Runs whose ends are in this batch no longer count as running for the policy.
  std::set<std::int64_t> ending;
  for (const auto& posted : events) {
    if (const auto runId = runEndedBy(posted.event)) ending.insert(runId);
  }
  const auto tasks = claim ? tasksToClaim(ending) : std::vector<aegir::QueuedTask>{};
  const bool jobs = claim && jobsToClaim();
  if (tasks.empty() && !jobs && events.empty()) return;
  try {
    inBatch([&](Batch& batch) {
      batch.ended = ending;
      // Claims read the locks first, before any lock row is touched: every claimer takes them in
      // the same order, so two daemons' batches never wait for each other in a circle.
      startBatch(batch, !tasks.empty() || jobs);
      for (const auto& posted : events) write(posted.event, batch);
      if (!tasks.empty()) claimTasks(tasks, &batch);
      if (jobs) claimJobs(&batch);
    });
    mailbox_.popEvents(events.size());
  } catch (const db::Error& error) {
    if (error.connectionLost() || !db_) throw;
    // After a deadlock (a stop reported through the API while the batch records the same run's
    // end) nothing in the batch was wrong: written again item by item, every item is recorded.
    log_.warning(std::string(error.deadlock() ? "a batch of run records was rolled back to break a deadlock"
                                              : "the server rejected a batch of run records") +
                 ", writing them one at a time: " + error.what());
    for (const auto& posted : events) {
      try {
        inBatch([&](Batch& batch) {
          if (const auto runId = runEndedBy(posted.event)) batch.ended.insert(runId);
          write(posted.event, batch);
        });
      } catch (const db::Error& itemError) {
        if (itemError.connectionLost() || !db_) throw;
        log_.error(std::string("could not record a run's progress, dropping that record: ") + itemError.what());
        dropped(posted.event, itemError.what());
      }
      mailbox_.popEvents(1);
    }
    if (claim) {
      claimTasks(tasksToClaim({}), nullptr);
      if (jobsToClaim()) claimJobs(nullptr);
    }
  }
}

// After the server refused a run's end: the run still must not hold its slot and its site, so it
// is recorded as failed with only the reason (what was refused was probably in the rest), or at
// least its locks are released.
void Dispatcher::dropped(const Event& event, const std::string& why) {
  const std::int64_t runId = runEndedBy(event);
  if (runId == 0) return;  // a start: the end comes later
  try {
    runs::RunStore(*db_).finishRun(runId, {runs::state::kFailed, std::nullopt, std::nullopt, unixTime(),
                                           validUtf8("Skynet could not record this run's end: " + why), "",
                                           std::nullopt});
  } catch (const db::Error& error) {
    if (error.connectionLost() || !db_) throw;
    runs::RunStore(*db_).releaseLocks(runId);
  }
  std::lock_guard<std::mutex> lock(activeMutex_);
  active_.erase(runId);
}

void Dispatcher::write(const Event& event, Batch& batch) {
  if (const auto* started = std::get_if<Started>(&event)) {
    recordStarted(*started, batch);
  } else if (const auto* failed = std::get_if<LaunchFailed>(&event)) {
    recordLaunchFailed(*failed, batch);
  } else if (const auto* ended = std::get_if<Ended>(&event)) {
    std::string cancelledBy;
    {
      std::lock_guard<std::mutex> lock(activeMutex_);
      auto found = active_.find(ended->runId);
      if (found != active_.end()) cancelledBy = found->second.cancelledBy;
    }
    RunEnding ending;
    ending.exit = ended->exit;
    ending.endedBy = ended->endedBy;
    ending.timeoutSeconds = ended->timeoutSeconds;
    ending.cancelledBy = cancelledBy.empty() ? "api" : cancelledBy;
    recordEnded(ended->runId, ending, ended->stoppedWall, ended->outputFile, batch);
  }
}

void Dispatcher::recordStarted(const Started& started, Batch& batch) {
  std::string outputFile;
  double queuedAt = 0;
  std::string kind;
  {
    // Known at once (also if this batch is written again): the process runs either way.
    std::lock_guard<std::mutex> lock(activeMutex_);
    auto found = active_.find(started.runId);
    if (found == active_.end()) return;
    found->second.launched = true;
    found->second.startedWall = started.startedWall;
    outputFile = found->second.outputFile;
    queuedAt = found->second.queuedAt;
    kind = found->second.kind;
  }
  if (metrics_ && queuedAt > 0) {
    const double latency = std::max(0.0, started.startedWall - queuedAt);
    batch.afterCommit.push_back([this, kind, latency] { metrics_->observePickupLatency(kind, latency); });
  }
  const runs::RunProcess process{started.identity.pid, started.identity.startTicks, started.identity.bootId,
                                 outputFile, started.startedWall};
  if (batch.ended.count(started.runId)) batch.processes[started.runId] = process;  // written with its end
  else runs::RunStore(*db_).setProcess(started.runId, process);
}

void Dispatcher::recordLaunchFailed(const LaunchFailed& failed, Batch& batch) {
  Active active;
  {
    std::lock_guard<std::mutex> lock(activeMutex_);
    auto found = active_.find(failed.runId);
    if (found == active_.end()) return;
    active = found->second;
  }
  runs::RunStore store(*db_);
  const double now = unixTime();
  if (active.kind == "task") {
    aegir::TaskQueue tasks(*db_);
    const bool released = tasks.release(active.task.vid);
    std::string message;
    if (failed.shuttingDown) {
      message = "not started: Skynet was stopping; queued again";
    } else {
      const double delay = retryDelay(active.attempts);
      message = failed.error + "; queued again, next try in " + seconds(delay);
      const Retry retry{active.attempts, monotonicTime() + delay, active.task.vid};
      batch.afterCommit.push_back([this, retry, nid = active.task.nid, line = describe(active.task) + ": " + message] {
        retries_[nid] = retry;
        log_.error(line);
      });
    }
    if (released) batch.afterCommit.push_back([this, vid = active.task.vid] { reread_.insert(vid); });
    store.finishRun(failed.runId, {runs::state::kDeferred, std::nullopt, std::nullopt, now, validUtf8(message), "", std::nullopt});
  } else if (failed.shuttingDown) {
    store.rescheduleRun(failed.runId, "not started: Skynet was stopping");
  } else {
    store.finishRun(failed.runId, {runs::state::kFailed, std::nullopt, std::nullopt, now,
                                   validUtf8("could not start: " + failed.error), "", std::nullopt});
    batch.afterCommit.push_back([this, line = Poco::format("job run %?d could not start: %s", failed.runId, failed.error)] {
      log_.error(line);
    });
  }
  batch.afterCommit.push_back([this, runId = failed.runId, job = active.kind == "job"] {
    if (job) jobsDue_ = true;  // a freed job slot: more may be due
    std::lock_guard<std::mutex> lock(activeMutex_);
    active_.erase(runId);
  });
}

void Dispatcher::recordEnded(std::int64_t runId, const RunEnding& endingIn, double stoppedWall,
                             const std::string& outputFile, Batch& batch) {
  Active active;
  {
    std::lock_guard<std::mutex> lock(activeMutex_);
    auto found = active_.find(runId);
    if (found == active_.end()) return;
    active = found->second;
  }
  RunEnding ending = endingIn;
  const std::string file = outputFile.empty() ? active.outputFile : outputFile;
  if (active.kind == "job") {
    // A job adopted from a dead daemon was not our child: its wrapper wrote its exit code.
    if (!ending.exit && !ending.neverStarted) {
      std::ifstream exitFile(file + ".exit");
      int code = 0;
      if (exitFile >> code) ending.exit = process::ExitStatus{code, 0};
    }
    batch.afterCommit.push_back([exitFile = file + ".exit"] { std::remove(exitFile.c_str()); });
  }
  const std::size_t tailLimit =
      std::min<std::size_t>(active.kind == "task" ? kTaskTailLimit : static_cast<std::size_t>(settings_.api.maxLogBytes),
                            static_cast<std::size_t>(settings_.api.maxLogBytes));
  const std::string tail = utf8Tail(readFileTail(file, tailLimit + 4), tailLimit);
  ending.lastOutputLine = lastLine(tail);
  runs::RunEnd end;
  end.stopped = stoppedWall;
  end.logTail = tail;
  if (ending.exit) {
    if (ending.exit->signal) end.signal = ending.exit->signal;
    else end.exitCode = ending.exit->exitCode;
  }
  if (auto process = batch.processes.find(runId); process != batch.processes.end()) end.process = process->second;
  const double startedWall = end.process ? end.process->started : active.startedWall;
  runs::RunStore store(*db_);
  // The task's log entry and status, the claimed revision and the run record: one transaction
  // (the batch's, or this one when it is called alone).
  db::Transaction transaction(*db_);
  std::string line;
  if (active.kind == "task") {
    const aegir::QueuedTask& task = active.task;
    aegir::TaskQueue tasks(*db_);
    aegir::TaskState current;
    if (const auto read = batch.taskStates.find(task.nid); read != batch.taskStates.end()) {
      current = read->second;
      batch.taskStates.erase(read);
    } else {
      current = tasks.state(task.nid);
    }
    const TaskOutcome outcome = classifyTask({current.exists, task.vid, current.currentVid, current.status}, ending);
    end.state = outcome.state;
    end.message = outcome.message;
    bool taken = true;
    if (outcome.action == TaskAction::Release) {
      if (tasks.release(task.vid)) {
        taken = false;
        batch.afterCommit.push_back([this, vid = task.vid] { reread_.insert(vid); });
        if (ending.neverStarted) {
          end.message += "; queued again";  // nothing ran: no reason to wait
        } else {
          const double delay = retryDelay(active.attempts);
          const Retry retry{active.attempts, monotonicTime() + delay, task.vid};
          batch.afterCommit.push_back([this, retry, nid = task.nid] { retries_[nid] = retry; });
          end.message += "; queued again, next try in " + seconds(delay);
        }
      } else {
        end.message = "the task was changed by someone else while hosting-task ran";
      }
    } else if (outcome.action == TaskAction::Finalize) {
      const std::int64_t vid = current.currentVid;
      const auto status = tasks.finalizeAbandoned(task.nid, vid, outcome.errorCode, outcome.logMessage,
                                                  static_cast<std::int64_t>(stoppedWall), outcome.logType);
      if (status && outcome.state != runs::state::kTimedOut && outcome.state != runs::state::kCancelled &&
          *status != aegir::kError) {
        end.state = *status == aegir::kWarning ? runs::state::kWarning : runs::state::kSucceeded;
      }
    }
    // hosting-task saved its own revision: the claimed one goes back to 0, as Aegir's runners leave it.
    if (current.exists) tasks.resetClaimedRevision(task.vid, current.currentVid);
    if (taken) batch.afterCommit.push_back([this, nid = task.nid] { retries_.erase(nid); });
    if (active.adoptedFrom) {
      end.message = Poco::format("adopted from worker %?d", active.adoptedFrom) + (end.message.empty() ? "" : "; " + end.message);
    }
    end.message = validUtf8(end.message);
    store.finishRun(runId, end, runs::RunStore::Locks::LeaveToCaller);
    batch.locksToRelease.insert(runId);
    // Formatted only for a log that keeps it: a task's end is on the way to the next spawn.
    if (log_.is(endPriority(end.state))) {
      const std::string duration = startedWall > 0 ? " in " + seconds(stoppedWall - startedWall) : "";
      line = Poco::format("%s finished: %s%s (run %?d, %s)%s", describe(task), end.state, duration, runId,
                          describeExit(ending.exit), end.message.empty() ? std::string() : ": " + end.message);
    }
  } else {
    const JobOutcome outcome = classifyJob(ending);
    if (outcome.state == runs::state::kScheduled) {
      store.rescheduleRun(runId, outcome.message);
    } else {
      end.state = outcome.state;
      end.message = outcome.message;
      if (active.adoptedFrom) {
        end.message = Poco::format("adopted from worker %?d", active.adoptedFrom) + (end.message.empty() ? "" : "; " + end.message);
      }
      end.message = validUtf8(end.message);
      store.finishRun(runId, end, runs::RunStore::Locks::LeaveToCaller);
      batch.locksToRelease.insert(runId);
    }
    if (log_.is(endPriority(end.state))) {
      line = Poco::format("job run %?d (application %?d) finished: %s (%s)%s", runId, active.applicationId,
                          outcome.state, describeExit(ending.exit),
                          outcome.message.empty() ? std::string() : ": " + outcome.message);
    }
  }
  transaction.commit();
  batch.afterCommit.push_back([this, runId, kind = active.kind, state = end.state, startedWall, stoppedWall, line] {
    {
      std::lock_guard<std::mutex> lock(activeMutex_);
      active_.erase(runId);
    }
    if (kind == "job") jobsDue_ = true;  // a freed job slot: more may be due
    if (metrics_) {
      metrics_->countOutcome(kind, state.empty() ? runs::state::kScheduled : state);
      if (startedWall > 0) metrics_->observeRunDuration(kind, std::max(0.0, stoppedWall - startedWall));
    }
    if (!line.empty()) log_.log(Poco::Message(log_.name(), line, endPriority(state)));
  });
}

void Dispatcher::recover(bool atStart) {
  runs::RunStore store(*db_);
  const double now = unixTime();
  const std::int64_t me = workerId_.load();
  std::int64_t othersAlive = 0;
  for (const auto& worker : store.workers()) {
    if (worker.id == me) continue;
    const double silence = now - worker.heartbeat;
    const bool heard = !worker.stopped && silence < kOtherWorkerSilence;
    if (worker.host == host_) {
      // Our own previous image (before an execve) has our pid; a reused pid has a stale heartbeat.
      const bool dead = worker.stopped || worker.pid == getpid() || !pidAlive(worker.pid) || silence > kLocalWorkerStale;
      if (!dead) {
        if (heard) ++othersAlive;
        continue;
      }
      const auto left = store.unfinishedRuns(worker.id);
      if (!left.empty()) {
        log_.notice(Poco::format("worker %?d on this host is gone (pid %?d); taking over its %z unfinished run(s)",
                                 worker.id, worker.pid, left.size()));
      }
      for (const auto& run : left) adoptOrFinalize(run, worker.id);
      if (!worker.stopped) store.stopWorker(worker.id, now);
    } else if (silence > settings_.queue.lostAfter) {
      const auto left = store.unfinishedRuns(worker.id);
      for (const auto& run : left) finalizeLost(run, worker);
      if (!left.empty() || !worker.stopped) store.stopWorker(worker.id, worker.heartbeat);
    } else if (heard) {
      ++othersAlive;
    } else if (atStart && silence > runs::kWorkerAliveWindow) {
      const auto left = store.unfinishedRuns(worker.id);
      if (!left.empty()) {
        log_.notice(Poco::format("worker %?d on %s has %z run(s) and was last heard of %s ago; they are "
                                 "finalized as lost after queue.lost_after (%d s) without a heartbeat",
                                 worker.id, worker.host, left.size(), seconds(silence), settings_.queue.lostAfter));
      }
    }
  }
  othersAlive_ = othersAlive;
}

void Dispatcher::adoptOrFinalize(const runs::UnfinishedRun& run, std::int64_t fromWorker) {
  process::ProcessIdentity identity{static_cast<pid_t>(run.process.pid), run.process.procStart, run.process.bootId};
  bool alive = run.process.pid > 0 && run.process.bootId == process::bootId() && process::stillRunning(identity);
  if (!alive) {
    // Killed between the spawn and the record of its pid: its environment names the run.
    const auto found = process::findByEnvironment("SKYNET_RUN_ID", std::to_string(run.id));
    if (found.size() == 1) {
      if (const auto id = process::identify(found.front())) {
        identity = *id;
        alive = true;
      }
    }
  }
  Active active;
  active.kind = run.kind;
  active.task.nid = run.nid;
  active.task.vid = run.vid;
  active.task.rid = run.rid;
  active.task.type = run.type;
  active.applicationId = run.applicationId;
  active.attempts = run.attempts;
  active.timeout = run.timeout;
  active.outputFile = run.process.outputFile;
  active.cancelledBy = run.cancelledBy;
  active.launched = alive;
  active.startedWall = run.process.started;
  active.adoptedFrom = fromWorker;
  {
    std::lock_guard<std::mutex> lock(activeMutex_);
    active_[run.id] = active;
  }
  runs::RunStore store(*db_);
  if (alive) {
    store.adoptRun(run.id, workerId_.load(), Poco::format("adopted from worker %?d", fromWorker));
    if (identity.pid != run.process.pid) {
      store.setProcess(run.id, {identity.pid, identity.startTicks, identity.bootId, run.process.outputFile,
                                run.process.started});
    }
    log_.information(Poco::format("run %?d (%s%s) adopted from worker %?d: pid %d still runs", run.id, run.kind,
                                  run.kind == "task" ? " " + std::to_string(run.nid) : std::string(), fromWorker,
                                  static_cast<int>(identity.pid)));
    mailbox_.post(Command{Adoption{run.id, identity, run.process.outputFile, run.process.started, run.timeout}});
    if (!run.cancelledBy.empty()) mailbox_.post(Command{CancelCommand{run.id}});
    return;
  }
  RunEnding ending;
  ending.neverStarted = run.process.pid == 0;
  ending.cancelledBy = run.cancelledBy.empty() ? "api" : run.cancelledBy;
  if (!run.cancelledBy.empty()) ending.endedBy = EndedBy::Cancel;
  inBatch([&](Batch& batch) { recordEnded(run.id, ending, unixTime(), run.process.outputFile, batch); });
}

void Dispatcher::finalizeLost(const runs::UnfinishedRun& run, const runs::WorkerRecord& worker) {
  const double now = unixTime();
  const std::string why = Poco::format("the Skynet worker %?d on host %s stopped sending its heartbeat %s ago "
                                       "(queue.lost_after = %d s); its run is marked lost",
                                       worker.id, worker.host, seconds(now - worker.heartbeat),
                                       settings_.queue.lostAfter);
  runs::RunStore store(*db_);
  if (run.kind == "task") {
    aegir::TaskQueue tasks(*db_);
    const auto current = tasks.state(run.nid);
    if (current.exists && current.status == aegir::kProcessing) {
      tasks.finalizeAbandoned(run.nid, current.currentVid, "SKYNET_TASK_LOST", "Skynet: " + why + ".",
                              static_cast<std::int64_t>(now), "error");
      tasks.resetClaimedRevision(run.vid, current.currentVid);
    }
  }
  store.finishRun(run.id, {runs::state::kLost, std::nullopt, std::nullopt, now, why, "", std::nullopt});
  log_.error(Poco::format("run %?d (%s) lost: %s", run.id, run.kind, why));
}

void Dispatcher::forwardCancels() {
  if (activeRuns() == 0) return;  // only our own running runs can be cancelled through us
  const auto requests = runs::RunStore(*db_).cancelRequests(workerId_.load());
  for (const auto& [runId, by] : requests) {
    bool forward = false;
    {
      std::lock_guard<std::mutex> lock(activeMutex_);
      auto found = active_.find(runId);
      if (found != active_.end() && found->second.cancelledBy.empty()) {
        found->second.cancelledBy = by;
        forward = true;
      }
    }
    if (forward) {
      log_.notice(Poco::format("run %?d: cancel requested by %s; stopping its process group", runId, by));
      mailbox_.post(Command{CancelCommand{runId}});
    }
  }
}

// `fresh`: read the queue (a poll). Otherwise (a slot was freed, nothing new was announced) the
// candidates of the last poll are used again: a stale candidate costs only a claim that affects
// no row, and what was queued since comes with the next poll or wake-up.

void Dispatcher::startBatch(Batch& batch, bool locks) {
  std::vector<std::int64_t> nids;
  {
    std::lock_guard<std::mutex> lock(activeMutex_);
    for (const auto runId : batch.ended) {
      const auto found = active_.find(runId);
      if (found != active_.end() && found->second.kind == "task" && nids.size() < kBatchStatesAtOnce) {
        nids.push_back(found->second.task.nid);
      }
    }
  }
  auto start = readBatchStart(*db_, locks && !batch.locks, nids);
  batch.taskStates = std::move(start.states);
  for (const auto nid : nids) batch.taskStates.try_emplace(nid);  // no row: the node is gone (exists false)
  if (start.locks) keepLocks(batch, std::move(*start.locks));
}

void Dispatcher::keepLocks(Batch& batch, std::vector<runs::SiteLock> locks) {
  batch.locks = std::move(locks);
  otherLocks_.clear();
  for (const auto& lock : *batch.locks) {
    if (lock.rid > 0 && lock.workerId != workerId_.load()) otherLocks_.insert(lock.rid);
  }
}

std::vector<runs::SiteLock>& Dispatcher::locksOf(Batch& batch) {
  if (!batch.locks) keepLocks(batch, runs::RunStore(*db_).lockAll());
  return *batch.locks;
}

// From the mirror, in memory: no statement unless the policy picks something.
std::vector<aegir::QueuedTask> Dispatcher::tasksToClaim(const std::set<std::int64_t>& ending) {
  if (paused_ || mirror_.empty()) return {};
  std::vector<scheduler::RunningTask> running;
  {
    std::lock_guard<std::mutex> lock(activeMutex_);
    for (const auto& [id, active] : active_) {
      if (active.kind != "task" || ending.count(id)) continue;
      running.push_back({active.task.nid, active.task.rid, active.exclusive});
    }
  }
  if (static_cast<int>(running.size()) >= settings_.queue.concurrency) return {};
  scheduler::QueueView view;
  view.queued = mirror_.view(kViewOldest);
  view.busySites = busySites_;
  view.busySites.insert(otherLocks_.begin(), otherLocks_.end());
  view.running = running;
  view.now = monotonicTime();
  for (const auto& [nid, retry] : retries_) view.retryAfter[nid] = retry.afterMono;
  return policy_.select(view);
}

void Dispatcher::placeLock(const runs::SiteLock& taken, Batch& batch, double now) {
  runs::RunStore store(*db_);
  auto& locks = locksOf(batch);
  // A run ending in this batch that held the same site: its rows go first (released only as
  // the batch is written otherwise), so the new row for that site fits the primary key.
  const auto held = std::find_if(locks.begin(), locks.end(), [&](const runs::SiteLock& lock) {
    return lock.rid == taken.rid && lock.rid != 0 && batch.locksToRelease.count(lock.runId);
  });
  if (held != locks.end()) {
    const std::int64_t from = held->runId;
    store.releaseLocks(from);
    batch.locksToRelease.erase(from);
    locks.erase(std::remove_if(locks.begin(), locks.end(),
                               [&](const runs::SiteLock& lock) { return lock.runId == from && lock.rid != 0; }),
                locks.end());
  }
  store.takeLock(taken, now);
  locks.push_back(taken);
}

void Dispatcher::claimTasks(const std::vector<aegir::QueuedTask>& tasks, Batch* batch) {
  if (batch) {
    claimTasksIn(tasks, *batch);
    return;
  }
  for (const auto& task : tasks) {
    if (!claiming_.load()) break;
    try {
      inBatch([&](Batch& own) { claimTasksIn({task}, own); });
    } catch (const db::Error& error) {
      if (error.connectionLost() || !db_) throw;
      // Left out of the mirror until the audit reads it again, so it cannot stop the queue.
      log_.error(describe(task) + ": the server rejected its claim, leaving it queued: " + error.what());
      mirror_.remove(task.vid);
    }
  }
}

void Dispatcher::claimTasksIn(const std::vector<aegir::QueuedTask>& tasks, Batch& batch) {
  struct Claim {
    aegir::QueuedTask task;
    bool exclusive = false;
    int attempts = 1;
    int timeout = 0;
    process::LaunchSpec spec;
  };
  const double now = unixTime();
  const auto& locks = locksOf(batch);
  std::vector<Claim> claims;
  std::vector<db::Connection::Sql> statements;
  for (const auto& task : tasks) {
    if (!claiming_.load()) break;
    const bool exclusive = policy_.isExclusive(task);
    // Held: by a run not ending in this batch (the guard row and applications aside), or by a
    // claim before it in this batch.
    auto holds = [&](std::int64_t rid, bool heldExclusive) {
      return rid == task.rid || heldExclusive || exclusive;
    };
    const auto held = std::find_if(locks.begin(), locks.end(), [&](const runs::SiteLock& lock) {
      return lock.rid > 0 && !batch.ended.count(lock.runId) && holds(lock.rid, lock.exclusive);
    });
    if (held != locks.end()) {
      log_.debug(describe(task) + " waits: site " + std::to_string(held->rid) + " is held by run " +
                 std::to_string(held->runId));
      continue;
    }
    if (std::any_of(claims.begin(), claims.end(),
                    [&](const Claim& claim) { return holds(claim.task.rid, claim.exclusive); })) {
      continue;
    }
    Claim claim;
    claim.task = task;
    claim.exclusive = exclusive;
    claim.attempts = retries_.count(task.nid) ? retries_[task.nid].attempts + 1 : 1;
    claim.timeout = settings_.queue.timeoutFor(task.type);
    claim.spec.executable = drushPath_.empty() ? settings_.queue.drush : drushPath_;
    claim.spec.arguments = {settings_.queue.alias, "hosting-task", std::to_string(task.nid), "--strict=0", "--force"};
    std::string command = claim.spec.executable;
    for (const auto& argument : claim.spec.arguments) command += " " + argument;
    statements.push_back(aegir::TaskQueue::claimSql(task, static_cast<std::int64_t>(now)));
    statements.push_back(runs::RunStore::startTaskRunSql({task.nid, task.vid, task.rid, task.type, command,
                                                          workerId_.load(), host_, claim.attempts, now,
                                                          static_cast<double>(task.changed), claim.timeout}));
    claims.push_back(std::move(claim));
    // Claimed or taken by someone else: either way it is no candidate any more.
    batch.afterCommit.push_back([this, vid = task.vid] { mirror_.remove(vid); });
  }
  if (claims.empty()) return;
  // Every claim and its run record in one round trip, behind the batch's deferred writes: a
  // record goes in whatever its claim did, and is taken back (never seen outside this
  // transaction) in the rare case that the claim affected no row.
  const auto written = db_->executeAll(statements);
  runs::RunStore store(*db_);
  for (std::size_t i = 0; i < claims.size(); ++i) {
    Claim& claim = claims[i];
    const auto runId = static_cast<std::int64_t>(written.at(2 * i + 1).insertId);
    if (written.at(2 * i).affected != 1) {
      store.discardRun(runId);
      log_.debug(describe(claim.task) + " was taken by another runner");
      continue;
    }
    placeLock({claim.task.rid, claim.exclusive, runId, workerId_.load()}, batch, now);
    Active active;
    active.kind = "task";
    active.task = claim.task;
    active.exclusive = claim.exclusive;
    active.attempts = claim.attempts;
    active.timeout = claim.timeout;
    active.outputFile = outputFileFor("task-" + std::to_string(claim.task.nid), runId);
    active.queuedAt = static_cast<double>(claim.task.changed);
    claim.spec.environment = baseEnvironment_;
    claim.spec.environment["SKYNET_RUN_ID"] = std::to_string(runId);
    claim.spec.outputFile = active.outputFile;
    batch.afterCommit.push_back([this, runId, active] {
      if (metrics_) metrics_->countClaim("task");
      {
        std::lock_guard<std::mutex> lock(activeMutex_);
        active_[runId] = active;
      }
      if (log_.information()) {
        log_.information(Poco::format("%s claimed: run %?d, attempt %d", describe(active.task), runId, active.attempts));
      }
    });
    batch.commands.push_back(Command{Launch{runId, std::move(claim.spec), claim.timeout}});
  }
}

bool Dispatcher::jobsToClaim() const {
  if (!jobsDue_) return false;
  int running = 0;
  std::lock_guard<std::mutex> lock(activeMutex_);
  for (const auto& [id, active] : active_) running += active.kind == "job" ? 1 : 0;
  return running < settings_.runs.concurrency;
}

void Dispatcher::claimJobs(Batch* batch) {
  int running = 0;
  std::set<std::int64_t> ownApplications;
  {
    std::lock_guard<std::mutex> lock(activeMutex_);
    for (const auto& [id, active] : active_) {
      if (active.kind != "job" || (batch && batch->ended.count(id))) continue;
      ++running;
      ownApplications.insert(active.applicationId);
    }
  }
  if (running >= settings_.runs.concurrency) return;
  const auto due = runs::RunStore(*db_).dueJobs(unixTime(), kJobBatch);
  if (due.empty()) jobsDue_ = false;
  for (const auto& job : due) {
    if (running >= settings_.runs.concurrency || !claiming_.load()) break;
    if (!job.allowParallel && ownApplications.count(job.applicationId)) continue;
    bool claimed = false;
    if (batch) {
      claimed = claimJob(job, *batch);
    } else {
      try {
        inBatch([&](Batch& own) { claimed = claimJob(job, own); });
      } catch (const db::Error& error) {
        if (error.connectionLost() || !db_) throw;
        log_.error(Poco::format("job run %?d: the server rejected its claim: %s", job.runId, std::string(error.what())));
      }
    }
    if (claimed) {
      ++running;
      ownApplications.insert(job.applicationId);
    }
  }
}

bool Dispatcher::claimJob(const runs::DueJob& job, Batch& batch) {
  const double now = unixTime();
  runs::RunStore store(*db_);
  auto& locks = locksOf(batch);
  if (!job.allowParallel) {
    for (const auto& lock : locks) {
      if (lock.rid == -job.applicationId && !batch.ended.count(lock.runId)) return false;
    }
  }
  if (!store.claimJob(job.runId, workerId_.load(), host_, now)) return false;
  if (!job.allowParallel && job.applicationId > 0) {
    placeLock({-job.applicationId, false, job.runId, workerId_.load()}, batch, now);
  }
  const int timeout = job.timeout > 0 ? job.timeout : settings_.runs.timeout;
  Active active;
  active.kind = "job";
  active.applicationId = job.applicationId;
  active.timeout = timeout;
  active.outputFile = outputFileFor("job-" + std::to_string(job.applicationId), job.runId);
  active.queuedAt = job.schedule;
  batch.afterCommit.push_back([this, runId = job.runId, active] {
    if (metrics_) metrics_->countClaim("job");
    std::lock_guard<std::mutex> lock(activeMutex_);
    active_[runId] = active;
  });
  process::LaunchSpec spec;
  spec.executable = "/bin/sh";
  // The command runs in a subshell whose exit code is also written beside the output: a daemon
  // that adopts the job after a restart cannot wait for it, but reads its outcome there.
  // The file's name is passed as $0, so no quoting of a path is needed.
  spec.arguments = {"-c", "(\n" + job.command + "\n); code=$?; echo $code > \"$0\"; exit $code",
                    active.outputFile + ".exit"};
  spec.environment = baseEnvironment_;
  spec.environment["SKYNET_RUN_ID"] = std::to_string(job.runId);
  spec.environment["SKYNET_RUN_TOKEN"] = job.token;
  {
    std::lock_guard<std::mutex> lock(settingsMutex_);
    spec.environment["SKYNET_API_URL"] = apiUrl_;
  }
  spec.outputFile = active.outputFile;
  const std::string directory = settings_.runs.workdir + "/" + job.directory;
  if (!staysInside(job.directory)) {
    batch.afterCommit.push_back([this, runId = job.runId, directory = job.directory] {
      mailbox_.post(Event{LaunchFailed{runId, "directory '" + directory + "' is outside runs.workdir", false}});
    });
    return true;
  }
  if (!Poco::File(directory).exists()) {
    batch.afterCommit.push_back([this, runId = job.runId, directory] {
      mailbox_.post(Event{LaunchFailed{runId, "directory " + directory + " does not exist", false}});
    });
    return true;
  }
  spec.workingDirectory = directory;
  batch.afterCommit.push_back([this, line = Poco::format("job run %?d (application %?d) claimed: %s in %s", job.runId,
                                                         job.applicationId, job.command, directory)] {
    log_.information(line);
  });
  batch.commands.push_back(Command{Launch{job.runId, spec, timeout}});
  return true;
}

void Dispatcher::createCronRuns() {
  runs::Catalog catalog(*db_);
  const double now = unixTime();
  for (const auto& application : catalog.dueCronApplications(now, kJobBatch)) {
    std::string error;
    const auto schedule = scheduler::CronSchedule::parse(application.cron.value_or(""), error);
    const std::optional<double> next = schedule ? schedule->next(now, settings_.runs.timezone) : std::nullopt;
    db::Transaction transaction(*db_);
    if (!catalog.advanceCron(application.id, *application.cronNext, next)) continue;  // another daemon did
    if (!schedule) {
      log_.error(Poco::format("application %?d: cron '%s' no longer parses (%s); its schedule stops",
                              application.id, application.cron.value_or(""), error));
      transaction.commit();
      continue;
    }
    runs::NewJob job;
    job.applicationId = application.id;
    job.directory = runs::joinDirectories(application.projectDirectory, application.directory);
    job.command = application.command;
    job.schedule = *application.cronNext;
    job.created = now;
    job.timeout = application.timeout ? application.timeout : std::optional<int>(settings_.runs.timeout);
    const std::int64_t runId = runs::RunApiStore(*db_).scheduleJob(job);
    transaction.commit();
    jobsDue_ = true;  // its slot has come: claimed in this turn's batch
    log_.information(Poco::format("application %?d: cron '%s' made run %?d for its slot at %s", application.id,
                                  *application.cron, runId, api::isoUtc(*application.cronNext)));
  }
}


std::string Dispatcher::semaphoreOwner() const {
  return std::string(aegir::TaskQueue::kSkynetSemaphoreOwner) + host_ + ":" + std::to_string(workerId_.load());
}

std::string Dispatcher::outputFileFor(const std::string& prefix, std::int64_t runId) const {
  return settings_.log.taskOutput + "/" + prefix + "-run-" + std::to_string(runId) + ".log";
}

}  // namespace skynet::daemon
