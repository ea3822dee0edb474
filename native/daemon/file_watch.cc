#include "daemon/file_watch.h"

#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "util/paths.h"

namespace skynet::daemon {

FileWatch::FileWatch(std::string path, double settleSeconds) : path_(std::move(path)), settle_(settleSeconds) {
  known_ = read();
}

FileWatch::Stamp FileWatch::read() const {
  struct stat info {};
  Stamp stamp;
  if (path_.empty() || stat(path_.c_str(), &info) != 0) return stamp;
  stamp.exists = true;
  stamp.inode = info.st_ino;
  stamp.mtimeNs = static_cast<long long>(info.st_mtim.tv_sec) * 1000000000LL + info.st_mtim.tv_nsec;
  stamp.size = info.st_size;
  return stamp;
}

bool FileWatch::changed(double now) {
  if (path_.empty()) return false;
  const Stamp current = read();
  if (current == known_) {
    candidateSince_ = -1;
    return false;
  }
  if (candidateSince_ < 0 || current != candidate_) {
    candidate_ = current;
    candidateSince_ = now;
    return false;
  }
  if (now - candidateSince_ < settle_) return false;
  known_ = current;
  candidateSince_ = -1;
  return current.exists;
}

double FileWatch::settlesIn(double now) const {
  if (candidateSince_ < 0) return -1;
  return std::max(0.0, candidateSince_ + settle_ - now);
}

FolderEvents::FolderEvents() : fd_(inotify_init1(IN_CLOEXEC | IN_NONBLOCK)) {}

FolderEvents::~FolderEvents() {
  if (fd_ >= 0) close(fd_);
}

void FolderEvents::watchFolderOf(const std::string& file) {
  if (fd_ < 0 || file.empty()) return;
  // Not IN_MODIFY: a file written in place counts once it is closed, and a log kept open in the
  // same folder must not wake the daemon at every line.
  constexpr std::uint32_t kChanges =
      IN_CREATE | IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ATTRIB | IN_DELETE_SELF;
  std::vector<std::string> folders{parentFolder(file)};
  if (char* target = realpath(file.c_str(), nullptr)) {
    folders.push_back(parentFolder(target));
    std::free(target);
  }
  for (const auto& folder : folders) {
    // A folder that cannot be watched (gone, unreadable, out of watches) leaves only the timer.
    if (inotify_add_watch(fd_, folder.c_str(), kChanges) < 0) failed_ = true;
  }
}

bool FolderEvents::drain() {
  if (fd_ < 0) return false;
  bool any = false;
  alignas(inotify_event) char buffer[4096];
  while (read(fd_, buffer, sizeof buffer) > 0) any = true;
  return any;
}

std::string ownExecutable() {
  char buffer[PATH_MAX];
  const ssize_t length = readlink("/proc/self/exe", buffer, sizeof buffer - 1);
  if (length <= 0) return "";
  std::string path(buffer, static_cast<std::size_t>(length));
  const std::string deleted = " (deleted)";
  if (path.size() > deleted.size() && path.compare(path.size() - deleted.size(), deleted.size(), deleted) == 0) {
    path.erase(path.size() - deleted.size());
  }
  return path;
}

}  // namespace skynet::daemon
