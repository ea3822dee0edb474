#include "daemon/mailbox.h"

#include <algorithm>
#include <chrono>
#include <cstddef>

#include "util/clock.h"

namespace skynet::daemon {

void Mailbox::post(Command command) {
  std::vector<Command> one;
  one.push_back(std::move(command));
  post(std::move(one));
}

void Mailbox::post(std::vector<Command> commands) {
  if (commands.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& command : commands) commands_.push_back(std::move(command));
  }
  supervisionWaker_.wake();
}

std::vector<Command> Mailbox::takeCommands() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<Command> taken;
  taken.swap(commands_);
  return taken;
}

bool Mailbox::commandsPending() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return !commands_.empty();
}

void Mailbox::post(Event event) {
  std::vector<Event> one;
  one.push_back(std::move(event));
  post(std::move(one));
}

void Mailbox::post(std::vector<Event> events) {
  if (events.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const double now = monotonicTime();
    for (auto& event : events) events_.push_back({now, std::move(event)});
    databaseWoken_ = true;
  }
  databaseWork_.notify_one();
}

std::vector<Mailbox::Posted> Mailbox::peekEvents(std::size_t max) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const std::size_t count = std::min(max, events_.size());
  return std::vector<Posted>(events_.begin(), events_.begin() + static_cast<std::ptrdiff_t>(count));
}

void Mailbox::popEvents(std::size_t count) {
  std::lock_guard<std::mutex> lock(mutex_);
  events_.erase(events_.begin(), events_.begin() + static_cast<std::ptrdiff_t>(std::min(count, events_.size())));
}

std::size_t Mailbox::eventsPending() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return events_.size();
}

void Mailbox::waitForDatabaseWork(double seconds) {
  std::unique_lock<std::mutex> lock(mutex_);
  databaseWork_.wait_for(lock, std::chrono::duration<double>(seconds), [this] { return databaseWoken_; });
  databaseWoken_ = false;
}

void Mailbox::wakeDatabase() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    databaseWoken_ = true;
  }
  databaseWork_.notify_one();
}

}  // namespace skynet::daemon
