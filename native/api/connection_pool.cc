#include "api/connection_pool.h"

namespace skynet::api {

ConnectionPool::ConnectionPool(db::ConnectionParams params, std::size_t capacity)
    : params_(std::move(params)), capacity_(capacity) {}

ConnectionPool::Lease::~Lease() {
  if (connection_) pool_->giveBack(std::move(connection_));
}

ConnectionPool::Lease ConnectionPool::acquire() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!idle_.empty()) {
      auto connection = std::move(idle_.back());
      idle_.pop_back();
      return Lease(*this, std::move(connection));
    }
  }
  // Connecting takes a while; not under the lock.
  return Lease(*this, std::make_unique<db::Connection>(params_));
}

void ConnectionPool::discardIdle() {
  std::vector<std::unique_ptr<db::Connection>> stale;
  std::lock_guard<std::mutex> lock(mutex_);
  stale.swap(idle_);
}

void ConnectionPool::giveBack(std::unique_ptr<db::Connection> connection) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (idle_.size() < capacity_) idle_.push_back(std::move(connection));
}

}  // namespace skynet::api
