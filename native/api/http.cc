#include "api/http.h"

namespace skynet::api {

namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding; '+' means a space in forms only.
std::optional<std::string> decode(const std::string& text, std::size_t from, std::size_t to, bool plusIsSpace) {
  std::string out;
  out.reserve(to - from);
  for (std::size_t i = from; i < to; ++i) {
    const char c = text[i];
    if (c == '%') {
      if (i + 2 >= to) return std::nullopt;  // needs two hex digits before `to`
      const int high = hexValue(text[i + 1]), low = hexValue(text[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      out += static_cast<char>(high * 16 + low);
      i += 2;
    } else if (c == '+' && plusIsSpace) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::optional<std::string> Request::param(const std::string& name) const {
  if (auto found = form.find(name); found != form.end()) return found->second;
  if (auto found = query.find(name); found != query.end()) return found->second;
  return std::nullopt;
}

std::optional<Fields> parseUrlEncoded(const std::string& text, std::string& error, std::size_t maxFields) {
  Fields fields;
  std::size_t count = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('&', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) {
      if (++count > maxFields) {
        error = "more than " + std::to_string(maxFields) + " fields";
        return std::nullopt;
      }
      std::size_t equals = text.find('=', start);
      if (equals == std::string::npos || equals > end) equals = end;
      auto name = decode(text, start, equals, true);
      auto value = equals < end ? decode(text, equals + 1, end, true) : std::optional<std::string>("");
      if (!name || !value) {
        error = "malformed percent escape";
        return std::nullopt;
      }
      fields.emplace(std::move(*name), std::move(*value));
    }
    start = end + 1;
  }
  return fields;
}

std::optional<std::string> decodePath(const std::string& text) {
  auto decoded = decode(text, 0, text.size(), false);
  if (!decoded || decoded->find('\0') != std::string::npos) return std::nullopt;
  return decoded;
}

}  // namespace skynet::api
