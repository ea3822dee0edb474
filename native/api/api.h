// The routes of the HTTP API (SPEC 3.4, api.md): what each answers, apart from sockets. The
// server (server.h) turns an HTTP request into a Request and writes back the Response; tests
// and the fuzz test call handle() directly too.
//
//   runs      GET /api/run/list|jobs|running|search|<id>|<id>.raw     open (token: admin key)
//             PUT|POST /api/run/start/<id>, /api/run/stop/<id>          the run's token
//             POST /api/run/application/<app id>, /api/run/<id>/cancel  admin key
//   catalog   GET /api/project|application/list|search|<id>            open
//             POST /api/project[/], POST|PUT|DELETE /api/project/<id>   admin key (same for
//             /api/application)
//   service   POST /api/wake (loopback peers), GET /api/status, /healthz, /metrics
//   else      GET of a web UI file (ui/assets.h); 404 JSON under /api/, 405 with Allow for a
//             known path with another method.
//
// Errors are `{"status":"error","message":…}` naming the parameter: 400 bad or missing, 401
// token or key wrong or missing, 403 management disabled (no api.admin_key) or wake from
// another host, 404, 405, 409 a transition the state machine refuses (runs/transitions.h),
// 503 the database is down. A refused request changes nothing: each write decides under a
// row lock and writes in the same transaction.
//
// Threading: handle() may be called from many threads at once; each call leases its own
// database connection from the pool.
#pragma once

#include <Poco/Logger.h>

#include <functional>
#include <map>

#include "api/connection_pool.h"
#include "api/daemon_link.h"
#include "api/http.h"
#include "api/router.h"
#include "config/settings.h"
#include "metrics/metrics.h"
#include "runs/run_store.h"

namespace skynet::api {

class Api {
 public:
  Api(const Settings& settings, DaemonLink& link, metrics::Registry& metrics, ConnectionPool& pool,
      Poco::Logger& logger);

  // Never throws: every failure becomes an error answer.
  Response handle(const Request& request);

  // The cap of a request body: api.max_log_bytes for the log plus 64 KiB for the other fields.
  std::size_t maxBodyBytes() const;

 private:
  using Handler = Response (Api::*)(const Request&, std::int64_t id);

  void route(std::set<std::string> methods, const std::string& pattern, Handler handler);
  Response dispatch(const Request& request);

  // Runs (run_routes.cc).
  Response listRuns(const Request& request, std::int64_t);
  Response listJobs(const Request& request, std::int64_t);
  Response listRunning(const Request& request, std::int64_t);
  Response searchRuns(const Request& request, std::int64_t);
  Response getRun(const Request& request, std::int64_t id);
  Response getRawLog(const Request& request, std::int64_t id);
  // A start or stop report (see run_routes.cc): reads the run (404, 401), then `decideAndApply`
  // answers 409 by throwing, or returns false when the run changed before its update applied.
  Response report(std::int64_t id, const std::string& token,
                  const std::function<bool(runs::RunApiStore&, runs::RunEntry&)>& decideAndApply);
  Response startRun(const Request& request, std::int64_t id);
  Response stopRun(const Request& request, std::int64_t id);
  Response scheduleRun(const Request& request, std::int64_t applicationId);
  Response cancelRun(const Request& request, std::int64_t id);
  Response runListing(const Request& request, bool dueOnly, bool runningOnly, bool search);

  // Projects and applications (catalog_routes.cc).
  Response listProjects(const Request& request, std::int64_t);
  Response searchProjects(const Request& request, std::int64_t);
  Response getProject(const Request& request, std::int64_t id);
  Response createProject(const Request& request, std::int64_t);
  Response updateProject(const Request& request, std::int64_t id);
  Response deleteProject(const Request& request, std::int64_t id);
  Response listApplications(const Request& request, std::int64_t);
  Response searchApplications(const Request& request, std::int64_t);
  Response getApplication(const Request& request, std::int64_t id);
  Response createApplication(const Request& request, std::int64_t);
  Response updateApplication(const Request& request, std::int64_t id);
  Response deleteApplication(const Request& request, std::int64_t id);

  // Service routes (service_routes.cc).
  Response wake(const Request& request, std::int64_t);
  Response status(const Request& request, std::int64_t);
  Response health(const Request& request, std::int64_t);
  Response metricsText(const Request& request, std::int64_t);

  // Throws HttpError 403/401 unless the request carries the admin key.
  void requireAdmin(const Request& request) const;
  bool isAdmin(const Request& request) const;

  const Settings settings_;
  DaemonLink& link_;
  metrics::Registry& metrics_;
  ConnectionPool& pool_;
  Poco::Logger& log_;
  Router router_;
  std::vector<Handler> handlers_;
};

// Helpers the route files share.
namespace detail {

struct Paging {
  std::int64_t limit = 100, offset = 0;
};
// `limit` (0..1000, default 100) and `offset` (>= 0, default 0); HttpError 400 otherwise.
Paging paging(const Request& request);
// A JSON array answer with the X-Total-Count header.
Response listing(const std::string& jsonArray, std::int64_t total);
Response json(int status, const std::string& body);
// A required field: HttpError 400 naming it when absent (or empty, unless `emptyOk`).
std::string required(const Request& request, const std::string& name, bool emptyOk = false);
// An optional field no longer than `maxBytes` (HttpError 400 naming it).
std::optional<std::string> limited(const Request& request, const std::string& name, std::size_t maxBytes);

}  // namespace detail

}  // namespace skynet::api
