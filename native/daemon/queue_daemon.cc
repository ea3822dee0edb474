#include "daemon/queue_daemon.h"

#include <Poco/Environment.h>
#include <Poco/File.h>
#include <Poco/Format.h>
#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>

#include "runs/schema.h"
#include "util/clock.h"
#include "version.h"

namespace skynet::daemon {

namespace {

constexpr std::size_t kCandidateLimit = 200;
constexpr double kHeartbeatEvery = 5.0;
constexpr double kMaxReconnectDelay = 30.0;
constexpr double kShutdownFlushLimit = 10.0;
constexpr std::size_t kLogTailLimit = 64 * 1024;

std::string seconds(double value) { return Poco::format("%.1f s", value); }

// "task 123 (verify, rid 10)": the words every log line about a task starts with.
std::string describe(const aegir::QueuedTask& task) {
  return "task " + std::to_string(task.nid) + " (" + task.type + ", rid " + std::to_string(task.rid) + ")";
}

std::string lastLine(const std::string& text) {
  auto end = text.find_last_not_of("\r\n \t");
  if (end == std::string::npos) return "";
  auto begin = text.rfind('\n', end);
  return text.substr(begin == std::string::npos ? 0 : begin + 1, end - (begin == std::string::npos ? 0 : begin + 1) + 1);
}

}  // namespace

double retryDelay(int attempts) {
  const double delay = 5.0 * std::pow(2.0, std::max(0, attempts - 1));
  return std::min(delay, 300.0);
}

QueueDaemon::QueueDaemon(Settings settings, Poco::Logger& logger, Waker& waker) : log_(logger), waker_(waker) {
  applySettings(std::move(settings));
  host_ = Poco::Environment::nodeName();
}

QueueDaemon::~QueueDaemon() = default;

void QueueDaemon::applySettings(Settings settings) {
  settings_ = std::move(settings);
  policy_.concurrency = settings_.queue.concurrency;
  policy_.exclusiveTypes = settings_.queue.exclusive;
  // hosting-task runs as the user the daemon runs as (aegir), with that user's HOME and a PATH
  // that finds drush and php; nothing else of the daemon's environment leaks into tasks.
  const passwd* user = getpwuid(geteuid());
  const std::string home = Poco::Environment::get("HOME", user ? user->pw_dir : "/");
  const std::string path = Poco::Environment::get("PATH", "/usr/local/bin:/usr/bin:/bin");
  childEnvironment_ = {{"HOME", home}, {"USER", user ? user->pw_name : Poco::Environment::get("USER", "")}, {"PATH", path}};
  drushPath_ = process::findExecutable(settings_.queue.drush, path);
}

void QueueDaemon::requestReload() {
  reload_.store(true);
  waker_.wake();
}

// Running tasks keep the timeout they started with; everything else takes the new values at once.
void QueueDaemon::reload() {
  if (!reloader_) return;
  try {
    Settings fresh = reloader_();
    const auto& a = fresh.database;
    const auto& b = settings_.database;
    const bool otherDatabase = a.host != b.host || a.port != b.port || a.socket != b.socket || a.db != b.db ||
                               a.user != b.user || a.passwd != b.passwd || a.prefix != b.prefix;
    applySettings(std::move(fresh));
    if (otherDatabase) {
      // The next turn connects with the new settings and registers there as a new worker.
      db_.reset();
      reconnectAt_ = 0;
      workerId_ = 0;
      scan_ = ScanWindow();
    }
    log_.notice(Poco::format("configuration reloaded from %s: concurrency %d, poll every %s, timeout %d s%s",
                             settings_.file, settings_.queue.concurrency, seconds(settings_.queue.pollInterval),
                             settings_.queue.timeout,
                             std::string(otherDatabase ? ", reconnecting to the database" : "")));
  } catch (const ConfigError& error) {
    log_.error(std::string("configuration not reloaded, the running one stays: ") + error.what());
  }
}

void QueueDaemon::requestStop() {
  stop_.store(true);
  waker_.wake();
}

std::vector<std::string> QueueDaemon::commandFor(std::int64_t nid) const {
  return {settings_.queue.alias, "hosting-task", std::to_string(nid), "--strict=0", "--force"};
}

int QueueDaemon::run() {
  log_.information(Poco::format("skynet %s queued: concurrency %d, poll every %s, %s %s, timeout %d s, shutdown %s",
                                std::string(kVersion), settings_.queue.concurrency, seconds(settings_.queue.pollInterval),
                                drushPath_.empty() ? settings_.queue.drush : drushPath_, settings_.queue.alias,
                                settings_.queue.timeout,
                                std::string(settings_.queue.shutdown == ShutdownMode::Adopt   ? "adopt"
                                            : settings_.queue.shutdown == ShutdownMode::Drain ? "drain"
                                                                                              : "kill")));
  double stoppedAt = 0;
  for (;;) {
    double now = unixTime();
    if (reload_.exchange(false) || Signals::takeReload()) reload();
    if ((stop_.load() || Signals::stopRequested()) && !stopping_) {
      beginShutdown(now);
      stoppedAt = now;
    }
    reap(now);
    enforceTimeouts(now);
    if (connected()) {
      try {
        flushPending();
        if (!stopping_) {
          if (now - lastHeartbeat_ >= kHeartbeatEvery) {
            runs::RunStore(*db_).heartbeat(workerId_, now);
            lastHeartbeat_ = now;
          }
          dispatch(now);
        }
      } catch (const db::Error& error) {
        onDatabaseError(error);
      }
    }
    if (stopping_) {
      const bool tasksDone = settings_.queue.shutdown == ShutdownMode::Adopt || active_.empty();
      const bool written = pending_.empty() || unixTime() - stoppedAt > kShutdownFlushLimit;
      if (tasksDone && written) break;
    }
    waker_.wait(nextWake(unixTime()));
  }
  if (!pending_.empty()) {
    log_.error(Poco::format("stopping with %z outcome(s) unwritten: the database is unreachable; "
                            "those tasks stay in processing until Skynet runs again",
                            pending_.size()));
  }
  if (db_ && workerId_) {
    try {
      runs::RunStore(*db_).stopWorker(workerId_, unixTime());
    } catch (const db::Error& error) {
      log_.warning(std::string("could not mark this worker stopped: ") + error.what());
    }
  }
  if (!active_.empty()) {
    log_.information(Poco::format("stopped; %z task(s) left running for the next start", active_.size()));
  } else {
    log_.information("stopped");
  }
  return 0;
}

bool QueueDaemon::connected() {
  if (db_) return true;
  const double now = unixTime();
  if (now < reconnectAt_) return false;
  try {
    auto connection = std::make_unique<db::Connection>(settings_.database.connectionParams());
    if (workerId_ == 0) {
      aegir::TaskQueue tasks(*connection);
      const auto missing = tasks.missingTables();
      if (!missing.empty()) {
        throw db::Error("database '" + settings_.database.db + "' is not a hostmaster database: table " +
                            missing.front() + " is missing",
                        0);
      }
      tasks.ensureIndexes();
      if (tasks.cronQueueEnabled().value_or(true)) {
        log_.warning("Aegir's cron queue runner is on (hosting_queue_tasks_enabled) and may start tasks too; "
                     "switch it off: drush @hostmaster vset hosting_queue_tasks_enabled 0");
      }
      runs::migrate(*connection);
      workerId_ = runs::RunStore(*connection).registerWorker(host_, getpid(), kVersion, now);
      lastHeartbeat_ = now;
      log_.information(Poco::format("connected to database '%s'; worker %?d on %s", settings_.database.db,
                                    workerId_, host_));
    } else if (databaseDown_) {
      log_.information("database is reachable again; writing what waited");
    }
    db_ = std::move(connection);
    databaseDown_ = false;
    reconnectDelay_ = 1;
    return true;
  } catch (const db::Error& error) {
    onDatabaseError(error);
    return false;
  }
}

void QueueDaemon::onDatabaseError(const db::Error& error) {
  db_.reset();
  const std::string watching =
      active_.empty() ? "" : Poco::format("; still watching %z running task(s)", active_.size());
  if (!databaseDown_) {
    log_.error(std::string(error.what()) + "; retrying with backoff" + watching);
  } else {
    log_.debug(std::string("database still unavailable: ") + error.what());
  }
  databaseDown_ = true;
  reconnectAt_ = unixTime() + reconnectDelay_;
  reconnectDelay_ = std::min(reconnectDelay_ * 2, kMaxReconnectDelay);
}

void QueueDaemon::flushPending() {
  while (!pending_.empty()) {
    pending_.front()();  // throws db::Error and stays queued when the database is gone
    pending_.pop_front();
  }
}

void QueueDaemon::dispatch(double now) {
  if (static_cast<int>(active_.size()) >= settings_.queue.concurrency) return;
  aegir::TaskQueue tasks(*db_);
  const auto paused = tasks.paused();
  if (!paused) log_.warning("variable hosting_skynet_paused holds a value that is not a serialized scalar; ignoring it");
  const bool isPaused = paused.value_or(false);
  if (!lastPaused_ || *lastPaused_ != isPaused) {
    if (isPaused) log_.notice("queue paused (hosting_skynet_paused): no new tasks are claimed");
    else if (lastPaused_) log_.notice("queue resumed");
    lastPaused_ = isPaused;
  }
  if (isPaused) return;

  scheduler::QueueView view;
  const std::int64_t maxVid = tasks.maxVid();  // before the poll: a vid it misses is above it
  const std::int64_t from = scan_.from(now);
  view.queued = tasks.queued(kCandidateLimit, from);
  std::vector<std::int64_t> found, own;
  for (const auto& task : view.queued) found.push_back(task.vid);
  for (const auto& active : active_) own.push_back(active.task.vid);
  for (const auto& entry : retries_) own.push_back(entry.second.vid);
  scan_.update(now, from, view.queued.size() < kCandidateLimit, found, maxVid, own);
  view.busySites = tasks.processingSites(static_cast<std::int64_t>(now));
  view.now = now;
  for (const auto& active : active_) {
    view.running.push_back({active.task.nid, active.task.rid, policy_.isExclusive(active.task)});
  }
  for (const auto& [nid, retry] : retries_) view.retryAfter[nid] = retry.after;
  if (view.queued.size() < kCandidateLimit) {
    // Forget backoffs of tasks no longer queued (cancelled, deleted, run by someone else).
    for (auto it = retries_.begin(); it != retries_.end();) {
      const bool stillQueued = std::any_of(view.queued.begin(), view.queued.end(),
                                           [&](const aegir::QueuedTask& t) { return t.nid == it->first; });
      it = stillQueued ? std::next(it) : retries_.erase(it);
    }
  }
  for (const auto& task : policy_.select(view)) start(task, now);
}

void QueueDaemon::start(const aegir::QueuedTask& task, double now) {
  aegir::TaskQueue tasks(*db_);
  runs::RunStore store(*db_);
  if (!tasks.claim(task, static_cast<std::int64_t>(now))) {
    log_.debug(describe(task) + " was taken by another runner");
    return;
  }
  const int attempts = retries_.count(task.nid) ? retries_[task.nid].attempts + 1 : 1;
  ActiveTask active;
  active.task = task;
  active.attempts = attempts;
  active.started = now;
  active.timeoutSeconds = settings_.queue.timeoutFor(task.type);
  active.deadline = active.timeoutSeconds > 0 ? now + active.timeoutSeconds : 0;

  process::LaunchSpec spec;
  spec.executable = drushPath_.empty() ? settings_.queue.drush : drushPath_;
  spec.arguments = commandFor(task.nid);
  spec.environment = childEnvironment_;
  std::string command = spec.executable;
  for (const auto& argument : spec.arguments) command += " " + argument;

  runs::TaskRunStart record{task.nid, task.vid, task.rid, task.type, command, workerId_, host_, attempts, now};
  try {
    active.runId = store.startTaskRun(record);
  } catch (const db::Error&) {
    const std::int64_t vid = task.vid;
    pending_.push_back([this, vid] { aegir::TaskQueue(*db_).release(vid); });
    throw;
  }
  active.outputFile = settings_.log.taskOutput + "/task-" + std::to_string(task.nid) + "-run-" +
                      std::to_string(active.runId) + ".log";
  spec.outputFile = active.outputFile;
  try {
    Poco::File(settings_.log.taskOutput).createDirectories();
    active.child = process::ChildProcess::launch(spec);
  } catch (const std::exception& error) {
    // Nothing ran: give the task back and try again later.
    tasks.release(task.vid);
    const double delay = retryDelay(attempts);
    retries_[task.nid] = {attempts, now + delay, task.vid};
    const std::string message = std::string(error.what()) + "; queued again, next try in " + seconds(delay);
    log_.error(describe(task) + ": " + message);
    store.finishRun(active.runId, {runs::state::kDeferred, std::nullopt, std::nullopt, now, message, ""});
    return;
  }
  const std::int64_t runId = active.runId, pid = active.child->pid();
  const std::string outputFile = active.outputFile;
  log_.information(Poco::format("%s started: run %?d, pid %?d, attempt %d", describe(task),
                                runId, pid, attempts));
  active_.push_back(std::move(active));
  pending_.push_back([this, runId, pid, outputFile] { runs::RunStore(*db_).setProcess(runId, pid, outputFile); });
  flushPending();
}

void QueueDaemon::reap(double now) {
  for (auto it = active_.begin(); it != active_.end();) {
    const auto status = it->child->poll();
    if (!status) {
      ++it;
      continue;
    }
    auto finished = std::make_shared<ActiveTask>(std::move(*it));
    it = active_.erase(it);
    const process::ExitStatus exit = *status;
    pending_.push_back([this, finished, exit, now] { recordOutcome(*finished, exit, now); });
  }
}

void QueueDaemon::enforceTimeouts(double now) {
  for (auto& active : active_) {
    if (active.killAt == 0 && active.deadline > 0 && now >= active.deadline) {
      active.timedOut = true;
      active.killAt = now + settings_.queue.killGrace;
      log_.warning(Poco::format("%s timed out after %d s: sending SIGTERM to its process group (pid %d), "
                                "SIGKILL in %d s",
                                describe(active.task), active.timeoutSeconds, static_cast<int>(active.child->pid()),
                                settings_.queue.killGrace));
      active.child->signalGroup(SIGTERM);
    } else if (active.killAt > 0 && now >= active.killAt) {
      log_.warning(describe(active.task) + " did not stop after SIGTERM: sending SIGKILL");
      active.child->signalGroup(SIGKILL);
      active.killAt = std::numeric_limits<double>::infinity();
    }
  }
}

void QueueDaemon::recordOutcome(const ActiveTask& active, const process::ExitStatus& exit, double now) {
  aegir::TaskQueue tasks(*db_);
  const aegir::QueuedTask& task = active.task;
  const auto current = tasks.state(task.nid);
  const std::string tail = logTail(active.outputFile);
  const double duration = now - active.started;
  runs::RunEnd end;
  end.stopped = now;
  end.logTail = tail;
  if (exit.signal) end.signal = exit.signal;
  else end.exitCode = exit.exitCode;
  bool taken = true;

  auto byStatus = [](int status) {
    return status == aegir::kSuccess ? runs::state::kSucceeded
           : status == aegir::kWarning ? runs::state::kWarning
                                       : runs::state::kFailed;
  };
  if (!current.exists) {
    end.state = runs::state::kLost;
    end.message = "the task node no longer exists";
  } else if (current.currentVid == task.vid) {
    if (current.status == aegir::kProcessing && tasks.release(task.vid)) {
      // hosting-task never took it: load too high, bootstrap failure, a refused task.
      taken = false;
      const double delay = retryDelay(active.attempts);
      retries_[task.nid] = {active.attempts, now + delay, task.vid};
      const std::string reason = lastLine(tail);
      end.state = runs::state::kDeferred;
      end.message = "hosting-task ended with " + exit.describe() + " without taking the task" +
                    (reason.empty() ? "" : " (" + reason + ")") + "; queued again, next try in " + seconds(delay);
    } else {
      end.state = current.status == aegir::kQueued ? runs::state::kDeferred : byStatus(current.status);
      end.message = "the task was changed by someone else while hosting-task ran";
    }
  } else if (current.status == aegir::kProcessing) {
    // It took the task on a new revision and died before finalizing it.
    std::string code = "SKYNET_TASK_DIED";
    std::string why = "hosting-task ended with " + exit.describe() + " before finishing the task";
    end.state = runs::state::kFailed;
    if (active.timedOut) {
      code = "SKYNET_TASK_TIMEOUT";
      why = Poco::format("the task ran longer than its timeout of %d s and was killed (%s)", active.timeoutSeconds,
                         exit.describe());
      end.state = runs::state::kTimedOut;
    } else if (active.killedAtShutdown) {
      code = "SKYNET_TASK_KILLED";
      why = "the task was killed when Skynet stopped (queue.shutdown = kill; " + exit.describe() + ")";
    }
    const auto status = tasks.finalizeAbandoned(task.nid, current.currentVid, code, "Skynet: " + why + ".",
                                                static_cast<std::int64_t>(now));
    if (status && *status != aegir::kError) end.state = byStatus(*status);
    end.message = why;
  } else if (current.status == aegir::kQueued) {
    end.state = runs::state::kDeferred;
    end.message = "the task was queued again while hosting-task ran";
  } else {
    end.state = byStatus(current.status);
    if (!exit.succeeded() && current.status != aegir::kError) end.message = "hosting-task ended with " + exit.describe();
  }
  if (taken) retries_.erase(task.nid);
  runs::RunStore(*db_).finishRun(active.runId, end);

  const std::string line = Poco::format("%s finished: %s in %s (run %?d, %s)%s", describe(task), end.state,
                                        seconds(duration), active.runId, exit.describe(),
                                        end.message.empty() ? std::string() : ": " + end.message);
  if (end.state == runs::state::kSucceeded) log_.information(line);
  else if (end.state == runs::state::kWarning || end.state == runs::state::kDeferred) log_.warning(line);
  else log_.error(line);
}

void QueueDaemon::beginShutdown(double now) {
  stopping_ = true;
  const int signal = Signals::stopSignal();
  const std::string why = signal ? Poco::format("signal %d", signal) : std::string("request");
  switch (settings_.queue.shutdown) {
    case ShutdownMode::Adopt:
      log_.information(Poco::format("stopping on %s: claiming no more tasks; %z running task(s) go on", why,
                                    active_.size()));
      break;
    case ShutdownMode::Drain:
      log_.information(Poco::format("stopping on %s: claiming no more tasks, waiting for %z running task(s)", why,
                                    active_.size()));
      break;
    case ShutdownMode::Kill:
      log_.information(Poco::format("stopping on %s: killing %z running task(s)", why, active_.size()));
      for (auto& active : active_) {
        active.killedAtShutdown = true;
        active.killAt = now + settings_.queue.killGrace;
        active.child->signalGroup(SIGTERM);
      }
      break;
  }
}

double QueueDaemon::nextWake(double now) const {
  double wake = now + settings_.queue.pollInterval;
  for (const auto& active : active_) {
    if (active.killAt == 0 && active.deadline > 0) wake = std::min(wake, active.deadline);
    if (active.killAt > 0) wake = std::min(wake, active.killAt);
  }
  for (const auto& entry : retries_) {
    if (entry.second.after > now) wake = std::min(wake, entry.second.after);
  }
  if (!db_) wake = std::max(std::min(wake, reconnectAt_), now);
  return std::max(wake - now, 0.0);
}

std::string QueueDaemon::logTail(const std::string& file) const {
  std::ifstream in(file, std::ios::binary | std::ios::ate);
  if (!in) return "";
  const std::streamoff size = in.tellg();
  const std::size_t limit = std::min<std::size_t>(kLogTailLimit, static_cast<std::size_t>(settings_.api.maxLogBytes));
  const std::streamoff from = std::max<std::streamoff>(0, size - static_cast<std::streamoff>(limit));
  in.seekg(from);
  std::string tail(static_cast<std::size_t>(size - from), '\0');
  in.read(tail.data(), static_cast<std::streamsize>(tail.size()));
  return tail;
}

}  // namespace skynet::daemon
