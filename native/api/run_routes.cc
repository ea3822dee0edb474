// The run routes of Api (api.h): listings, one run, its log, start/stop reports, scheduling
// and cancelling.
#include <fstream>
#include <functional>

#include "api/api.h"
#include "api/auth.h"
#include "api/json.h"
#include "api/search_query.h"
#include "api/time_text.h"
#include "runs/catalog.h"
#include "runs/filter_sql.h"
#include "runs/run_store.h"
#include "util/clock.h"
#include "util/utf8.h"

namespace skynet::api {

namespace {

using detail::json;

const std::set<std::string> kRunCategories = {"id",  "state", "kind", "project", "application", "project_id",
                                              "application_id", "site", "type", "host"};
const std::set<std::string> kNumericCategories = {"id", "project_id", "application_id"};
constexpr std::size_t kMaxByBytes = 255;

void addValues(std::map<std::string, std::vector<std::string>>& categories, const std::string& name,
               const std::string& commaList) {
  std::size_t start = 0;
  while (start <= commaList.size()) {
    std::size_t end = commaList.find(',', start);
    if (end == std::string::npos) end = commaList.size();
    const std::string value = commaList.substr(start, end - start);
    if (!value.empty()) categories[name].push_back(value);
    start = end + 1;
  }
}

// The filter of a run listing: state=, kind=, q= (search), limit, offset.
runs::RunFilter runFilter(const Request& request, bool search) {
  runs::RunFilter filter;
  if (search) {
    const auto parsed = parseSearch(request.param("q").value_or(""), kRunCategories);
    if (!parsed.query) throw HttpError(400, parsed.error);
    filter.categories = parsed.query->categories;
    filter.text = parsed.query->text;
  }
  if (const auto states = request.param("state")) addValues(filter.categories, "state", *states);
  if (const auto kind = request.param("kind"); kind && !kind->empty()) {
    if (*kind != "task" && *kind != "job") throw HttpError(400, "kind: expected task or job, got \"" + *kind + "\"");
    filter.categories["kind"].push_back(*kind);
  }
  for (const auto& [name, values] : filter.categories) {
    if (values.size() > runs::kFilterSlots) {
      throw HttpError(400, name + ": at most " + std::to_string(runs::kFilterSlots) + " values");
    }
    if (!kNumericCategories.count(name)) continue;
    for (const auto& value : values) {
      if (!parseId(value)) throw HttpError(400, "q: " + name + " must be a run, project or application id, got \"" + value + "\"");
    }
  }
  const auto page = detail::paging(request);
  filter.limit = page.limit;
  filter.offset = page.offset;
  filter.now = unixTime();
  return filter;
}

Poco::JSON::Array::Ptr runArray(const std::vector<runs::RunEntry>& entries) {
  Poco::JSON::Array::Ptr array = new Poco::JSON::Array;
  for (const auto& entry : entries) array->add(runJson(entry));
  return array;
}

// The last `maxBytes` of a file, or nullopt when it cannot be read.
std::optional<std::string> fileTail(const std::string& path, std::size_t maxBytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size < 0) return std::nullopt;
  const std::streamoff from = size > static_cast<std::streamoff>(maxBytes) ? size - static_cast<std::streamoff>(maxBytes) : 0;
  in.seekg(from);
  std::string data(static_cast<std::size_t>(size - from), '\0');
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  data.resize(static_cast<std::size_t>(in.gcount()));
  return data;
}

std::string notFound(std::int64_t id) { return "no run " + std::to_string(id); }

// The token check of start and stop: 401 without one, before anything is looked up.
std::string tokenOf(const Request& request) {
  const auto token = request.param("token");
  if (!token || token->empty()) throw HttpError(401, "you are not authorized: missing token");
  return *token;
}

double tsOf(const Request& request) {
  const auto text = request.param("ts");
  if (!text) throw HttpError(400, "missing parameter ts");
  const auto ts = parseEpoch(*text);
  if (!ts) throw HttpError(400, "ts: expected unix epoch seconds such as 1796151600 or 1796151600.5, got \"" + *text + "\"");
  return *ts;
}

}  // namespace

Response Api::runListing(const Request& request, bool dueOnly, bool runningOnly, bool search) {
  runs::RunFilter filter = runFilter(request, search);
  filter.dueOnly = dueOnly;
  filter.runningOnly = runningOnly;
  auto db = pool_.acquire();
  const auto page = runs::RunApiStore(*db).list(filter);
  return detail::listing(toText(runArray(page.runs)), page.total);
}

Response Api::listRuns(const Request& request, std::int64_t) { return runListing(request, false, false, false); }
Response Api::listJobs(const Request& request, std::int64_t) { return runListing(request, true, false, false); }
Response Api::listRunning(const Request& request, std::int64_t) { return runListing(request, false, true, false); }
Response Api::searchRuns(const Request& request, std::int64_t) { return runListing(request, false, false, true); }

Response Api::getRun(const Request& request, std::int64_t id) {
  auto db = pool_.acquire();
  const auto run = runs::RunApiStore(*db).run(id, isAdmin(request));
  if (!run) throw HttpError(404, notFound(id));
  return json(200, toText(runArray({*run})));
}

Response Api::getRawLog(const Request&, std::int64_t id) {
  std::optional<runs::RunApiStore::LogSource> source;
  {
    auto db = pool_.acquire();
    source = runs::RunApiStore(*db).logSource(id);
  }
  if (!source) throw HttpError(404, notFound(id));
  std::string text = source->logTail;
  if (source->state == runs::state::kRunning && !source->outputFile.empty()) {
    const auto maxBytes = static_cast<std::size_t>(settings_.api.maxLogBytes);
    if (auto live = fileTail(source->outputFile, maxBytes)) text = utf8Tail(*live, maxBytes);
  }
  Response response;
  response.contentType = "text/plain; charset=utf-8";
  response.body = validUtf8(text);
  return response;
}

// A start or stop report is read, decided and written without a lock: the run as it is (404 for
// an unknown run, 401 for a wrong token), the transition's verdict, and an update that applies
// only while the run is still in the state the verdict was made on (RunApiStore::applyStart,
// applyStop). When another report or the daemon came in between, the run is read again and
// decided anew. Two statements, where a locking transaction took five.
namespace {
constexpr int kReportAttempts = 8;

HttpError changedMeanwhile(std::int64_t id) {
  return HttpError(503, "run " + std::to_string(id) + " changed during each of " + std::to_string(kReportAttempts) +
                            " attempts to record the report; send it again");
}
}  // namespace

Response Api::report(std::int64_t id, const std::string& token,
                     const std::function<bool(runs::RunApiStore&, runs::RunEntry&)>& decideAndApply) {
  auto db = pool_.acquire();
  runs::RunApiStore store(*db);
  for (int attempt = 0; attempt < kReportAttempts; ++attempt) {
    auto run = store.run(id, true);
    if (!run) throw HttpError(404, notFound(id));
    if (!constantTimeEquals(token, run->token.value_or(""))) throw HttpError(401, "you are not authorized: wrong token");
    run->token.reset();  // never in the answer
    if (decideAndApply(store, *run)) return json(200, okEntry(runJson(*run)));
  }
  throw changedMeanwhile(id);
}

Response Api::startRun(const Request& request, std::int64_t id) {
  const std::string token = tokenOf(request);
  const double ts = tsOf(request);
  return report(id, token, [&](runs::RunApiStore& store, runs::RunEntry& run) {
    const auto decision = runs::decideStart(runs::RunApiStore::factsOf(run), ts);
    if (decision.verdict == runs::Verdict::Conflict) throw HttpError(409, "run " + std::to_string(id) + ": " + decision.conflict);
    if (decision.verdict == runs::Verdict::Apply) {
      if (!store.applyStart(id, ts, decision.setRunning, decision.setReportedStart)) return false;
      if (decision.setRunning) {
        run.state = runs::state::kRunning;
        run.started = ts;
      }
      if (decision.setReportedStart) run.reportedStart = ts;
    }
    return true;
  });
}

Response Api::stopRun(const Request& request, std::int64_t id) {
  const std::string token = tokenOf(request);
  runs::StopRequest stop;
  stop.ts = tsOf(request);
  if (const auto code = request.param("exit_code"); code && !code->empty()) {
    const auto value = *code == "0" ? std::optional<std::int64_t>(0) : parseId(*code);
    if (!value || *value > 255) throw HttpError(400, "exit_code: expected a whole number from 0 to 255, got \"" + *code + "\"");
    stop.exitCode = static_cast<int>(*value);
  }
  stop.logTail = utf8Tail(request.param("log").value_or(""),
                            static_cast<std::size_t>(settings_.api.maxLogBytes));
  return report(id, token, [&](runs::RunApiStore& store, runs::RunEntry& run) {
    const auto decision = runs::decideStop(runs::RunApiStore::factsOf(run), stop);
    if (decision.verdict == runs::Verdict::Conflict) throw HttpError(409, "run " + std::to_string(id) + ": " + decision.conflict);
    if (decision.verdict == runs::Verdict::Apply) {
      if (!store.applyStop(id, decision.newState, stop)) return false;
      run.state = decision.newState;
      run.stopped = stop.ts;
      run.reportedStop = stop.ts;
      run.exitCode = stop.exitCode;
      run.logTail = stop.logTail;
    }
    return true;
  });
}

Response Api::scheduleRun(const Request& request, std::int64_t applicationId) {
  requireAdmin(request);
  const double now = unixTime();
  double schedule = now;
  if (const auto text = request.param("schedule"); text && !text->empty()) {
    const auto reading = parseTime(*text, settings_.runs.timezone);
    if (!reading.epoch) throw HttpError(400, "schedule: " + reading.error);
    schedule = *reading.epoch;
  }
  auto db = pool_.acquire();
  const auto application = runs::Catalog(*db).application(applicationId);
  if (!application) throw HttpError(404, "no application " + std::to_string(applicationId));
  runs::NewJob job;
  job.applicationId = applicationId;
  job.directory = runs::joinDirectories(application->projectDirectory, application->directory);
  job.command = application->command;
  job.schedule = schedule;
  job.created = now;
  job.timeout = application->timeout ? application->timeout : std::optional<int>(settings_.runs.timeout);
  runs::RunApiStore store(*db);
  const std::int64_t id = store.scheduleJob(job);
  link_.wake(Wake::Schedules);  // due now: the daemon claims it; later: it learns the next schedule
  log_.information("API: run %s of application %s scheduled", std::to_string(id), std::to_string(applicationId));
  return json(200, okEntry(runJson(*store.run(id, true))));
}

Response Api::cancelRun(const Request& request, std::int64_t id) {
  requireAdmin(request);
  const std::string by = detail::limited(request, "by", kMaxByBytes).value_or("api");
  const double now = unixTime();
  auto db = pool_.acquire();
  runs::RunApiStore store(*db);
  runs::CancelAction action;
  {
    db::Transaction transaction(*db);
    const auto locked = store.lock(id);
    if (!locked) throw HttpError(404, notFound(id));
    const auto decision = runs::decideCancel(locked->facts);
    action = decision.action;
    if (action == runs::CancelAction::Conflict) throw HttpError(409, "run " + std::to_string(id) + ": " + decision.conflict);
    if (action == runs::CancelAction::CancelNow) store.cancelNow(id, now, by.empty() ? "api" : by);
    if (action == runs::CancelAction::RequestCancel) store.requestCancel(id, now, by.empty() ? "api" : by);
    transaction.commit();
  }
  if (action == runs::CancelAction::CancelNow) {
    log_.information("API: run %s cancelled before it ran", std::to_string(id));
    return json(200, okEntry(runJson(*store.run(id, false))));
  }
  link_.wake(Wake::Schedules);  // the daemon running it kills its process group and records the cancel
  log_.information("API: cancel of running run %s requested", std::to_string(id));
  return json(202, okEntry(runJson(*store.run(id, false))));
}

}  // namespace skynet::api
