// Telling a process apart from a later one that got the same pid: its start time (clock ticks
// after boot, field 22 of /proc/<pid>/stat) within one kernel boot (/proc/sys/kernel/random/boot_id).
// A run records both at spawn; a daemon that adopts the run after a restart takes a live pid for
// its child only when both still match.
//
// Linux only, read from /proc (Poco has no such call). All functions are thread-safe.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace skynet::process {

struct ProcessIdentity {
  pid_t pid = 0;
  std::uint64_t startTicks = 0;
  std::string bootId;
  bool operator==(const ProcessIdentity& other) const {
    return pid == other.pid && startTicks == other.startTicks && bootId == other.bootId;
  }
};

// The identity of a running process, or nullopt when there is none with that pid.
std::optional<ProcessIdentity> identify(pid_t pid);
// This boot's id ("" when /proc does not tell).
const std::string& bootId();
// Whether the process `identity` names still runs (the same pid, start time and boot).
bool stillRunning(const ProcessIdentity& identity);
// Processes of this user whose environment holds `name=value` (e.g. SKYNET_RUN_ID=42): how a
// child is found whose pid the daemon had no time to record before it died.
std::vector<pid_t> findByEnvironment(const std::string& name, const std::string& value);
// Whether any process is left in process group `pgid`.
bool groupAlive(pid_t pgid);

}  // namespace skynet::process
