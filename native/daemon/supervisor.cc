#include "daemon/supervisor.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include <Poco/Format.h>

#include "util/clock.h"
#include "util/paths.h"

namespace skynet::daemon {

namespace {
// A new file costs the file system an inode allocation, which on a busy ext4 can take longer than
// the spawn itself. So empty spares wait beside the output files, and a launch renames one into
// place: that cost falls after a turn's launches (makeSpareOutputFiles), not between a claim and
// its exec, also for a poll that claims several at once. Their names match no run's, so pruning
// and the API leave them alone.
constexpr int kSpareOutputFiles = 8;

std::string spare(const std::string& folder, int index) {
  return folder + "/.skynet-next-output-" + std::to_string(index);
}
}  // namespace

Started Supervisor::launch(const Launch& launch, double nowMono) {
  if (!launch.spec.outputFile.empty()) {
    // Without a spare (the first launch into a folder, a burst larger than the pool) the output
    // file is created as usual.
    const std::string folder = parentFolder(launch.spec.outputFile);
    auto& missing = missingSpares_[folder];
    for (int index = 0; index < kSpareOutputFiles; ++index) {
      missing.insert(index);  // taken now, or not there
      if (rename(spare(folder, index).c_str(), launch.spec.outputFile.c_str()) == 0) break;
    }
  }
  auto child = process::ChildProcess::launch(launch.spec);
  const double startedWall = unixTime();
  Watched watched;
  watched.identity = process::identify(child->pid()).value_or(process::ProcessIdentity{child->pid(), 0, process::bootId()});
  watched.child = std::move(child);
  watched.outputFile = launch.spec.outputFile;
  watched.timeoutSeconds = launch.timeoutSeconds;
  watched.deadline = launch.timeoutSeconds > 0 ? nowMono + launch.timeoutSeconds : 0;
  Started started{launch.runId, watched.identity, startedWall};
  watched_[launch.runId] = std::move(watched);
  return started;
}

void Supervisor::makeSpareOutputFiles() {
  // Only the spares the launches took or found missing: trying all of them, each one present
  // cost a failed open (a path lookup in a folder of thousands of files) per launch.
  for (const auto& [folder, indexes] : missingSpares_) {
    for (const int index : indexes) {
      const int fd = open(spare(folder, index).c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
      if (fd >= 0) close(fd);  // else it is there already (or the folder is not writable: no spares)
    }
  }
  missingSpares_.clear();
}

bool Supervisor::adopt(const Adoption& adoption, double nowMono) {
  if (!process::stillRunning(adoption.identity)) return false;
  Watched watched;
  watched.identity = adoption.identity;
  // After an execve of this daemon its children are still ours and can be waited for.
  watched.child = process::ChildProcess::attach(adoption.identity.pid);
  watched.outputFile = adoption.outputFile;
  watched.timeoutSeconds = adoption.timeoutSeconds;
  if (adoption.timeoutSeconds > 0) {
    // The deadline counts from the run's original start.
    const double left = adoption.startedWall + adoption.timeoutSeconds - unixTime();
    watched.deadline = nowMono + std::max(0.0, left);
  }
  watched_[adoption.runId] = std::move(watched);
  return true;
}

void Supervisor::signal(Watched& watched, int sig) {
  if (watched.child) {
    watched.child->signalGroup(sig);
  } else if (process::stillRunning(watched.identity) || watched.leaderGone) {
    // An adopted leader that was not our child: while it runs its pid is still its group id.
    kill(-watched.identity.pid, sig);
  }
}

bool Supervisor::stop(std::int64_t runId, EndedBy why, double nowMono) {
  auto found = watched_.find(runId);
  if (found == watched_.end()) return false;
  Watched& watched = found->second;
  if (watched.endedBy == EndedBy::None) watched.endedBy = why;
  if (watched.killAt == 0) {
    watched.killAt = nowMono + killGrace_;
    signal(watched, SIGTERM);
  }
  return true;
}

void Supervisor::stopAll(EndedBy why, double nowMono) {
  std::vector<std::int64_t> ids;
  for (const auto& entry : watched_) ids.push_back(entry.first);
  for (auto id : ids) stop(id, why, nowMono);
}

std::vector<Ended> Supervisor::tick(double nowMono) {
  std::vector<Ended> ended;
  const bool checkOutput = nowMono >= nextOutputCheck_;
  if (checkOutput) nextOutputCheck_ = nowMono + kOutputCheckSeconds;
  for (auto it = watched_.begin(); it != watched_.end();) {
    Watched& watched = it->second;
    if (!watched.leaderGone) {
      if (watched.child) {
        if (auto status = watched.child->poll()) {
          watched.exit = status;
          watched.leaderGone = true;
        }
      } else if (!process::stillRunning(watched.identity)) {
        watched.leaderGone = true;
      }
      if (watched.leaderGone) watched.stoppedWall = unixTime();
    }
    if (!watched.leaderGone && watched.killAt == 0 && watched.deadline > 0 && nowMono >= watched.deadline) {
      watched.endedBy = EndedBy::Timeout;
      watched.killAt = nowMono + killGrace_;
      log_.warning(Poco::format("run %?d timed out after %d s: sending SIGTERM to its process group (pid %d), "
                                "SIGKILL in %d s",
                                it->first, watched.timeoutSeconds, static_cast<int>(watched.identity.pid), killGrace_));
      signal(watched, SIGTERM);
    }
    // Once we started killing, the run ends only when its whole group is gone: members that
    // ignore SIGTERM get the SIGKILL even after their leader was reaped.
    const bool killing = watched.killAt > 0;
    if (killing && nowMono >= watched.killAt) {
      if (watched.killAt > 0 && !watched.sentKill) {
        log_.warning(Poco::format("run %?d did not stop after SIGTERM: sending SIGKILL to its process group", it->first));
        watched.sentKill = true;
      }
      if (watched.leaderGone) kill(-watched.identity.pid, SIGKILL);
      else signal(watched, SIGKILL);
      watched.killAt = nowMono + 1.0;  // again every second until the group is empty
    }
    const bool groupGone = !killing || !process::groupAlive(watched.identity.pid);
    const bool capped = maxOutputBytes_ > 0 && !watched.outputFile.empty();
    if (checkOutput && capped) capOutputFile(watched.outputFile, maxOutputBytes_);
    if (watched.leaderGone && groupGone) {
      if (capped) capOutputFile(watched.outputFile, maxOutputBytes_);
      ended.push_back({it->first, watched.exit, watched.stoppedWall, watched.endedBy, watched.timeoutSeconds,
                       watched.outputFile});
      it = watched_.erase(it);
    } else {
      ++it;
    }
  }
  return ended;
}

double Supervisor::secondsUntilDue(double nowMono, double ceiling) const {
  double due = ceiling;
  for (const auto& [id, watched] : watched_) {
    if (!watched.child || watched.leaderGone) due = std::min(due, kAdoptedPollSeconds);
    if (watched.killAt > 0) due = std::min(due, watched.killAt - nowMono);
    else if (watched.deadline > 0) due = std::min(due, watched.deadline - nowMono);
    if (maxOutputBytes_ > 0) due = std::min(due, std::max(kOutputCheckSeconds, nextOutputCheck_ - nowMono));
  }
  return std::max(0.0, due);
}

std::uint64_t capOutputFile(const std::string& path, long maxBytes) {
  struct stat info {};
  if (maxBytes <= 0 || stat(path.c_str(), &info) != 0 || info.st_size <= maxBytes) return 0;
  const int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return 0;
  const off_t size = lseek(fd, 0, SEEK_END);
  const off_t head = maxBytes / 2;
  const off_t keepTail = maxBytes / 4;  // room for the output still to come before the next check
  std::string tail(static_cast<std::size_t>(keepTail), '\0');
  const ssize_t got = pread(fd, tail.data(), tail.size(), size - keepTail);
  std::uint64_t cut = 0;
  if (got == keepTail) {
    cut = static_cast<std::uint64_t>(size - head - keepTail);
    const std::string marker =
        "\n[skynet: " + std::to_string(cut) + " bytes of output cut here to keep the file within log.max_output_bytes]\n";
    if (ftruncate(fd, head) == 0) {
      (void)!pwrite(fd, marker.data(), marker.size(), head);
      (void)!pwrite(fd, tail.data(), tail.size(), head + static_cast<off_t>(marker.size()));
    }
  }
  close(fd);
  return cut;
}

int pruneOutputFiles(const std::string& folder, int keepDays, double now) {
  DIR* dir = opendir(folder.c_str());
  if (!dir) return 0;
  int removed = 0;
  const double cutoff = now - keepDays * 86400.0;
  while (dirent* entry = readdir(dir)) {
    const std::string name = entry->d_name;
    const bool ours = (name.rfind("task-", 0) == 0 || name.rfind("job-", 0) == 0) &&
                      name.find("-run-") != std::string::npos && name.size() > 4 &&
                      name.compare(name.size() - 4, 4, ".log") == 0;
    if (!ours) continue;
    const std::string path = folder + "/" + name;
    struct stat info {};
    if (stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode) && static_cast<double>(info.st_mtime) < cutoff &&
        unlink(path.c_str()) == 0) {
      ++removed;
    }
  }
  closedir(dir);
  return removed;
}

}  // namespace skynet::daemon
