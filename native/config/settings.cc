#include "config/settings.h"

#include <Poco/AutoPtr.h>
#include <Poco/Exception.h>
#include <Poco/File.h>
#include <Poco/Path.h>
#include <Poco/String.h>
#include <Poco/Util/IniFileConfiguration.h>
#include <Poco/Util/LayeredConfiguration.h>
#include <Poco/Util/MapConfiguration.h>
#include <pwd.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>

namespace skynet {

namespace {

using Poco::AutoPtr;
using Poco::Util::AbstractConfiguration;

enum class Kind { Text, Required, Secret, Port, Count, Seconds, Interval, Bytes, Words, Level, Shutdown, Listen, TimeZone, Days };

struct KeySpec {
  const char* key;
  const char* defaultValue;
  Kind kind;
};

// Every key Skynet reads, with its default. task.TYPE.timeout is matched separately.
const KeySpec kKeys[] = {
    {"database.host", "localhost", Kind::Text},
    {"database.port", "3306", Kind::Port},
    {"database.socket", "", Kind::Text},
    {"database.db", "", Kind::Required},
    {"database.user", "", Kind::Required},
    {"database.passwd", "", Kind::Secret},
    {"database.prefix", "", Kind::Text},
    {"queue.concurrency", "1", Kind::Count},
    {"queue.poll_interval", "1.0", Kind::Interval},
    {"queue.drush", "drush", Kind::Required},
    {"queue.alias", "@hostmaster", Kind::Required},
    {"queue.timeout", "14400", Kind::Seconds},
    {"queue.kill_grace", "30", Kind::Seconds},
    {"queue.exclusive", "server platform", Kind::Words},
    {"queue.shutdown", "adopt", Kind::Shutdown},
    {"queue.lost_after", "600", Kind::Seconds},
    {"api.listen", "127.0.0.1:8000", Kind::Listen},
    {"api.admin_key", "", Kind::Secret},
    {"api.max_log_bytes", "1048576", Kind::Bytes},
    {"runs.workdir", "~/config/skynet/exchange", Kind::Text},
    {"runs.concurrency", "2", Kind::Count},
    {"runs.timeout", "86400", Kind::Seconds},
    {"runs.timezone", "UTC", Kind::TimeZone},
    {"log.level", "information", Kind::Level},
    {"log.task_output", "~/config/skynet/logs", Kind::Text},
    {"log.max_output_bytes", "16777216", Kind::Bytes},
    {"log.keep_days", "30", Kind::Days},
};

const KeySpec kTaskTimeout = {"task.TYPE.timeout", "", Kind::Seconds};

const KeySpec* findSpec(const std::string& key) {
  for (const auto& spec : kKeys) {
    if (key == spec.key) return &spec;
  }
  // task.<type>.timeout: a task type is a word such as backup or login-reset.
  const std::string prefix = "task.", suffix = ".timeout";
  if (key.size() > prefix.size() + suffix.size() && key.compare(0, prefix.size(), prefix) == 0 &&
      key.compare(key.size() - suffix.size(), suffix.size(), suffix) == 0) {
    const std::string type = key.substr(prefix.size(), key.size() - prefix.size() - suffix.size());
    if (type.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") == std::string::npos) {
      return &kTaskTimeout;
    }
  }
  return nullptr;
}

[[noreturn]] void fail(const std::string& file, const std::string& key, const std::string& what) {
  throw ConfigError(file + ": " + (key.empty() ? "" : key + ": ") + what);
}

bool parseLong(const std::string& text, long& out) {
  if (text.empty()) return false;
  char* end = nullptr;
  errno = 0;
  out = std::strtol(text.c_str(), &end, 10);
  return errno == 0 && *end == '\0';
}

bool parseDouble(const std::string& text, double& out) {
  if (text.empty()) return false;
  char* end = nullptr;
  errno = 0;
  out = std::strtod(text.c_str(), &end);
  return errno == 0 && *end == '\0';
}

bool isZoneFile(const std::string& path) {
  const Poco::File file(path);
  return file.exists() && file.isFile();
}

// Checks one value against its kind; the message names the value except for secrets.
void validate(const std::string& file, const std::string& key, const KeySpec& spec,
              const std::string& value) {
  auto bad = [&](const std::string& expected) {
    fail(file, key, "expected " + expected + ", got \"" + value + "\"");
  };
  long number = 0;
  double real = 0;
  switch (spec.kind) {
    case Kind::Text:
    case Kind::Secret:
      break;
    case Kind::Required:
      if (value.empty()) fail(file, key, "must not be empty");
      break;
    case Kind::Port:
      if (!parseLong(value, number) || number < 1 || number > 65535) bad("a port number from 1 to 65535");
      break;
    case Kind::Count:
      if (!parseLong(value, number) || number < 1 || number > 1024) bad("a whole number from 1 to 1024");
      break;
    case Kind::Seconds:
      if (!parseLong(value, number) || number < 0) bad("a whole number of seconds (0 or more)");
      break;
    case Kind::Bytes:
      if (!parseLong(value, number) || number < 1024) bad("a number of bytes, at least 1024");
      break;
    case Kind::Interval:
      if (!parseDouble(value, real) || !(real >= 0.01) || real > 3600) bad("seconds from 0.01 to 3600");
      break;
    case Kind::Words:
      if (value.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-, ") != std::string::npos) {
        bad("node types separated by spaces");
      }
      break;
    case Kind::Level: {
      static const std::set<std::string> levels = {"fatal",   "critical",    "error", "warning",
                                                    "notice",  "information", "debug", "trace"};
      if (!levels.count(value)) bad("one of fatal, critical, error, warning, notice, information, debug, trace");
      break;
    }
    case Kind::Shutdown:
      if (value != "adopt" && value != "drain" && value != "kill") bad("adopt, drain or kill");
      break;
    case Kind::Days:
      if (!parseLong(value, number) || number < 1 || number > 36500) bad("a whole number of days from 1 to 36500");
      break;
    case Kind::TimeZone: {
      // A zone of the system's tz database (tzdata), as cron schedules are evaluated in it.
      const bool wellFormed = !value.empty() && value[0] != '/' && value.find("..") == std::string::npos &&
                              value.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_+-") ==
                                  std::string::npos;
      if (!wellFormed || (value != "UTC" && !isZoneFile("/usr/share/zoneinfo/" + value))) {
        bad("a time zone of the tz database such as UTC or Europe/Zurich");
      }
      break;
    }
    case Kind::Listen: {
      if (value.empty()) break;
      const auto colon = value.rfind(':');
      // Port 0 asks for any free port (tests); the server reports the one it got.
      if (colon == std::string::npos || colon == 0 || !parseLong(value.substr(colon + 1), number) ||
          number < 0 || number > 65535) {
        bad("host:port such as 127.0.0.1:8000 (port 0: any free port), or empty to disable the API");
      }
      break;
    }
  }
}

// Walks the tree and collects every key that holds a value.
void collectLeaves(const AbstractConfiguration& config, const std::string& base,
                   std::vector<std::string>& out) {
  AbstractConfiguration::Keys children;
  config.keys(base, children);
  if (children.empty()) {
    if (!base.empty()) out.push_back(base);
    return;
  }
  for (const auto& child : children) collectLeaves(config, base.empty() ? child : base + "." + child, out);
}

void flattenYaml(const YAML::Node& node, const std::string& base, Poco::Util::MapConfiguration& out,
                 const std::string& file) {
  if (node.IsMap()) {
    for (const auto& entry : node) {
      const std::string name = entry.first.as<std::string>();
      flattenYaml(entry.second, base.empty() ? name : base + "." + name, out, file);
    }
  } else if (node.IsSequence()) {
    std::string joined;
    for (const auto& item : node) {
      if (!item.IsScalar()) fail(file, base, "a list may hold only plain values");
      joined += (joined.empty() ? "" : " ") + item.as<std::string>();
    }
    out.setString(base, joined);
  } else if (node.IsScalar()) {
    out.setString(base, node.as<std::string>());
  } else if (node.IsNull()) {
    out.setString(base, "");
  }
}

AutoPtr<AbstractConfiguration> readFile(const std::string& file) {
  std::ifstream in(file);
  if (!in) fail(file, "", std::string("cannot read configuration file: ") + std::strerror(errno));
  const std::string extension = Poco::toLower(Poco::Path(file).getExtension());
  if (extension == "yml" || extension == "yaml") {
    AutoPtr<Poco::Util::MapConfiguration> map(new Poco::Util::MapConfiguration);
    try {
      const YAML::Node root = YAML::Load(in);
      if (!root.IsNull() && !root.IsMap()) fail(file, "", "the YAML document must be a mapping of sections");
      flattenYaml(root, "", *map, file);
    } catch (const YAML::Exception& e) {
      fail(file, "", "line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
    }
    return map;
  }
  // INI: reject lines Poco would silently skip, so a typo cannot hide.
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    const std::string trimmed = Poco::trim(line);
    if (trimmed.empty() || trimmed[0] == ';' || trimmed[0] == '#') continue;
    if (trimmed[0] == '[') {
      if (trimmed.back() != ']') fail(file, "", "line " + std::to_string(number) + ": unclosed section header");
      continue;
    }
    if (trimmed.find('=') == std::string::npos) {
      fail(file, "", "line " + std::to_string(number) + ": expected key = value");
    }
  }
  try {
    return new Poco::Util::IniFileConfiguration(file);
  } catch (const Poco::Exception& e) {
    fail(file, "", "cannot read configuration file: " + e.displayText());
  }
}

std::set<std::string> splitWords(const std::string& text) {
  std::set<std::string> words;
  std::string word;
  std::istringstream in(Poco::translate(text, ",", " "));
  while (in >> word) words.insert(word);
  return words;
}

}  // namespace

db::ConnectionParams DatabaseSettings::connectionParams() const {
  db::ConnectionParams params;
  params.host = host;
  params.port = port;
  params.socket = socket;
  params.database = db;
  params.user = user;
  params.password = passwd;
  params.prefix = prefix;
  return params;
}

int QueueSettings::timeoutFor(const std::string& taskType) const {
  auto found = taskTimeouts.find(taskType);
  return found == taskTimeouts.end() ? timeout : found->second;
}

std::string expandHome(const std::string& path) {
  if (path != "~" && path.rfind("~/", 0) != 0) return path;
  std::string home;
  if (const char* env = std::getenv("HOME"); env && *env) {
    home = env;
  } else if (const passwd* entry = getpwuid(getuid())) {
    home = entry->pw_dir;
  }
  return home + path.substr(1);
}

std::string defaultConfigFile() { return expandHome("~/config/skynet/skynet.conf"); }

Settings loadSettings(const std::string& file, const std::vector<std::string>& overrides) {
  AutoPtr<Poco::Util::LayeredConfiguration> config(new Poco::Util::LayeredConfiguration);
  config->add(readFile(file), 0);
  AutoPtr<Poco::Util::MapConfiguration> set(new Poco::Util::MapConfiguration);
  for (const auto& item : overrides) {
    const auto equals = item.find('=');
    if (equals == std::string::npos || equals == 0) {
      throw ConfigError("--set " + item + ": expected section.key=value");
    }
    set->setString(Poco::toLower(Poco::trim(item.substr(0, equals))), Poco::trim(item.substr(equals + 1)));
  }
  config->add(set, -1);  // a lower priority number wins in Poco's layering

  // Keys are compared in lower case: Poco's INI reader ignores case too.
  std::map<std::string, std::string> values;
  std::vector<std::string> leaves;
  collectLeaves(*config, "", leaves);
  for (const auto& leaf : leaves) {
    const std::string key = Poco::toLower(leaf);
    const KeySpec* spec = findSpec(key);
    if (!spec) fail(file, key, "unknown key");
    const std::string value = Poco::trim(config->getRawString(leaf, ""));
    validate(file, key, *spec, value);
    values[key] = value;
  }
  auto get = [&](const std::string& key) -> std::string {
    auto found = values.find(key);
    if (found != values.end()) return found->second;
    const KeySpec* spec = findSpec(key);
    if (spec->kind == Kind::Required && std::string(spec->defaultValue).empty()) {
      fail(file, key, "missing; it is required");
    }
    return spec->defaultValue;
  };
  auto integer = [&](const std::string& key) { return std::stol(get(key)); };

  Settings settings;
  settings.file = file;
  auto& db = settings.database;
  db.host = get("database.host");
  db.port = static_cast<unsigned>(integer("database.port"));
  db.socket = get("database.socket");
  db.db = get("database.db");
  db.user = get("database.user");
  db.passwd = get("database.passwd");
  db.prefix = get("database.prefix");
  if (db.prefix.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos) {
    fail(file, "database.prefix", "may hold only letters, digits and _");
  }

  auto& queue = settings.queue;
  queue.concurrency = static_cast<int>(integer("queue.concurrency"));
  queue.pollInterval = std::stod(get("queue.poll_interval"));
  queue.drush = expandHome(get("queue.drush"));
  queue.alias = get("queue.alias");
  if (queue.alias[0] != '@') fail(file, "queue.alias", "expected a drush alias starting with @, got \"" + queue.alias + "\"");
  queue.timeout = static_cast<int>(integer("queue.timeout"));
  queue.killGrace = static_cast<int>(integer("queue.kill_grace"));
  queue.exclusive = splitWords(get("queue.exclusive"));
  const std::string shutdown = get("queue.shutdown");
  queue.shutdown = shutdown == "drain" ? ShutdownMode::Drain
                   : shutdown == "kill" ? ShutdownMode::Kill
                                        : ShutdownMode::Adopt;
  queue.lostAfter = static_cast<int>(integer("queue.lost_after"));
  for (const auto& [key, value] : values) {
    if (findSpec(key) == &kTaskTimeout) {
      queue.taskTimeouts[key.substr(5, key.size() - 5 - 8)] = static_cast<int>(std::stol(value));
    }
  }

  settings.api.listen = get("api.listen");
  settings.api.adminKey = get("api.admin_key");
  settings.api.maxLogBytes = integer("api.max_log_bytes");
  settings.runs.workdir = expandHome(get("runs.workdir"));
  settings.runs.concurrency = static_cast<int>(integer("runs.concurrency"));
  settings.runs.timeout = static_cast<int>(integer("runs.timeout"));
  settings.runs.timezone = get("runs.timezone");
  settings.log.level = get("log.level");
  settings.log.taskOutput = expandHome(get("log.task_output"));
  settings.log.maxOutputBytes = integer("log.max_output_bytes");
  settings.log.keepDays = static_cast<int>(integer("log.keep_days"));
  return settings;
}

}  // namespace skynet
