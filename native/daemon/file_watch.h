// Notices that a file was replaced or changed, with one stat() per check: how the daemon sees a
// new configuration file or a new binary of itself (SPEC 3.2: reload or re-execute without
// disturbing running tasks). A change counts once the file has stayed the same for `settle`
// seconds, so a file still being written is not taken half-way. FolderEvents says when a check
// is worth making, so an idle daemon need not stat its files every second.
//
// Threading: each object on one thread.
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
  // Seconds until a change seen by changed() has settled and should be checked again; -1 when
  // none is pending.
  double settlesIn(double now) const;

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

// Wakes a poll(2) when anything changes in the folders of some files (created, written, renamed
// into place, removed, its attributes changed), through inotify(7). Poco has no inotify binding
// that blocks: its DirectoryWatcher wakes its own thread every fraction of a second to look at a
// stop flag. Without inotify (out of instances or watches) active() is false and the caller
// checks its files on a timer instead.
class FolderEvents {
 public:
  FolderEvents();
  ~FolderEvents();
  FolderEvents(const FolderEvents&) = delete;
  FolderEvents& operator=(const FolderEvents&) = delete;

  // Watches the folder of `file`, and that of its target when it is a symbolic link.
  void watchFolderOf(const std::string& file);
  bool active() const { return fd_ >= 0 && !failed_; }
  // Readable (POLLIN) when events are pending; -1 when inactive.
  int fd() const { return active() ? fd_ : -1; }
  // Reads the pending events; true when there were any.
  bool drain();

 private:
  int fd_ = -1;
  bool failed_ = false;
};

// The path of this process's executable file (from /proc/self/exe), "" when unknown.
std::string ownExecutable();

}  // namespace skynet::daemon
