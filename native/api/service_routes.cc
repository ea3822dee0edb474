// The service routes of Api (api.h): wake-ups, the status the front end shows, health and
// Prometheus metrics.
#include <algorithm>
#include <cmath>

#include "aegir/task_queue.h"
#include "api/api.h"
#include "api/json.h"
#include "runs/run_store.h"
#include "util/clock.h"

namespace skynet::api {

namespace {

using detail::json;

constexpr double kWorkersShownFor = 3600.0;  // a worker silent longer drops out of the status

}  // namespace

Response Api::wake(const Request& request, std::int64_t) {
  if (!request.fromLoopback) throw HttpError(403, "wake-ups are accepted from this host (loopback) only");
  link_.wake(Wake::Tasks);
  auto body = newObject();
  body->set("status", "ok");
  return json(202, toText(body));
}

Response Api::status(const Request&, std::int64_t) {
  const double now = unixTime();
  auto db = pool_.acquire();
  runs::RunApiStore store(*db);
  aegir::TaskQueue tasks(*db);

  runs::RunFilter running;
  running.runningOnly = true;
  running.limit = 1000;
  const auto runningRuns = store.list(running).runs;

  Poco::JSON::Array::Ptr workers = new Poco::JSON::Array;
  for (const auto& worker : store.workers(now - kWorkersShownFor)) {
    auto o = newObject();
    o->set("id", worker.id);
    o->set("host", worker.host);
    o->set("pid", worker.pid);
    o->set("version", worker.version);
    putTime(*o, "started", worker.started);
    putTime(*o, "heartbeat", worker.heartbeat);
    o->set("heartbeat_age", std::max(0.0, now - worker.heartbeat));
    o->set("alive", !worker.stopped && now - worker.heartbeat <= runs::kWorkerAliveWindow);
    Poco::JSON::Array::Ptr mine = new Poco::JSON::Array;
    for (const auto& run : runningRuns) {
      if (run.workerId && *run.workerId == worker.id) mine->add(runJson(run));
    }
    o->set("running", mine);
    workers->add(o);
  }
  Poco::JSON::Array::Ptr all = new Poco::JSON::Array;
  for (const auto& run : runningRuns) all->add(runJson(run));

  auto body = newObject();
  body->set("workers", workers);
  body->set("queue_depth", tasks.queueDepth());
  body->set("jobs_due", store.countDue(now));
  body->set("running", all);
  body->set("paused", tasks.paused().value_or(false));
  return json(200, toText(body));
}

Response Api::health(const Request&, std::int64_t) {
  Response response;
  response.contentType = "text/plain; charset=utf-8";
  const double allowed = std::max(3 * settings_.queue.pollInterval, 10.0);
  const double age = unixTime() - link_.lastLoopTurn();
  if (!(age <= allowed)) {
    response.status = 503;
    response.body = "the daemon's loop last turned " + std::to_string(static_cast<long>(std::floor(age))) +
                    " s ago (allowed: " + std::to_string(static_cast<long>(allowed)) + " s)\n";
    return response;
  }
  try {
    auto db = pool_.acquire();
    db->queryOne("SELECT 1");
  } catch (const db::Error& e) {
    pool_.discardIdle();
    response.status = 503;
    response.body = "the database is unreachable: " + std::string(e.what()) + "\n";
    return response;
  }
  response.body = "ok\n";
  return response;
}

Response Api::metricsText(const Request&, std::int64_t) {
  std::vector<std::pair<std::string, double>> gauges;
  try {
    auto db = pool_.acquire();
    runs::RunApiStore store(*db);
    gauges.emplace_back("skynet_queue_depth", static_cast<double>(aegir::TaskQueue(*db).queueDepth()));
    gauges.emplace_back("skynet_jobs_due", static_cast<double>(store.countDue(unixTime())));
    gauges.emplace_back("skynet_runs_running{kind=\"task\"}", static_cast<double>(store.countRunning("task")));
    gauges.emplace_back("skynet_runs_running{kind=\"job\"}", static_cast<double>(store.countRunning("job")));
    gauges.emplace_back("skynet_database_up", 1);
  } catch (const db::Error&) {
    // The daemon's own counters still tell an operator something during an outage.
    pool_.discardIdle();
    gauges = {{"skynet_database_up", 0}};
  }
  Response response;
  response.contentType = "text/plain; version=0.0.4; charset=utf-8";
  response.body = metrics_.render(gauges);
  return response;
}

}  // namespace skynet::api
