#include "api/server.h"

#include <Poco/Net/HTMLForm.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerConnectionFactory.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/TCPServerDispatcher.h>
#include <Poco/String.h>
#include <Poco/ThreadPool.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <cstdio>
#include <sstream>
#include <stdexcept>

#include "api/api.h"
#include "api/connection_pool.h"
#include "api/json.h"

namespace skynet::api {

namespace {

using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;

// A request the server answers itself, before any route sees it.
struct Refusal {
  int status;
  std::string message;
  bool close;  // the body was not read: the connection cannot carry another request
};

// Splits a request target into a decoded path and query fields; false when malformed.
bool splitTarget(const std::string& target, Request& request, std::string& error) {
  std::string rest = target;
  if (rest.rfind("http://", 0) == 0 || rest.rfind("https://", 0) == 0) {  // absolute form
    const auto slash = rest.find('/', rest.find("//") + 2);
    rest = slash == std::string::npos ? "/" : rest.substr(slash);
  }
  if (rest.empty() || rest[0] != '/') {
    error = "the request target must be a path";
    return false;
  }
  const auto question = rest.find('?');
  const auto path = decodePath(rest.substr(0, question));
  if (!path) {
    error = "malformed percent escape in the path";
    return false;
  }
  request.path = *path;
  if (question != std::string::npos) {
    auto query = parseUrlEncoded(rest.substr(question + 1), error);
    if (!query) {
      error = "query string: " + error;
      return false;
    }
    request.query = std::move(*query);
  }
  return true;
}

// Reads the body without ever holding more than `cap` + 1 bytes of it.
std::optional<Refusal> readBody(HTTPServerRequest& http, std::size_t cap, std::string& body) {
  const std::string tooLarge = "the request body is over its limit of " + std::to_string(cap) +
                               " bytes (api.max_log_bytes + 64 KiB)";
  if (!http.getChunkedTransferEncoding() && http.hasContentLength() &&
      http.getContentLength64() > static_cast<Poco::Int64>(cap)) {
    return Refusal{413, tooLarge, true};
  }
  // Without a length or chunks a request has no body (RFC 9112 6.3); Poco would read to EOF.
  if (!http.getChunkedTransferEncoding() && !http.hasContentLength()) return std::nullopt;
  std::istream& in = http.stream();
  char buffer[16384];
  while (in) {
    in.read(buffer, sizeof buffer);
    body.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (body.size() > cap) return Refusal{413, tooLarge, true};
  }
  return std::nullopt;
}

std::optional<Refusal> readForm(HTTPServerRequest& http, const std::string& body, Fields& form) {
  if (body.empty()) return std::nullopt;
  std::string type = Poco::toLower(http.getContentType());
  type = Poco::trim(type.substr(0, type.find(';')));
  if (type.empty() || type == "application/x-www-form-urlencoded") {
    std::string error;
    auto fields = parseUrlEncoded(body, error);
    if (!fields) return Refusal{400, "malformed form body: " + error, false};
    form = std::move(*fields);
    return std::nullopt;
  }
  if (type == "multipart/form-data") {
    try {
      Poco::Net::HTMLForm html;
      std::istringstream in(body);
      html.load(http, in);  // file parts are skipped: no route takes a file
      for (const auto& [name, value] : html) form.emplace(name, value);
      return std::nullopt;
    } catch (const Poco::Exception& e) {
      return Refusal{400, "malformed multipart body: " + e.message(), false};
    }
  }
  return Refusal{415, "unsupported Content-Type \"" + type +
                          "\": send application/x-www-form-urlencoded or multipart/form-data",
                 false};
}

class RequestHandler : public Poco::Net::HTTPRequestHandler {
 public:
  RequestHandler(Api& api, Poco::Logger& log) : api_(api), log_(log) {}

  void handleRequest(HTTPServerRequest& http, HTTPServerResponse& out) override {
    const auto began = std::chrono::steady_clock::now();
    Request request;
    request.method = http.getMethod();
    std::string error;
    Response response;
    bool close = false;
    if (!splitTarget(http.getURI(), request, error)) {
      response = refuse({400, error, false});
    } else {
      std::string body;
      std::optional<Refusal> refusal;
      try {
        refusal = readBody(http, api_.maxBodyBytes(), body);
      } catch (const Poco::Exception& e) {
        refusal = Refusal{400, "cannot read the request body: " + e.message(), true};
      }
      if (!refusal) refusal = readForm(http, body, request.form);
      if (refusal) {
        close = refusal->close;
        response = refuse(*refusal);
      } else {
        request.authorization = http.get("Authorization", "");
        request.fromLoopback = http.clientAddress().host().isLoopback();
        response = api_.handle(request);
      }
    }
    send(out, response, close);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - began).count();
    char took[32];
    std::snprintf(took, sizeof took, "%.1f ms", ms);
    // The path only: a query string may carry a token.
    log_.information("API: " + request.method + " " + (request.path.empty() ? "-" : request.path) + " " +
                     std::to_string(response.status) + " " + took);
  }

 private:
  static Response refuse(const Refusal& refusal) {
    Response response;
    response.status = refusal.status;
    response.body = errorBody(refusal.message);
    return response;
  }

  static void send(HTTPServerResponse& out, const Response& response, bool close) {
    out.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(response.status));
    out.setContentType(response.contentType);
    for (const auto& [name, value] : response.headers) out.set(name, value);
    if (close) out.setKeepAlive(false);
    out.setContentLength(static_cast<std::streamsize>(response.body.size()));
    out.sendBuffer(response.body.data(), response.body.size());
  }

  Api& api_;
  Poco::Logger& log_;
};

class HandlerFactory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  HandlerFactory(Api& api, Poco::Logger& log) : api_(api), log_(log) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const HTTPServerRequest&) override {
    return new RequestHandler(api_, log_);
  }
  // What HTTPServer::stopAll(true) does to the connections in progress: each is shut down.
  void abortConnections() {
    const bool abortCurrent = true;
    serverStopped(this, abortCurrent);
  }

 private:
  Api& api_;
  Poco::Logger& log_;
};

}  // namespace

ApiServer::ApiServer(const Settings& settings, DaemonLink& link, metrics::Registry& metrics, Poco::Logger& logger)
    : settings_(settings), log_(logger) {
  db::ConnectionParams params = settings.database.connectionParams();
  params.readTimeoutSeconds = 30;  // a request must not hang on a stuck server for a minute
  pool_ = std::make_unique<ConnectionPool>(params, static_cast<std::size_t>(kMaxThreads));
  api_ = std::make_unique<Api>(settings_, link, metrics, *pool_, logger);
}

ApiServer::~ApiServer() { stop(); }

void ApiServer::start() {
  if (acceptor_.joinable()) return;
  try {
    const Poco::Net::SocketAddress address(settings_.api.listen);
    // SO_REUSEADDR for quick restarts; never SO_REUSEPORT, so a taken port is an error.
    socket_.bind(address, true, false);
    socket_.listen(kMaxQueued);
  } catch (const Poco::Exception& e) {
    socket_ = Poco::Net::ServerSocket();
    throw std::runtime_error("api.listen: cannot listen on " + settings_.api.listen + ": " + e.displayText());
  }
  port_ = socket_.address().port();
  if (pipe2(stopPipe_, O_CLOEXEC | O_NONBLOCK) != 0) {
    throw std::runtime_error(std::string("API: cannot create its stop pipe: ") + std::strerror(errno));
  }

  Poco::Net::HTTPServerParams::Ptr params = new Poco::Net::HTTPServerParams;
  params->setMaxThreads(kMaxThreads);
  params->setMaxQueued(kMaxQueued);
  params->setTimeout(Poco::Timespan(kReceiveTimeoutSeconds, 0));
  params->setKeepAlive(true);
  params->setKeepAliveTimeout(Poco::Timespan(kKeepAliveTimeoutSeconds, 0));
  params->setMaxKeepAliveRequests(kMaxKeepAliveRequests);
  threads_ = std::make_unique<Poco::ThreadPool>(2, kMaxThreads + 1, 60);
  handlers_ = new HandlerFactory(*api_, log_);
  dispatcher_ = new Poco::Net::TCPServerDispatcher(new Poco::Net::HTTPServerConnectionFactory(params, handlers_),
                                                   *threads_, params);
  acceptor_ = std::thread([this] { accept(); });
  log_.information("API: listening on " + socket_.address().toString());
}

// Poco's TCPServer (under HTTPServer) wakes every 250 ms to look at its stop flag: four wake-ups
// a second of an idle daemon, for nothing. This loop blocks in poll(2) on the listening socket
// and the stop pipe instead, and hands each connection to Poco's dispatcher, which serves it
// with Poco's HTTPServerConnection on the pool within the same bounds.
void ApiServer::accept() {
  for (;;) {
    pollfd ready[2] = {{socket_.impl()->sockfd(), POLLIN, 0}, {stopPipe_[0], POLLIN, 0}};
    if (::poll(ready, 2, -1) < 0) {
      if (errno == EINTR) continue;
      log_.error(std::string("API: stopped accepting connections: poll: ") + std::strerror(errno));
      return;
    }
    if (ready[1].revents != 0) return;
    if ((ready[0].revents & (POLLERR | POLLNVAL)) != 0) {
      log_.error("API: stopped accepting connections: the listening socket failed");
      return;
    }
    if ((ready[0].revents & POLLIN) == 0) continue;
    try {
      Poco::Net::StreamSocket connection = socket_.acceptConnection();
      connection.setNoDelay(true);
      dispatcher_->enqueue(connection);
    } catch (const Poco::Exception& e) {
      // Out of descriptors, say: the connection waits in the backlog. A short wait on the stop
      // pipe alone keeps this from spinning meanwhile.
      log_.warning("API: cannot accept a connection: " + e.displayText());
      pollfd stop{stopPipe_[0], POLLIN, 0};
      if (::poll(&stop, 1, 100) > 0) return;
    }
  }
}

void ApiServer::stop() {
  if (!acceptor_.joinable()) return;
  (void)!write(stopPipe_[1], "x", 1);
  acceptor_.join();
  socket_.close();
  // As HTTPServer::stopAll(true): queued connections are dropped, and connections in progress
  // are shut down rather than waited for, so a slow client cannot hold up the daemon's stop.
  dispatcher_->stop();
  static_cast<HandlerFactory*>(handlers_.get())->abortConnections();
  threads_->joinAll();
  dispatcher_->release();
  dispatcher_ = nullptr;
  handlers_ = nullptr;
  threads_.reset();
  for (int& fd : stopPipe_) {
    close(fd);
    fd = -1;
  }
  socket_ = Poco::Net::ServerSocket();
  port_ = 0;
}

std::uint16_t ApiServer::port() const { return port_; }

}  // namespace skynet::api
