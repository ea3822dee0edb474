#include "app/commands.h"

#include <Poco/Environment.h>
#include <Poco/File.h>
#include <Poco/Format.h>
#include <Poco/Util/Application.h>
#include <linux/close_range.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iomanip>
#include <iostream>

#include "aegir/task_queue.h"
#include "api/server.h"
#include "metrics/metrics.h"
#include "app/privileges.h"
#include "daemon/file_watch.h"
#include "daemon/queue_daemon.h"
#include "daemon/waker.h"
#include "process/child_process.h"
#include "runs/run_store.h"
#include "runs/schema.h"
#include "util/clock.h"
#include "util/paths.h"

namespace skynet::app {

using Poco::Util::Application;

namespace {

std::string age(double seconds) {
  const long s = static_cast<long>(seconds);
  if (s < 120) return std::to_string(s) + " s";
  if (s < 7200) return std::to_string(s / 60) + " min";
  return std::to_string(s / 3600) + " h";
}

// Prints the privileges line of `check`; a missing privilege is one line on `err` and exit 69.
int reportPrivileges(db::Connection& connection, const Settings& settings, std::ostream& out, std::ostream& err) {
  const Grants grants = Grants::read(connection);
  const auto missing = firstMissing(grants, settings.database.db, requiredPrivileges(inspectSchema(connection)));
  if (!missing) {
    out << "privileges of " << grants.account() << ": ok\n";
    return Application::EXIT_OK;
  }
  if (!grants.enabledRoles().empty()) {
    // Privileges of a role are not in information_schema for the account: say what is unknown.
    std::string roles;
    for (const auto& role : grants.enabledRoles()) roles += (roles.empty() ? "" : ", ") + role;
    out << "privileges of " << grants.account() << ": not verified: " << describe(*missing, settings.database.db)
        << " is not among the account's own grants; it may come from its role(s) " << roles << "\n";
    return Application::EXIT_OK;
  }
  err << "skynet: database user " << grants.account() << " lacks " << describe(*missing, settings.database.db)
      << "\n";
  return Application::EXIT_UNAVAILABLE;
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

std::vector<std::string> reexecArguments(const std::vector<std::string>& original, const std::string& configFile) {
  static const std::string kLongName = "config_file";
  std::vector<std::string> arguments;
  bool valueFollows = false;  // the argument before was the option without its value
  for (std::size_t i = 0; i < original.size(); ++i) {
    const std::string& argument = original[i];
    if (valueFollows) {
      valueFollows = false;
      continue;
    }
    if (i > 0 && argument == "--daemon") continue;
    if (i > 0 && argument.rfind("-c", 0) == 0 && argument.rfind("--", 0) != 0) {
      valueFollows = argument == "-c";
      continue;
    }
    if (i > 0 && argument.rfind("--", 0) == 0) {
      const std::string name = argument.substr(2, argument.find_first_of("=:") - 2);
      if (!name.empty() && kLongName.compare(0, name.size(), name) == 0) {
        valueFollows = name.size() + 2 == argument.size();
        continue;
      }
    }
    arguments.push_back(argument);
  }
  arguments.insert(arguments.begin() + (arguments.empty() ? 0 : 1), "--config_file=" + configFile);
  return arguments;
}

// Executes the (new) binary in this process with the arguments it was started with: the running
// tasks stay children of this pid, and the new image adopts them (see reexecArguments()).
int reexecute(const std::string& configFile, Poco::Logger& logger, std::ostream& err) {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::vector<std::string> original;
  std::string argument;
  while (std::getline(in, argument, '\0')) original.push_back(argument);
  std::vector<std::string> arguments = reexecArguments(original, configFile);
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

std::string folderProblem(const Settings& settings, const std::string& key, const std::string& folder) {
  const std::string where = settings.file + ": " + key + ": " + folder;
  // The folder itself, or else the nearest ancestor that exists, which decides whether the
  // daemon can create it.
  std::string existing = folder;
  struct stat info {};
  while (stat(existing.c_str(), &info) != 0) {
    if (errno != ENOENT || existing == "/" || existing == ".") return where + ": " + std::strerror(errno);
    existing = parentFolder(existing);
  }
  const std::string subject = existing == folder ? where : where + " cannot be created: " + existing;
  if (!S_ISDIR(info.st_mode)) return subject + " is not a folder";
  if (access(existing.c_str(), W_OK | X_OK) != 0) return subject + " is not writable (" + std::strerror(errno) + ")";
  return "";
}

int checkQueuedCanStart(const Settings& settings, std::ostream& err) {
  // Tasks run as the daemon's user, and provision refuses to run as root (PROVISION_IS_ROOT).
  if (geteuid() == 0) {
    err << "skynet: refusing to run as root; run it as the aegir user (supervisor: user=aegir)\n";
    return Application::EXIT_NOPERM;
  }
  if (const auto problem = drushProblem(settings); !problem.empty()) {
    err << "skynet: " << problem << "\n";
    return Application::EXIT_CONFIG;
  }
  if (const auto problem = folderProblem(settings, "log.task_output", settings.log.taskOutput); !problem.empty()) {
    err << "skynet: " << problem << "\n";
    return Application::EXIT_CONFIG;
  }
  return Application::EXIT_OK;
}

int runQueued(const Settings& settings, const std::function<Settings()>& reload, Poco::Logger& logger,
              std::ostream& err) {
  if (const int code = checkQueuedCanStart(settings, err); code != Application::EXIT_OK) return code;
  // The ServerApplication's waitForTerminationRequest() would block the loop; the daemon polls
  // and waits on its own waker instead, which the signal handlers wake.
  daemon::Waker waker;
  daemon::Signals::install(waker);
  int code = 0;
  {
    metrics::Registry metrics;
    daemon::QueueDaemon queue(settings, logger, waker, &metrics);
    queue.setReloader(reload);
    queue.watchBinary(daemon::ownExecutable());
    // The API runs beside the queue: a port already taken is logged, and the queue runs anyway.
    std::unique_ptr<api::ApiServer> server;
    Settings serving;
    auto serve = [&](const Settings& wanted) {
      const auto& a = wanted.api;
      const auto& b = serving.api;
      if (server && a.listen == b.listen && a.adminKey == b.adminKey && a.maxLogBytes == b.maxLogBytes &&
          wanted.runs.timezone == serving.runs.timezone && wanted.runs.timeout == serving.runs.timeout &&
          wanted.runs.workdir == serving.runs.workdir) {
        return;
      }
      if (server) server->stop();
      server.reset();
      serving = wanted;
      if (wanted.api.listen.empty()) return;
      try {
        server = std::make_unique<api::ApiServer>(wanted, queue, metrics, logger);
        server->start();
        const std::string host = wanted.api.listen.substr(0, wanted.api.listen.rfind(':'));
        queue.setApiUrl("http://" + host + ":" + std::to_string(server->port()));
      } catch (const std::exception& error) {
        logger.error(std::string(error.what()) + "; the queue runs without the HTTP API");
        server.reset();
      }
    };
    serve(settings);
    queue.setOnReload(serve);
    code = queue.run();
    if (server) server->stop();  // before a re-exec: the new image binds the port again
  }
  if (code == daemon::QueueDaemon::kExitReexec) return reexecute(settings.file, logger, err);
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
  for (const auto& [key, folder] : {std::pair{"log.task_output", settings.log.taskOutput},
                                    std::pair{"runs.workdir", settings.runs.workdir}}) {
    if (const auto problem = folderProblem(settings, key, folder); !problem.empty()) {
      err << "skynet: " << problem << "\n";
      return Application::EXIT_CONFIG;
    }
    out << key << " " << folder << ": " << (Poco::File(folder).exists() ? "writable" : "can be created") << "\n";
  }
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
    if (const int code = reportPrivileges(connection, settings, out, err); code != Application::EXIT_OK) return code;
    const auto queuedModule = tasks.queuedModuleEnabled();
    if (queuedModule.value_or(false)) {
      out << "hosting_queued: enabled; warning: Aegir's queue daemon takes tasks too, disable it\n";
    }
    if (tasks.cronQueueEnabled().value_or(false)) {
      out << "hosting_queue_tasks_enabled: on; warning: Aegir's cron runner takes tasks too, set it to 0\n";
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
    const auto running = store.runningRuns();
    auto describeRun = [&](const runs::RunRecord& run) {
      std::string what = run.kind == "task" ? "task " + std::to_string(run.nid) + " (" + run.type + ", rid " +
                                                  std::to_string(run.rid) + ")"
                                            : "job";
      what += " run " + std::to_string(run.id) + ", pid " + std::to_string(run.pid) + ", for " + age(t - run.started);
      if (run.message.rfind("adopted from worker", 0) == 0) what += ", " + run.message;
      return what;
    };
    auto runsOf = [&](std::int64_t workerId) {
      std::vector<runs::RunRecord> of;
      for (const auto& run : running) {
        if (run.workerId == workerId) of.push_back(run);
      }
      return of;
    };
    const auto workers = store.workers();
    std::vector<runs::WorkerRecord> alive, gone;
    for (const auto& worker : workers) {
      (!worker.stopped && t - worker.heartbeat <= runs::kWorkerAliveWindow ? alive : gone).push_back(worker);
    }
    out << "workers: " << alive.size() << " alive\n";
    for (const auto& worker : alive) {
      const auto own = runsOf(worker.id);
      out << "  worker " << worker.id << " on " << worker.host << ", pid " << worker.pid << ", skynet "
          << worker.version << ", up " << age(t - worker.started) << ", last heartbeat "
          << age(t - worker.heartbeat) << " ago, " << own.size() << " running\n";
      for (const auto& run : own) out << "    " << describeRun(run) << "\n";
    }
    // Runs whose worker is gone: adopted by the next start on that host, or marked lost after
    // queue.lost_after when the host stays silent.
    for (const auto& worker : gone) {
      const auto own = runsOf(worker.id);
      if (own.empty()) continue;
      out << "waiting: " << own.size() << " run(s) of worker " << worker.id << " on " << worker.host
          << (worker.stopped ? ", stopped" : ", silent") << " for " << age(t - worker.heartbeat)
          << "; a daemon on " << worker.host << " adopts them when it starts; elsewhere they are marked lost after "
          << settings.queue.lostAfter << " s\n";
      for (const auto& run : own) out << "    " << describeRun(run) << "\n";
    }
    out << "running: " << running.size() << "\n";
    for (const auto& run : running) out << "  " << describeRun(run) << "\n";
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
