#include "process/process_identity.h"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "util/files.h"

namespace skynet::process {

const std::string& bootId() {
  static const std::string id = [] {
    std::string text = readFile("/proc/sys/kernel/random/boot_id");
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    return text;
  }();
  return id;
}

std::optional<ProcessIdentity> identify(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  const std::string stat = readFile("/proc/" + std::to_string(pid) + "/stat");
  // The command name (field 2) is in parentheses and may hold spaces or ')': read after the last ')'.
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  // After ')' come field 3 (state) onwards, one space apart; the start time is field 22.
  std::size_t at = close + 1;
  for (int index = 3; index <= 22; ++index) {
    at = stat.find_first_not_of(' ', at);
    if (at == std::string::npos) return std::nullopt;
    if (index < 22) at = stat.find(' ', at);
    if (at == std::string::npos) return std::nullopt;
  }
  const char* digits = stat.c_str() + at;
  char* end = nullptr;
  errno = 0;
  const std::uint64_t ticks = std::strtoull(digits, &end, 10);
  if (end == digits || errno != 0) return std::nullopt;
  return ProcessIdentity{pid, ticks, bootId()};
}

bool stillRunning(const ProcessIdentity& identity) {
  const auto now = identify(identity.pid);
  return now && *now == identity;
}

std::vector<pid_t> findByEnvironment(const std::string& name, const std::string& value) {
  std::vector<pid_t> found;
  const std::string wanted = name + "=" + value;
  DIR* proc = opendir("/proc");
  if (!proc) return found;
  const uid_t me = geteuid();
  while (dirent* entry = readdir(proc)) {
    char* end = nullptr;
    const long pid = std::strtol(entry->d_name, &end, 10);
    if (pid <= 0 || *end != '\0') continue;
    const std::string dir = std::string("/proc/") + entry->d_name;
    struct stat info {};
    if (stat(dir.c_str(), &info) != 0 || info.st_uid != me) continue;
    const std::string environ = readFile(dir + "/environ");
    std::size_t at = 0;
    while (at < environ.size()) {
      const auto next = environ.find('\0', at);
      const auto length = (next == std::string::npos ? environ.size() : next) - at;
      if (environ.compare(at, length, wanted) == 0) {
        found.push_back(static_cast<pid_t>(pid));
        break;
      }
      if (next == std::string::npos) break;
      at = next + 1;
    }
  }
  closedir(proc);
  return found;
}

bool groupAlive(pid_t pgid) {
  if (pgid <= 0) return false;
  return kill(-pgid, 0) == 0 || errno == EPERM;
}

}  // namespace skynet::process
