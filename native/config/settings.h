// Skynet's configuration: the one place that knows every key, its default and its type.
//
// A file is INI (the 2016 Skynet's `[database]` host/db/user/passwd format works unchanged) or
// YAML with the same tree (.yml/.yaml); both are loaded into Poco's configuration, so
// `queue.concurrency` means the same key in either. `--set section.key=value` overrides one key.
// Unknown keys are an error: a typo must not pass silently.
//
// loadSettings() throws ConfigError with the file, the key and what is wrong; it never puts a
// password into a message.
#pragma once

#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "db/connection.h"

namespace skynet {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class ShutdownMode { Adopt, Drain, Kill };

struct DatabaseSettings {
  std::string host;
  unsigned port = 0;
  std::string socket;
  std::string db;
  std::string user;
  std::string passwd;
  std::string prefix;

  db::ConnectionParams connectionParams() const;
};

struct QueueSettings {
  int concurrency = 0;
  double pollInterval = 0;
  std::string drush;
  std::string alias;
  int timeout = 0;    // seconds; 0 = never
  int killGrace = 0;  // seconds between SIGTERM and SIGKILL
  std::set<std::string> exclusive;
  ShutdownMode shutdown = ShutdownMode::Adopt;
  std::map<std::string, int> taskTimeouts;  // task.TYPE.timeout
  int lostAfter = 0;  // seconds of stale heartbeat before another host's runs count as lost

  // The timeout for one task type, in seconds; 0 = never.
  int timeoutFor(const std::string& taskType) const;
};

struct ApiSettings {
  std::string listen;
  std::string adminKey;
  long maxLogBytes = 0;
};

struct RunsSettings {
  std::string workdir;
  int concurrency = 0;
  int timeout = 0;        // seconds a lackey job may run; 0 = never (per application overridable)
  std::string timezone;   // zone in which applications' cron schedules are evaluated
};

struct LogSettings {
  std::string level;
  std::string taskOutput;  // folder of per-run output files
  long maxOutputBytes = 0; // cap of one run's output file (head and tail kept)
  int keepDays = 0;        // output files older than this are pruned
};

struct Settings {
  std::string file;  // where they were read from
  DatabaseSettings database;
  QueueSettings queue;
  ApiSettings api;
  RunsSettings runs;
  LogSettings log;
};

// The default configuration file: ~/config/skynet/skynet.conf.
std::string defaultConfigFile();

// Expands a leading "~/" to the home folder of the user the process runs as.
std::string expandHome(const std::string& path);

// Reads and validates `file`, then applies `overrides` ("section.key=value" each).
Settings loadSettings(const std::string& file, const std::vector<std::string>& overrides = {});

}  // namespace skynet
