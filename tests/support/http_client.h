// A small HTTP client for tests of the API server: one request per call over a fresh loopback
// connection (Poco's HTTPClientSession), the answer read whole.
#pragma once

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <cstdint>
#include <map>
#include <string>

namespace skynet::testing {

struct HttpReply {
  int status = 0;
  std::string contentType;
  std::string body;
  std::map<std::string, std::string> headers;

  // The body parsed as JSON; throws when it is not JSON.
  Poco::JSON::Object::Ptr object() const;
  Poco::JSON::Array::Ptr array() const;
  std::string header(const std::string& name) const;
};

struct HttpCall {
  std::string method = "GET";
  std::string path = "/";
  std::string body;                                          // sent when non-empty
  std::string contentType = "application/x-www-form-urlencoded";
  std::map<std::string, std::string> headers;
  std::string host = "127.0.0.1";
};

HttpReply httpCall(std::uint16_t port, const HttpCall& call);

// Shorthands. `form` is sent form-encoded as given (the caller encodes it).
HttpReply httpGet(std::uint16_t port, const std::string& path, const std::string& adminKey = "");
HttpReply httpSend(std::uint16_t port, const std::string& method, const std::string& path, const std::string& form,
                   const std::string& adminKey = "");

// Percent-encodes a form value.
std::string formEncode(const std::string& value);

}  // namespace skynet::testing
