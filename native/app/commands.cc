#include "app/commands.h"

#include <Poco/Environment.h>
#include <Poco/Format.h>
#include <Poco/Util/Application.h>
#include <linux/close_range.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include <iomanip>
#include <iostream>

#include "aegir/task_queue.h"
#include "daemon/file_watch.h"
#include "daemon/queue_daemon.h"
#include "daemon/waker.h"
#include "process/child_process.h"
#include "runs/run_store.h"
#include "runs/schema.h"
#include "util/clock.h"

namespace skynet::app {

using Poco::Util::Application;

namespace {

constexpr double kWorkerAliveWindow = 30.0;  // heartbeats come every 5 s

std::string age(double seconds) {
  const long s = static_cast<long>(seconds);
  if (s < 120) return std::to_string(s) + " s";
  if (s < 7200) return std::to_string(s / 60) + " min";
  return std::to_string(s / 3600) + " h";
}

}  // namespace

std::string drushProblem(const Settings& settings) {
  const std::string path = Poco::Environment::get("PATH", "");
  if (!process::findExecutable(settings.queue.drush, path).empty()) return "";
  if (settings.queue.drush.find('/') != std::string::npos) {
    return settings.file + ": queue.drush: " + settings.queue.drush + " is not an executable file";
  }
  return settings.file + ": queue.drush: '" + settings.queue.drush + "' is not an executable on the PATH (" + path + ")";
}

// Executes the (new) binary in this process with the arguments it was started with: the running
// tasks stay children of this pid, and the new image adopts them. --daemon is dropped, since the
// process is detached already.
int reexecute(Poco::Logger& logger, std::ostream& err) {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::vector<std::string> arguments;
  std::string argument;
  while (std::getline(in, argument, '\0')) {
    if (argument != "--daemon") arguments.push_back(argument);
  }
  const std::string executable = daemon::ownExecutable();
  std::vector<char*> argv;
  for (auto& item : arguments) argv.push_back(item.data());
  argv.push_back(nullptr);
  logger.notice("executing " + executable);
  // Nothing but stdin/stdout/stderr may reach the new image (a database socket, the API's).
  close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
  execv(executable.c_str(), argv.data());
  err << "skynet: cannot execute " << executable << ": " << std::strerror(errno) << "\n";
  return Application::EXIT_SOFTWARE;
}

int runQueued(const Settings& settings, const std::function<Settings()>& reload, Poco::Logger& logger,
              std::ostream& err) {
  // Tasks run as the daemon's user, and provision refuses to run as root (PROVISION_IS_ROOT).
  if (geteuid() == 0) {
    err << "skynet: refusing to run as root; run it as the aegir user (supervisor: user=aegir)\n";
    return Application::EXIT_NOPERM;
  }
  if (const auto problem = drushProblem(settings); !problem.empty()) {
    err << "skynet: " << problem << "\n";
    return Application::EXIT_CONFIG;
  }
  // The ServerApplication's waitForTerminationRequest() would block the loop; the daemon polls
  // and waits on its own waker instead, which the signal handlers wake.
  daemon::Waker waker;
  daemon::Signals::install(waker);
  int code = 0;
  {
    daemon::QueueDaemon queue(settings, logger, waker);
    queue.setReloader(reload);
    queue.watchBinary(daemon::ownExecutable());
    code = queue.run();
  }
  if (code == daemon::QueueDaemon::kExitReexec) return reexecute(logger, err);
  return code;
}

int runCheck(const Settings& settings, std::ostream& out, std::ostream& err) {
  out << "configuration " << settings.file << ": ok\n";
  if (const auto problem = drushProblem(settings); !problem.empty()) {
    err << "skynet: " << problem << "\n";
    return Application::EXIT_CONFIG;
  }
  out << "drush: " << process::findExecutable(settings.queue.drush, Poco::Environment::get("PATH", "")) << " "
      << settings.queue.alias << "\n";
  try {
    db::Connection connection(settings.database.connectionParams());
    out << "database '" << settings.database.db << "' as '" << settings.database.user << "': connected\n";
    aegir::TaskQueue tasks(connection);
    const auto missing = tasks.missingTables();
    if (!missing.empty()) {
      err << "skynet: database '" << settings.database.db << "' is not a hostmaster database: missing table";
      for (const auto& table : missing) err << " " << table;
      err << "\n";
      return Application::EXIT_UNAVAILABLE;
    }
    out << "Aegir tables: ok\n";
    const int version = runs::schemaVersion(connection);
    if (version == 0) {
      out << "Skynet tables: not created yet; `skynet queued` creates them\n";
    } else if (version < runs::kSchemaVersion) {
      out << "Skynet tables: version " << version << "; `skynet queued` migrates them to " << runs::kSchemaVersion
          << "\n";
    } else if (version > runs::kSchemaVersion) {
      err << "skynet: Skynet's tables are at version " << version << ", newer than this binary ("
          << runs::kSchemaVersion << ")\n";
      return Application::EXIT_CONFIG;
    } else {
      out << "Skynet tables: version " << version << ", ok\n";
    }
    out << "queued tasks: " << tasks.queueDepth() << "\n";
    const auto paused = tasks.paused();
    out << "paused: " << (paused ? (*paused ? "yes" : "no") : "unreadable value in hosting_skynet_paused") << "\n";
  } catch (const db::Error& error) {
    err << "skynet: " << error.what() << "\n";
    return Application::EXIT_UNAVAILABLE;
  }
  out << "ok\n";
  return Application::EXIT_OK;
}

int runStatus(const Settings& settings, std::ostream& out, std::ostream& err) {
  try {
    db::Connection connection(settings.database.connectionParams());
    aegir::TaskQueue tasks(connection);
    const double t = unixTime();
    const auto paused = tasks.paused();
    out << "queue: " << tasks.queueDepth() << " queued" << (paused.value_or(false) ? ", paused" : "") << "\n";
    if (runs::schemaVersion(connection) == 0) {
      out << "no runs recorded yet: Skynet's tables are created by the first `skynet queued`\n";
      return Application::EXIT_OK;
    }
    runs::RunStore store(connection);
    const auto workers = store.liveWorkers(t - kWorkerAliveWindow);
    out << "workers: " << workers.size() << " alive\n";
    for (const auto& worker : workers) {
      out << "  worker " << worker.id << " on " << worker.host << ", pid " << worker.pid << ", skynet "
          << worker.version << ", up " << age(t - worker.started) << ", last heartbeat "
          << age(t - worker.heartbeat) << " ago\n";
    }
    const auto running = store.runningRuns();
    out << "running: " << running.size() << "\n";
    for (const auto& run : running) {
      out << "  task " << run.nid << " (" << run.type << ", rid " << run.rid << ") run " << run.id << ", pid "
          << run.pid << ", for " << age(t - run.started) << "\n";
    }
    const auto recent = store.recentRuns(10);
    out << "recent:\n";
    for (const auto& run : recent) {
      out << "  task " << run.nid << " (" << run.type << ", rid " << run.rid << ") run " << run.id << ": "
          << run.state << " in " << Poco::format("%.1f s", run.stopped - run.started) << ", " << age(t - run.stopped)
          << " ago" << (run.message.empty() ? "" : " — " + run.message) << "\n";
    }
  } catch (const db::Error& error) {
    err << "skynet: " << error.what() << "\n";
    return Application::EXIT_UNAVAILABLE;
  }
  return Application::EXIT_OK;
}

}  // namespace skynet::app
