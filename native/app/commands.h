// The sub-commands besides `queued`. Each prints to `out`/`err` and returns an exit code.
#pragma once

#include <Poco/Logger.h>

#include <functional>
#include <iosfwd>
#include <string>

#include "config/settings.h"

namespace skynet::app {

// Refuses root, then runs the queue daemon until SIGTERM/SIGINT; SIGHUP re-reads the
// configuration with `reload`.
int runQueued(const Settings& settings, const std::function<Settings()>& reload, Poco::Logger& logger,
              std::ostream& err);
// Validates the configuration and the database without starting the loop.
int runCheck(const Settings& settings, std::ostream& out, std::ostream& err);
// The queue and the runs, read from the database (works while the daemon runs).
int runStatus(const Settings& settings, std::ostream& out, std::ostream& err);

// "queue.drush: 'drush' is not an executable on the PATH (...)", or empty when drush is found.
std::string drushProblem(const Settings& settings);

}  // namespace skynet::app
