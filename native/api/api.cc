#include "api/api.h"

#include "api/auth.h"
#include "api/json.h"
#include "db/connection.h"
#include "ui/assets.h"
#include "util/utf8.h"

namespace skynet::api {

namespace {
constexpr std::size_t kOtherFieldsBytes = 64 * 1024;

// Text the database stores or compares must be valid UTF-8 (the columns are utf8mb4 and strict);
// only a log is repaired instead, since its tail is kept whatever it holds.
void requireUtf8(const Fields& fields) {
  for (const auto& [name, value] : fields) {
    if (validUtf8(name) != name) throw HttpError(400, "a parameter name is not valid UTF-8");
    if (name != "log" && validUtf8(value) != value) throw HttpError(400, name + ": not valid UTF-8");
  }
}
}  // namespace

namespace detail {

Paging paging(const Request& request) {
  Paging paging;
  if (const auto limit = request.param("limit"); limit && !limit->empty()) {
    const auto value = *limit == "0" ? std::optional<std::int64_t>(0) : parseId(*limit);
    if (!value || *value > 1000) throw HttpError(400, "limit: expected a whole number from 0 to 1000");
    paging.limit = *value;
  }
  if (const auto offset = request.param("offset"); offset && !offset->empty()) {
    const auto value = *offset == "0" ? std::optional<std::int64_t>(0) : parseId(*offset);
    if (!value) throw HttpError(400, "offset: expected a whole number, 0 or more");
    paging.offset = *value;
  }
  return paging;
}

Response listing(const std::string& jsonArray, std::int64_t total) {
  Response response = json(200, jsonArray);
  response.headers.emplace_back("X-Total-Count", std::to_string(total));
  return response;
}

Response json(int status, const std::string& body) {
  Response response;
  response.status = status;
  response.body = body;
  return response;
}

std::string required(const Request& request, const std::string& name, bool emptyOk) {
  const auto value = request.param(name);
  if (!value) throw HttpError(400, "missing parameter " + name);
  if (value->empty() && !emptyOk) throw HttpError(400, name + ": must not be empty");
  return *value;
}

std::optional<std::string> limited(const Request& request, const std::string& name, std::size_t maxBytes) {
  auto value = request.param(name);
  if (value && value->size() > maxBytes) {
    throw HttpError(400, name + ": longer than " + std::to_string(maxBytes) + " bytes");
  }
  return value;
}

}  // namespace detail

Api::Api(const Settings& settings, DaemonLink& link, metrics::Registry& metrics, ConnectionPool& pool,
         Poco::Logger& logger)
    : settings_(settings), link_(link), metrics_(metrics), pool_(pool), log_(logger) {
  const std::set<std::string> get = {"GET"}, post = {"POST"}, write = {"PUT", "POST"}, del = {"DELETE"};
  route(get, "/api/run/list", &Api::listRuns);
  route(get, "/api/run/jobs", &Api::listJobs);
  route(get, "/api/run/running", &Api::listRunning);
  route(get, "/api/run/search", &Api::searchRuns);
  route(get, "/api/run/{id}", &Api::getRun);
  route(get, "/api/run/{id}.raw", &Api::getRawLog);
  route(write, "/api/run/start/{id}", &Api::startRun);
  route(write, "/api/run/stop/{id}", &Api::stopRun);
  route(post, "/api/run/application/{id}", &Api::scheduleRun);
  route(post, "/api/run/{id}/cancel", &Api::cancelRun);

  route(get, "/api/project/list", &Api::listProjects);
  route(get, "/api/project/search", &Api::searchProjects);
  route(get, "/api/project/{id}", &Api::getProject);
  route(post, "/api/project/", &Api::createProject);
  route(post, "/api/project", &Api::createProject);
  route(write, "/api/project/{id}", &Api::updateProject);
  route(del, "/api/project/{id}", &Api::deleteProject);

  route(get, "/api/application/list", &Api::listApplications);
  route(get, "/api/application/search", &Api::searchApplications);
  route(get, "/api/application/{id}", &Api::getApplication);
  route(post, "/api/application/", &Api::createApplication);
  route(post, "/api/application", &Api::createApplication);
  route(write, "/api/application/{id}", &Api::updateApplication);
  route(del, "/api/application/{id}", &Api::deleteApplication);

  route(post, "/api/wake", &Api::wake);
  route(get, "/api/status", &Api::status);
  route(get, "/healthz", &Api::health);
  route(get, "/metrics", &Api::metricsText);
}

void Api::route(std::set<std::string> methods, const std::string& pattern, Handler handler) {
  router_.add(std::move(methods), pattern);
  handlers_.push_back(handler);
}

std::size_t Api::maxBodyBytes() const {
  return static_cast<std::size_t>(settings_.api.maxLogBytes) + kOtherFieldsBytes;
}

Response Api::dispatch(const Request& request) {
  const RouteMatch match = router_.match(request.method, request.path);
  if (match.route >= 0) {
    requireUtf8(request.form);
    requireUtf8(request.query);
    return (this->*handlers_[static_cast<std::size_t>(match.route)])(request, match.id.value_or(0));
  }
  if (!match.allowed.empty()) {
    std::string allow;
    for (const auto& method : match.allowed) allow += (allow.empty() ? "" : ", ") + method;
    Response response = detail::json(405, errorBody("method " + request.method + " is not allowed on " +
                                                    request.path + " (allowed: " + allow + ")"));
    response.headers.emplace_back("Allow", allow);
    return response;
  }
  const bool underApi = request.path == "/api" || request.path.rfind("/api/", 0) == 0;
  if (!underApi && request.method == "GET") {
    if (const ui::Asset* asset = ui::findAsset(request.path)) {
      Response response;
      response.contentType = asset->contentType;
      response.body.assign(reinterpret_cast<const char*>(asset->data), asset->size);
      return response;
    }
  }
  if (underApi) throw HttpError(404, "no such route: " + request.method + " " + request.path);
  Response response;
  response.status = 404;
  response.contentType = "text/plain; charset=utf-8";
  response.body = "not found\n";
  return response;
}

namespace {
constexpr unsigned kNoSuchTable = 1146;  // ER_NO_SUCH_TABLE
}  // namespace

Response Api::handle(const Request& request) {
  // A lost connection is retried once on a fresh one: an idle pooled connection may have been
  // closed by the server (wait_timeout, a restart) since its last use.
  for (int attempt = 0;; ++attempt) {
    try {
      return dispatch(request);
    } catch (const HttpError& e) {
      return detail::json(e.status(), errorBody(e.what()));
    } catch (const db::Error& e) {
      if (e.code() == kNoSuchTable) {
        // The daemon creates Skynet's tables when it first reaches the database (runs/schema.h).
        return detail::json(503, errorBody("Skynet's tables do not exist yet: the daemon creates them when it "
                                           "first reaches the database; try again in a moment"));
      }
      if (!e.connectionLost() && !e.accessDenied()) {
        log_.error("API: %s %s: %s", request.method, request.path, std::string(e.what()));
        return detail::json(500, errorBody("database error; the daemon's log has the details"));
      }
      pool_.discardIdle();
      if (e.connectionLost() && attempt == 0) continue;
      log_.warning("API: %s %s: database unavailable: %s", request.method, request.path, std::string(e.what()));
      return detail::json(503, errorBody("the database is unavailable, try again later"));
    } catch (const std::exception& e) {
      log_.error("API: %s %s: %s", request.method, request.path, std::string(e.what()));
      return detail::json(500, errorBody("internal error; the daemon's log has the details"));
    }
  }
}

void Api::requireAdmin(const Request& request) const {
  switch (checkAdmin(request.authorization, settings_.api.adminKey)) {
    case AdminCheck::Granted:
      return;
    case AdminCheck::Disabled:
      throw HttpError(403, "management is disabled: set api.admin_key");
    case AdminCheck::Missing:
      throw HttpError(401, "this route needs the admin key: send Authorization: Bearer <api.admin_key>");
    case AdminCheck::Wrong:
      throw HttpError(401, "wrong admin key");
  }
}

bool Api::isAdmin(const Request& request) const {
  return checkAdmin(request.authorization, settings_.api.adminKey) == AdminCheck::Granted;
}

}  // namespace skynet::api
