#include "util/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace skynet {

namespace {

// Closes the descriptor on every path.
struct Descriptor {
  int fd;
  explicit Descriptor(const std::string& path) : fd(open(path.c_str(), O_RDONLY | O_CLOEXEC)) {}
  ~Descriptor() {
    if (fd >= 0) close(fd);
  }
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
};

// Appends what `fd` holds from `offset` on, until its end.
bool readFrom(int fd, off_t offset, std::string& text) {
  char buffer[4096];
  for (;;) {
    const ssize_t got = pread(fd, buffer, sizeof buffer, offset);
    if (got == 0) return true;
    if (got < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    text.append(buffer, static_cast<std::size_t>(got));
    offset += got;
  }
}

}  // namespace

std::string readFile(const std::string& path) {
  const Descriptor file(path);
  std::string text;
  if (file.fd < 0 || !readFrom(file.fd, 0, text)) return "";
  return text;
}

std::string readFileTail(const std::string& path, std::size_t limit) {
  const Descriptor file(path);
  struct stat info {};
  if (file.fd < 0 || fstat(file.fd, &info) != 0) return "";
  const auto size = static_cast<std::size_t>(info.st_size);
  std::string text;
  text.reserve(size < limit ? size : limit);
  // From where the end was when the file was looked at: a writer still appending adds a little.
  if (!readFrom(file.fd, static_cast<off_t>(size > limit ? size - limit : 0), text)) return "";
  if (text.size() > limit) text.erase(0, text.size() - limit);
  return text;
}

}  // namespace skynet
