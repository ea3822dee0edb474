// Maps a method and a path to a route. A pattern is a path of segments; `{id}` matches a
// positive decimal integer that fits 63 bits, `{id}.raw` the same followed by ".raw", anything
// else matches itself. A path no pattern matches is not found (404); a path some pattern
// matches with another method is 405, and `allowed` lists the methods that would do.
// Built once, then read-only: match() may be called from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace skynet::api {

struct RouteMatch {
  int route = -1;                  // index given to add(); -1 when none
  std::optional<std::int64_t> id;  // the {id} segment, if the pattern has one
  std::set<std::string> allowed;   // for a 405: the methods the path accepts
};

class Router {
 public:
  // `methods` e.g. {"PUT", "POST"}; returns the route's index.
  int add(std::set<std::string> methods, const std::string& pattern);
  RouteMatch match(const std::string& method, const std::string& path) const;

 private:
  struct Route {
    std::set<std::string> methods;
    std::vector<std::string> segments;
  };
  static bool matches(const Route& route, const std::vector<std::string>& segments, std::optional<std::int64_t>& id);
  std::vector<Route> routes_;
};

// A positive decimal integer of at most 18 digits (no sign, no leading zero).
std::optional<std::int64_t> parseId(const std::string& text);

}  // namespace skynet::api
