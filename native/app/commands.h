// The sub-commands besides `queued`. Each prints to `out`/`err` and returns an exit code.
#pragma once

#include <Poco/Logger.h>

#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "config/settings.h"

namespace skynet::app {

// What `queued` verifies before it starts (and, for --daemon, before it detaches): not root,
// drush found, log.task_output writable or creatable. Prints one line to `err` and returns the
// exit code (77, 78) of the first problem; 0 when there is none.
int checkQueuedCanStart(const Settings& settings, std::ostream& err);
// Runs checkQueuedCanStart(), then the queue daemon until SIGTERM/SIGINT; SIGHUP re-reads the
// configuration with `reload`.
int runQueued(const Settings& settings, const std::function<Settings()>& reload, Poco::Logger& logger,
              std::ostream& err);
// Validates the configuration, the folders Skynet writes (log.task_output, runs.workdir), the
// database and the account's privileges for `queued`, without starting the loop.
int runCheck(const Settings& settings, std::ostream& out, std::ostream& err);
// The queue and the runs, read from the database (works while the daemon runs).
int runStatus(const Settings& settings, std::ostream& out, std::ostream& err);

// "queue.drush: 'drush' is not an executable on the PATH (...)", or empty when drush is found.
std::string drushProblem(const Settings& settings);
// The command line a re-executed daemon gets: `original` (argv[0] first) without --daemon (the
// process is detached already), the configuration file option (-c X, -cX, --config_file=X,
// --config_file X, or an abbreviation Poco accepts) given as --config_file=`configFile`, which is
// absolute: after detaching the process runs in /, where a relative path means something else.
std::vector<std::string> reexecArguments(const std::vector<std::string>& original, const std::string& configFile);
// "<file>: log.task_output: /var/x cannot be created: /var is not writable (Permission denied)",
// or empty when `folder` is a writable folder or can be created (its nearest existing ancestor is
// a writable folder). `key` names the setting.
std::string folderProblem(const Settings& settings, const std::string& key, const std::string& folder);

}  // namespace skynet::app
