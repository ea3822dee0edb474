#include "daemon/queue_daemon.h"

#include <Poco/File.h>
#include <Poco/Format.h>
#include <signal.h>

#include <algorithm>
#include <thread>

#include "util/clock.h"
#include "util/paths.h"
#include "version.h"

namespace skynet::daemon {

namespace {
std::string seconds(double value) { return Poco::format("%.1f s", value); }
const char* modeName(ShutdownMode mode) {
  return mode == ShutdownMode::Adopt ? "adopt" : mode == ShutdownMode::Drain ? "drain" : "kill";
}
}  // namespace

QueueDaemon::QueueDaemon(Settings settings, Poco::Logger& logger, Waker& waker, metrics::Registry* metrics)
    : settings_(std::move(settings)),
      log_(logger),
      waker_(waker),
      mailbox_(waker),
      supervisor_(settings_.queue.killGrace, settings_.log.maxOutputBytes, logger),
      dispatcher_(std::make_unique<Dispatcher>(settings_, logger, mailbox_, metrics)),
      configWatch_(settings_.file, kSettleSeconds) {
  folderEvents_.watchFolderOf(settings_.file);
}

QueueDaemon::~QueueDaemon() = default;

void QueueDaemon::requestReload() {
  reload_.store(true);
  waker_.wake();
}

void QueueDaemon::requestStop() {
  stop_.store(true);
  waker_.wake();
}

// Running tasks keep the timeout they started with; everything else takes the new values at once.
void QueueDaemon::reload(const char* why) {
  if (!reloader_) return;
  try {
    Settings fresh = reloader_();
    settings_ = fresh;
    supervisor_.setLimits(settings_.queue.killGrace, settings_.log.maxOutputBytes);
    dispatcher_->updateSettings(settings_);
    if (onReload_) onReload_(settings_);
    log_.notice(Poco::format("configuration reloaded from %s: concurrency %d, poll every %s, timeout %d s (%s)",
                             settings_.file, settings_.queue.concurrency, seconds(settings_.queue.pollInterval),
                             settings_.queue.timeout, std::string(why)));
  } catch (const ConfigError& error) {
    log_.error(std::string("configuration not reloaded, the running one stays: ") + error.what());
  }
}

int QueueDaemon::run() {
  log_.information(Poco::format("skynet %s queued: concurrency %d (jobs %d), poll every %s, %s %s, timeout %d s, "
                                "shutdown %s",
                                std::string(kVersion), settings_.queue.concurrency, settings_.runs.concurrency,
                                seconds(settings_.queue.pollInterval), settings_.queue.drush, settings_.queue.alias,
                                settings_.queue.timeout, std::string(modeName(settings_.queue.shutdown))));
  std::thread database([this] { dispatcher_->run(); });
  double stoppedAt = 0;
  for (;;) {
    const double nowMono = monotonicTime();
    lastTurn_.store(unixTime());
    // The watches stat their files only when that can tell something (their folders changed, a
    // change has settled, or without inotify every kSettleSeconds), not at every turn: a busy
    // daemon turns several times per task.
    bool watchesDue = foldersChanged_ || (!folderEvents_.active() && nowMono >= nextWatchCheckMono_);
    for (const FileWatch* watch : {&configWatch_, &binaryWatch_}) watchesDue = watchesDue || watch->settlesIn(nowMono) == 0;
    if (watchesDue) {
      foldersChanged_ = false;
      nextWatchCheckMono_ = nowMono + kSettleSeconds;
    }
    if (reload_.exchange(false) || Signals::takeReload()) reload("on request");
    else if (watchesDue && configWatch_.changed(nowMono)) reload("the file changed");
    if (watchesDue && !stopping_ && binaryWatch_.changed(nowMono)) {
      log_.notice("a new binary is at " + binaryWatch_.path() + ": handing the running tasks over to it");
      reexec_ = true;
    }
    if ((stop_.load() || Signals::stopRequested() || reexec_) && !stopping_) {
      beginShutdown(nowMono);
      stoppedAt = nowMono;
    }
    if (nowMono >= nextPruneMono_) {
      // A run's file is written to until it ends, so one days old is never in use.
      const int removed = pruneOutputFiles(settings_.log.taskOutput, settings_.log.keepDays, unixTime());
      if (removed > 0) {
        log_.information(Poco::format("removed %d run output file(s) older than %d days from %s", removed,
                                      settings_.log.keepDays, settings_.log.taskOutput));
      }
      nextPruneMono_ = nowMono + kPruneEvery;
    }
    // The turn's events go to the database thread together, once every launch of the turn is
    // done: woken by the first start of a burst, it would take a core from the launches still
    // to come (two cores, eight tasks claimed by one poll).
    std::vector<Event> events;
    for (auto& command : mailbox_.takeCommands()) handle(command, nowMono, events);
    for (auto& ended : supervisor_.tick(nowMono)) events.push_back(Event{std::move(ended)});
    if (log_.information()) {
      for (const auto& event : events) {
        if (const auto* started = std::get_if<Started>(&event)) {
          log_.information(Poco::format("run %?d started: pid %d", started->runId, static_cast<int>(started->identity.pid)));
        }
      }
    }
    mailbox_.post(std::move(events));
    supervisor_.makeSpareOutputFiles();
    if (stopping_) {
      const bool leaveRunning = reexec_ || settings_.queue.shutdown == ShutdownMode::Adopt;
      const bool processesDone = leaveRunning || supervisor_.empty();
      const bool claimsDone = leaveRunning || dispatcher_->activeRuns() == 0;
      const bool written = mailbox_.eventsPending() == 0 || nowMono - stoppedAt > kShutdownFlushLimit;
      if (processesDone && claimsDone && written && !mailbox_.commandsPending()) break;
    }
    // Without inotify the two watches stat their files every kSettleSeconds; with it, only when
    // their folders changed or a change is settling.
    double idle = folderEvents_.active() ? kIdleTurnSeconds : kSettleSeconds;
    for (const FileWatch* watch : {&configWatch_, &binaryWatch_}) {
      const double settles = watch->settlesIn(nowMono);
      if (settles >= 0) idle = std::min(idle, settles);
    }
    waker_.wait(supervisor_.secondsUntilDue(nowMono, idle), folderEvents_.fd());
    if (folderEvents_.drain()) foldersChanged_ = true;
  }
  dispatcher_->finish(stopping_ ? 2.0 : kShutdownFlushLimit);
  database.join();
  if (!supervisor_.empty()) {
    log_.information(Poco::format("stopped; %z run(s) left running for the next start to adopt", supervisor_.size()));
  } else {
    log_.information("stopped");
  }
  return reexec_ ? kExitReexec : 0;
}

void QueueDaemon::handle(Command& command, double nowMono, std::vector<Event>& events) {
  if (auto* launch = std::get_if<Launch>(&command)) {
    if (stopping_) {
      events.push_back(Event{LaunchFailed{launch->runId, "", true}});
      return;
    }
    try {
      Poco::File(parentFolder(launch->spec.outputFile)).createDirectories();
      events.push_back(Event{supervisor_.launch(*launch, nowMono)});
    } catch (const std::exception& error) {
      events.push_back(Event{LaunchFailed{launch->runId, error.what(), false}});
    }
  } else if (auto* adoption = std::get_if<Adoption>(&command)) {
    if (!supervisor_.adopt(*adoption, nowMono)) {
      Ended ended;
      ended.runId = adoption->runId;
      ended.stoppedWall = unixTime();
      ended.timeoutSeconds = adoption->timeoutSeconds;
      ended.outputFile = adoption->outputFile;
      events.push_back(Event{ended});
    }
  } else if (auto* cancel = std::get_if<CancelCommand>(&command)) {
    supervisor_.stop(cancel->runId, EndedBy::Cancel, nowMono);
  }
}

void QueueDaemon::beginShutdown(double nowMono) {
  stopping_ = true;
  dispatcher_->stopClaiming();
  if (reexec_) return;
  const int signal = Signals::stopSignal();
  const std::string why = signal ? Poco::format("signal %d", signal) : std::string("request");
  switch (settings_.queue.shutdown) {
    case ShutdownMode::Adopt:
      log_.information(Poco::format("stopping on %s: claiming no more tasks; %z running task(s) go on and are "
                                    "adopted by the next start",
                                    why, supervisor_.size()));
      break;
    case ShutdownMode::Drain:
      log_.information(Poco::format("stopping on %s: claiming no more tasks, waiting for %z running task(s)", why,
                                    supervisor_.size()));
      break;
    case ShutdownMode::Kill:
      log_.information(Poco::format("stopping on %s: killing %z running task(s)", why, supervisor_.size()));
      supervisor_.stopAll(EndedBy::Shutdown, nowMono);
      break;
  }
}

}  // namespace skynet::daemon
