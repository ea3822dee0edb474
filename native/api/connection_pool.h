// The API's own database connections, apart from the daemon's: request threads lease one for a
// request and give it back. A connection is made lazily, at most `capacity` are kept idle, and
// one whose request met a lost connection is dropped, so the next request reconnects.
//
// Threading: acquire() and the leases' destructors may run on any thread; a leased connection
// belongs to its lease's thread until the lease ends.
#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "db/connection.h"

namespace skynet::api {

class ConnectionPool {
 public:
  ConnectionPool(db::ConnectionParams params, std::size_t capacity);

  class Lease {
   public:
    Lease(ConnectionPool& pool, std::unique_ptr<db::Connection> connection)
        : pool_(&pool), connection_(std::move(connection)) {}
    Lease(Lease&& other) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    db::Connection& operator*() { return *connection_; }
    db::Connection* operator->() { return connection_.get(); }

   private:
    ConnectionPool* pool_;
    std::unique_ptr<db::Connection> connection_;
  };

  // An idle connection, or a new one; throws db::Error when the database cannot be reached.
  Lease acquire();
  // Drops the idle connections: after a lost connection the others are likely stale too.
  void discardIdle();

 private:
  void giveBack(std::unique_ptr<db::Connection> connection);

  const db::ConnectionParams params_;
  const std::size_t capacity_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<db::Connection>> idle_;
};

}  // namespace skynet::api
