// The HTTP API server the application starts when api.listen is set: Poco's HTTP connections
// and dispatcher, behind an acceptor thread that sleeps until a connection arrives.
//
// Bounds, so malformed requests, slow clients and connection floods cannot take it down:
// kMaxThreads request threads, at most kMaxQueued accepted connections waiting for one (more
// are closed at once), kReceiveTimeout to read a request, kKeepAliveTimeout and
// kMaxKeepAliveRequests per connection, and a body cap (api.max_log_bytes + 64 KiB) checked
// BEFORE the body is read: a Content-Length over it is 413 at once, a chunked body is counted
// while read. Bodies are application/x-www-form-urlencoded or multipart/form-data; another
// type with a body is 415.
//
// Each request thread leases its own database connection (api/connection_pool.h), never the
// daemon's. The access log (information level) has one line per request: method, path
// without the query string (it may carry a token), status and duration; never a token or key.
//
// Threading: start() and stop() from one thread (the application's); port() from any.
#pragma once

#include <Poco/Logger.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/ServerSocket.h>

#include <cstdint>
#include <memory>
#include <thread>

#include "api/daemon_link.h"
#include "config/settings.h"
#include "metrics/metrics.h"

namespace Poco {
class ThreadPool;
namespace Net {
class TCPServerDispatcher;
}
}  // namespace Poco

namespace skynet::api {

class Api;
class ConnectionPool;

class ApiServer {
 public:
  static constexpr int kMaxThreads = 16;
  static constexpr int kMaxQueued = 64;
  static constexpr int kReceiveTimeoutSeconds = 10;
  static constexpr int kKeepAliveTimeoutSeconds = 5;
  static constexpr int kMaxKeepAliveRequests = 100;

  ApiServer(const Settings& settings, DaemonLink& link, metrics::Registry& metrics, Poco::Logger& logger);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Binds api.listen and starts serving; throws std::runtime_error naming the address when it
  // is malformed or taken.
  void start();
  // Stops accepting, lets requests in progress finish, joins the threads. Idempotent.
  void stop();
  // The bound port (api.listen may say :0, "any free port"); 0 before start().
  std::uint16_t port() const;

 private:
  const Settings settings_;
  Poco::Logger& log_;
  std::unique_ptr<ConnectionPool> pool_;
  std::unique_ptr<Api> api_;
  void accept();

  std::unique_ptr<Poco::ThreadPool> threads_;
  Poco::Net::ServerSocket socket_;
  Poco::Net::HTTPRequestHandlerFactory::Ptr handlers_;
  Poco::Net::TCPServerDispatcher* dispatcher_ = nullptr;  // reference-counted: release()d by stop()
  int stopPipe_[2] = {-1, -1};
  std::thread acceptor_;
  std::uint16_t port_ = 0;
};

}  // namespace skynet::api
