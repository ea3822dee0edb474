#include "daemon/mailbox.h"

#include <chrono>

namespace skynet::daemon {

void Mailbox::post(Command command) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    commands_.push_back(std::move(command));
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
  {
    std::lock_guard<std::mutex> lock(mutex_);
    events_.push_back(std::move(event));
    databaseWoken_ = true;
  }
  databaseWork_.notify_one();
}

bool Mailbox::peekEvent(Event& event) const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (events_.empty()) return false;
  event = events_.front();
  return true;
}

void Mailbox::popEvent() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!events_.empty()) events_.pop_front();
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
