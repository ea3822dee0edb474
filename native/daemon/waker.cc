#include "daemon/waker.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace skynet::daemon {

Waker::Waker() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
    throw std::runtime_error(std::string("cannot create the wake-up pipe: ") + std::strerror(errno));
  }
  read_ = fds[0];
  write_ = fds[1];
}

Waker::~Waker() {
  close(read_);
  close(write_);
}

void Waker::wake() {
  const int saved = errno;  // a signal handler must not change errno
  const char byte = 1;
  (void)!write(write_, &byte, 1);  // a full pipe already means "wake up"
  errno = saved;
}

bool Waker::wait(double seconds, int alsoReadable) {
  pollfd entries[2] = {{read_, POLLIN, 0}, {alsoReadable, POLLIN, 0}};
  const int timeout = seconds <= 0 ? 0 : static_cast<int>(seconds * 1000.0 + 0.5);
  const int ready = poll(entries, alsoReadable >= 0 ? 2 : 1, timeout);
  if (ready <= 0 || entries[0].revents == 0) return false;
  char buffer[64];
  while (read(read_, buffer, sizeof buffer) > 0) {
  }
  return true;
}

std::atomic<bool> Signals::stop_{false};
std::atomic<int> Signals::stopSignal_{0};
std::atomic<bool> Signals::reload_{false};
Waker* Signals::waker_ = nullptr;

void Signals::handle(int signal) {
  if (signal == SIGTERM || signal == SIGINT) {
    stopSignal_.store(signal);
    stop_.store(true);
  } else if (signal == SIGHUP) {
    reload_.store(true);
  }
  if (waker_) waker_->wake();
}

void Signals::install(Waker& waker) {
  waker_ = &waker;
  struct sigaction action {};
  action.sa_handler = &Signals::handle;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGCHLD}) sigaction(sig, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);
}


}  // namespace skynet::daemon
