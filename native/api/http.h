// The API's view of one HTTP exchange, apart from any socket: the server (server.cc) fills a
// Request from Poco's, the routes (api.h) answer with a Response, and tests and the fuzz test
// can drive the routes with neither. Plain values; a Request is read-only once built.
#pragma once

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace skynet::api {

using Fields = std::map<std::string, std::string>;

struct Request {
  std::string method;         // upper case, e.g. "PUT"
  std::string path;           // without the query string, percent-decoded
  Fields query;               // the query string's fields
  Fields form;                // the body's fields (form-encoded or multipart)
  std::string authorization;  // the Authorization header, as sent
  bool fromLoopback = false;  // the peer is 127.0.0.0/8 or ::1

  // A field of the body, else of the query string.
  std::optional<std::string> param(const std::string& name) const;
};

struct Response {
  int status = 200;
  std::string contentType = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // besides Content-Type/-Length
};

// Thrown by a route to answer with an error: `{"status":"error","message":...}`.
class HttpError : public std::runtime_error {
 public:
  HttpError(int status, const std::string& message) : std::runtime_error(message), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

// application/x-www-form-urlencoded (also a query string): `a=1&b=x+y&c=%2F`. nullopt with
// `error` set for a malformed percent escape or more than `maxFields` fields. A repeated name
// keeps its first value.
std::optional<Fields> parseUrlEncoded(const std::string& text, std::string& error, std::size_t maxFields = 1000);

// Percent-decoding of a path ('+' stays '+'); nullopt for a malformed escape or a NUL.
std::optional<std::string> decodePath(const std::string& text);

}  // namespace skynet::api
