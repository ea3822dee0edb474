// The project and application routes of Api (api.h): lackey's six routes each, with the
// checks lackey lacked (required fields, unique names, folders that stay inside runs.workdir,
// cron expressions, never deleting a running run).
#include "api/api.h"
#include "api/json.h"
#include "api/search_query.h"
#include "runs/catalog.h"
#include "scheduler/cron.h"
#include "util/clock.h"

namespace skynet::api {

namespace {

using detail::json;

constexpr std::size_t kNameBytes = 255;
constexpr std::size_t kTextBytes = 65535;

const std::set<std::string> kProjectCategories = {"id", "name", "title"};
const std::set<std::string> kApplicationCategories = {"id", "name", "command", "project", "project_id"};

runs::CatalogFilter catalogFilter(const Request& request, bool search, const std::set<std::string>& categories) {
  runs::CatalogFilter filter;
  if (search) {
    const auto parsed = parseSearch(request.param("q").value_or(""), categories);
    if (!parsed.query) throw HttpError(400, parsed.error);
    filter.categories = parsed.query->categories;
    filter.text = parsed.query->text;
    for (const char* numeric : {"id", "project_id"}) {
      const auto found = filter.categories.find(numeric);
      if (found == filter.categories.end()) continue;
      for (const auto& value : found->second) {
        if (!parseId(value)) throw HttpError(400, std::string("q: ") + numeric + " must be an id, got \"" + value + "\"");
      }
    }
  }
  const auto page = detail::paging(request);
  filter.limit = page.limit;
  filter.offset = page.offset;
  return filter;
}

std::string directoryOr(const Request& request, const std::string& fallback) {
  const auto given = request.param("directory");
  const std::string directory = given && !given->empty() ? *given : fallback;
  std::string error;
  const auto normal = runs::normaliseDirectory(directory, error);
  if (!normal) throw HttpError(400, "directory: \"" + directory + "\" " + error);
  return *normal;
}

std::optional<std::string> name(const Request& request, bool required) {
  const auto value = detail::limited(request, "name", kNameBytes);
  if (!value) {
    if (required) throw HttpError(400, "missing parameter name");
    return std::nullopt;
  }
  if (value->empty()) throw HttpError(400, "name: must not be empty");
  return value;
}

std::string deletedBody(const runs::Deleted& deleted) {
  auto counts = newObject();
  counts->set("projects", deleted.projects);
  counts->set("applications", deleted.applications);
  counts->set("runs", deleted.runs);
  auto body = newObject();
  body->set("status", "ok");
  body->set("deleted", counts);
  return toText(body);
}

std::string runningRunsMessage(const std::string& what, const std::vector<std::int64_t>& ids) {
  std::string list;
  for (auto id : ids) list += (list.empty() ? "" : ", ") + std::to_string(id);
  return what + " has running runs (" + list + "); cancel them or wait for them to end";
}

// The application fields a create or update gives, checked; `existing` for an update.
runs::ApplicationFields applicationFields(const Request& request, runs::Catalog& catalog, const Settings& settings,
                                          const std::optional<runs::Application>& existing) {
  runs::ApplicationFields fields;
  const bool creating = !existing;
  fields.name = name(request, creating);
  fields.description = detail::limited(request, "description", kTextBytes);
  fields.command = detail::limited(request, "command", kTextBytes);
  if (creating && !fields.command) throw HttpError(400, "missing parameter command");
  if (fields.command && fields.command->empty()) throw HttpError(400, "command: must not be empty");

  if (const auto project = request.param("project_id"); project || creating) {
    if (!project) throw HttpError(400, "missing parameter project_id");
    const auto id = parseId(*project);
    if (!id) throw HttpError(400, "project_id: expected a project id, got \"" + *project + "\"");
    if (!catalog.project(*id)) throw HttpError(400, "project_id: no project " + *project);
    fields.projectId = id;
  }
  if (creating || request.param("directory")) {
    fields.directory = directoryOr(request, fields.name.value_or(existing ? existing->name : "") + "/");
  }
  if (const auto timeout = request.param("timeout")) {
    if (timeout->empty()) {
      fields.timeout = std::optional<int>();
    } else {
      const auto value = *timeout == "0" ? std::optional<std::int64_t>(0) : parseId(*timeout);
      if (!value || *value > 2147483647) throw HttpError(400, "timeout: expected whole seconds, 0 or more, got \"" + *timeout + "\"");
      fields.timeout = std::optional<int>(static_cast<int>(*value));
    }
  }
  if (const auto parallel = request.param("allow_parallel"); parallel && !parallel->empty()) {
    if (*parallel == "1" || *parallel == "true") fields.allowParallel = true;
    else if (*parallel == "0" || *parallel == "false") fields.allowParallel = false;
    else throw HttpError(400, "allow_parallel: expected 0 or 1, got \"" + *parallel + "\"");
  }
  if (const auto cron = detail::limited(request, "cron", 128)) {
    if (cron->empty()) {
      fields.cron = std::optional<std::string>();
      fields.cronNext = std::optional<double>();
    } else {
      std::string error;
      const auto schedule = scheduler::CronSchedule::parse(*cron, error);
      if (!schedule) throw HttpError(400, "cron: " + error);
      fields.cron = std::optional<std::string>(schedule->expression());
      fields.cronNext = schedule->next(unixTime(), settings.runs.timezone);
    }
  }
  return fields;
}

}  // namespace

Response Api::listProjects(const Request& request, std::int64_t) {
  const auto filter = catalogFilter(request, false, kProjectCategories);
  auto db = pool_.acquire();
  const auto page = runs::Catalog(*db).projects(filter);
  Poco::JSON::Array::Ptr array = new Poco::JSON::Array;
  for (const auto& project : page.items) array->add(projectJson(project));
  return detail::listing(toText(array), page.total);
}

Response Api::searchProjects(const Request& request, std::int64_t) {
  const auto filter = catalogFilter(request, true, kProjectCategories);
  auto db = pool_.acquire();
  const auto page = runs::Catalog(*db).projects(filter);
  Poco::JSON::Array::Ptr array = new Poco::JSON::Array;
  for (const auto& project : page.items) array->add(projectJson(project));
  return detail::listing(toText(array), page.total);
}

Response Api::getProject(const Request&, std::int64_t id) {
  auto db = pool_.acquire();
  const auto project = runs::Catalog(*db).project(id);
  if (!project) throw HttpError(404, "no project " + std::to_string(id));
  Poco::JSON::Array::Ptr array = new Poco::JSON::Array;
  array->add(projectJson(*project));
  return json(200, toText(array));
}

Response Api::createProject(const Request& request, std::int64_t) {
  requireAdmin(request);
  runs::ProjectFields fields;
  fields.name = name(request, true);
  fields.title = detail::limited(request, "title", kNameBytes);
  fields.description = detail::limited(request, "description", kTextBytes);
  fields.directory = directoryOr(request, *fields.name + "/");
  auto db = pool_.acquire();
  runs::Catalog catalog(*db);
  std::int64_t id = 0;
  try {
    id = catalog.createProject(fields, unixTime());
  } catch (const runs::DuplicateName& e) {
    throw HttpError(409, e.what());
  }
  log_.information("API: project %s \"%s\" created", std::to_string(id), *fields.name);
  return json(200, okEntry(projectJson(*catalog.project(id))));
}

Response Api::updateProject(const Request& request, std::int64_t id) {
  requireAdmin(request);
  auto db = pool_.acquire();
  runs::Catalog catalog(*db);
  if (!catalog.project(id)) throw HttpError(404, "no project " + std::to_string(id));
  runs::ProjectFields fields;
  fields.name = name(request, false);
  fields.title = detail::limited(request, "title", kNameBytes);
  fields.description = detail::limited(request, "description", kTextBytes);
  if (request.param("directory")) fields.directory = directoryOr(request, "");
  try {
    if (!catalog.updateProject(id, fields, unixTime())) throw HttpError(404, "no project " + std::to_string(id));
  } catch (const runs::DuplicateName& e) {
    throw HttpError(409, e.what());
  }
  return json(200, okEntry(projectJson(*catalog.project(id))));
}

Response Api::deleteProject(const Request& request, std::int64_t id) {
  requireAdmin(request);
  auto db = pool_.acquire();
  const auto deleted = runs::Catalog(*db).deleteProject(id);
  if (!deleted) throw HttpError(404, "no project " + std::to_string(id));
  if (!deleted->runningRuns.empty()) {
    throw HttpError(409, runningRunsMessage("project " + std::to_string(id), deleted->runningRuns));
  }
  log_.information("API: project %s deleted with %s applications and %s runs", std::to_string(id),
                   std::to_string(deleted->applications), std::to_string(deleted->runs));
  return json(200, deletedBody(*deleted));
}

Response Api::listApplications(const Request& request, std::int64_t) {
  const auto filter = catalogFilter(request, false, kApplicationCategories);
  auto db = pool_.acquire();
  const auto page = runs::Catalog(*db).applications(filter);
  Poco::JSON::Array::Ptr array = new Poco::JSON::Array;
  for (const auto& application : page.items) array->add(applicationJson(application));
  return detail::listing(toText(array), page.total);
}

Response Api::searchApplications(const Request& request, std::int64_t) {
  const auto filter = catalogFilter(request, true, kApplicationCategories);
  auto db = pool_.acquire();
  const auto page = runs::Catalog(*db).applications(filter);
  Poco::JSON::Array::Ptr array = new Poco::JSON::Array;
  for (const auto& application : page.items) array->add(applicationJson(application));
  return detail::listing(toText(array), page.total);
}

Response Api::getApplication(const Request&, std::int64_t id) {
  auto db = pool_.acquire();
  const auto application = runs::Catalog(*db).application(id);
  if (!application) throw HttpError(404, "no application " + std::to_string(id));
  Poco::JSON::Array::Ptr array = new Poco::JSON::Array;
  array->add(applicationJson(*application));
  return json(200, toText(array));
}

Response Api::createApplication(const Request& request, std::int64_t) {
  requireAdmin(request);
  auto db = pool_.acquire();
  runs::Catalog catalog(*db);
  const auto fields = applicationFields(request, catalog, settings_, std::nullopt);
  std::int64_t id = 0;
  try {
    id = catalog.createApplication(fields, unixTime());
  } catch (const runs::DuplicateName& e) {
    throw HttpError(409, e.what());
  }
  if (fields.cron) link_.wake(Wake::Schedules);  // the daemon reads the next cron slot at its next poll
  log_.information("API: application %s \"%s\" created", std::to_string(id), *fields.name);
  return json(200, okEntry(applicationJson(*catalog.application(id))));
}

Response Api::updateApplication(const Request& request, std::int64_t id) {
  requireAdmin(request);
  auto db = pool_.acquire();
  runs::Catalog catalog(*db);
  const auto existing = catalog.application(id);
  if (!existing) throw HttpError(404, "no application " + std::to_string(id));
  const auto fields = applicationFields(request, catalog, settings_, existing);
  try {
    if (!catalog.updateApplication(id, fields, unixTime())) throw HttpError(404, "no application " + std::to_string(id));
  } catch (const runs::DuplicateName& e) {
    throw HttpError(409, e.what());
  }
  if (fields.cron) link_.wake(Wake::Schedules);
  return json(200, okEntry(applicationJson(*catalog.application(id))));
}

Response Api::deleteApplication(const Request& request, std::int64_t id) {
  requireAdmin(request);
  auto db = pool_.acquire();
  const auto deleted = runs::Catalog(*db).deleteApplication(id);
  if (!deleted) throw HttpError(404, "no application " + std::to_string(id));
  if (!deleted->runningRuns.empty()) {
    throw HttpError(409, runningRunsMessage("application " + std::to_string(id), deleted->runningRuns));
  }
  log_.information("API: application %s deleted with %s runs", std::to_string(id), std::to_string(deleted->runs));
  return json(200, deletedBody(*deleted));
}

}  // namespace skynet::api
