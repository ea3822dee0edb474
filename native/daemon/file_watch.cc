#include "daemon/file_watch.h"

#include <sys/stat.h>
#include <unistd.h>

#include <climits>

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
