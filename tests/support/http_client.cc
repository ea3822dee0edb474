#include "support/http_client.h"

#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

#include <cctype>
#include <cstdio>

namespace skynet::testing {

Poco::JSON::Object::Ptr HttpReply::object() const {
  return Poco::JSON::Parser().parse(body).extract<Poco::JSON::Object::Ptr>();
}

Poco::JSON::Array::Ptr HttpReply::array() const {
  return Poco::JSON::Parser().parse(body).extract<Poco::JSON::Array::Ptr>();
}

std::string HttpReply::header(const std::string& name) const {
  const auto found = headers.find(name);
  return found == headers.end() ? "" : found->second;
}

HttpReply httpCall(std::uint16_t port, const HttpCall& call) {
  Poco::Net::HTTPClientSession session(call.host, port);
  session.setTimeout(Poco::Timespan(30, 0));
  Poco::Net::HTTPRequest request(call.method, call.path, Poco::Net::HTTPMessage::HTTP_1_1);
  for (const auto& [name, value] : call.headers) request.set(name, value);
  if (!call.body.empty()) {
    request.setContentType(call.contentType);
    request.setContentLength(static_cast<std::streamsize>(call.body.size()));
  }
  session.sendRequest(request) << call.body;
  Poco::Net::HTTPResponse response;
  std::istream& in = session.receiveResponse(response);
  HttpReply reply;
  reply.status = static_cast<int>(response.getStatus());
  reply.contentType = response.getContentType();
  for (const auto& [name, value] : response) reply.headers[name] = value;
  Poco::StreamCopier::copyToString(in, reply.body);
  return reply;
}

HttpReply httpGet(std::uint16_t port, const std::string& path, const std::string& adminKey) {
  HttpCall call;
  call.path = path;
  if (!adminKey.empty()) call.headers["Authorization"] = "Bearer " + adminKey;
  return httpCall(port, call);
}

HttpReply httpSend(std::uint16_t port, const std::string& method, const std::string& path, const std::string& form,
                   const std::string& adminKey) {
  HttpCall call;
  call.method = method;
  call.path = path;
  call.body = form;
  if (!adminKey.empty()) call.headers["Authorization"] = "Bearer " + adminKey;
  return httpCall(port, call);
}

std::string formEncode(const std::string& value) {
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char escape[4];
      std::snprintf(escape, sizeof escape, "%%%02X", c);
      out += escape;
    }
  }
  return out;
}

}  // namespace skynet::testing
