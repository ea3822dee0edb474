// Notices that a file was replaced or changed, with one stat() per check: how the daemon sees a
// new configuration file or a new binary of itself (SPEC 3.2: reload or re-execute without
// disturbing running tasks). A change counts once the file has stayed the same for `settle`
// seconds, so a file still being written is not taken half-way.
//
// Threading: one thread.
#pragma once

#include <sys/types.h>

#include <string>

namespace skynet::daemon {

class FileWatch {
 public:
  FileWatch() = default;
  FileWatch(std::string path, double settleSeconds);
  const std::string& path() const { return path_; }
  // True once per change, after it settled (monotonic `now`).
  bool changed(double now);

 private:
  struct Stamp {
    bool exists = false;
    ino_t inode = 0;
    long long mtimeNs = 0;
    off_t size = 0;
    bool operator==(const Stamp& o) const {
      return exists == o.exists && inode == o.inode && mtimeNs == o.mtimeNs && size == o.size;
    }
    bool operator!=(const Stamp& o) const { return !(*this == o); }
  };
  Stamp read() const;

  std::string path_;
  double settle_ = 0;
  Stamp known_;
  Stamp candidate_;
  double candidateSince_ = -1;
};

// The path of this process's executable file (from /proc/self/exe), "" when unknown.
std::string ownExecutable();

}  // namespace skynet::daemon
