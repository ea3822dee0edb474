#include "api/router.h"

namespace skynet::api {

namespace {

// "/api/run/5" -> {"api", "run", "5"}; a trailing slash gives a last empty segment, so
// "/api/project/" and "/api/project" are different patterns, as in lackey.
std::vector<std::string> split(const std::string& path) {
  std::vector<std::string> segments;
  if (path.empty() || path[0] != '/') return segments;
  std::size_t start = 1;
  for (;;) {
    const std::size_t slash = path.find('/', start);
    if (slash == std::string::npos) {
      segments.push_back(path.substr(start));
      return segments;
    }
    segments.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
}

}  // namespace

std::optional<std::int64_t> parseId(const std::string& text) {
  if (text.empty() || text.size() > 18 || text[0] == '0') return std::nullopt;
  std::int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

int Router::add(std::set<std::string> methods, const std::string& pattern) {
  routes_.push_back({std::move(methods), split(pattern)});
  return static_cast<int>(routes_.size()) - 1;
}

bool Router::matches(const Route& route, const std::vector<std::string>& segments, std::optional<std::int64_t>& id) {
  if (route.segments.size() != segments.size()) return false;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const std::string& want = route.segments[i];
    const std::string& got = segments[i];
    if (want == "{id}") {
      id = parseId(got);
      if (!id) return false;
    } else if (want == "{id}.raw") {
      if (got.size() <= 4 || got.compare(got.size() - 4, 4, ".raw") != 0) return false;
      id = parseId(got.substr(0, got.size() - 4));
      if (!id) return false;
    } else if (want != got) {
      return false;
    }
  }
  return true;
}

RouteMatch Router::match(const std::string& method, const std::string& path) const {
  const auto segments = split(path);
  RouteMatch result;
  for (std::size_t i = 0; i < routes_.size(); ++i) {
    std::optional<std::int64_t> id;
    if (!matches(routes_[i], segments, id)) continue;
    if (routes_[i].methods.count(method)) {
      result.route = static_cast<int>(i);
      result.id = id;
      result.allowed.clear();
      return result;
    }
    result.allowed.insert(routes_[i].methods.begin(), routes_[i].methods.end());
  }
  return result;
}

}  // namespace skynet::api
