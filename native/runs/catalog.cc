#include "runs/catalog.h"

#include <mysqld_error.h>

#include <stdexcept>

#include "runs/filter_sql.h"

namespace skynet::runs {

namespace {

const std::vector<FilterColumn> kProjectCategories = {{"id", "p.id"}, {"name", "p.name"}, {"title", "p.title"}};
const std::vector<FilterColumn> kApplicationCategories = {
    {"id", "a.id"}, {"name", "a.name"}, {"command", "a.command"}, {"project", "p.name"}, {"project_id", "a.project_id"}};
const std::vector<const char*> kProjectText = {"p.description"};
const std::vector<const char*> kApplicationText = {"a.description"};

const char* const kProjectColumns =
    "SELECT p.id, p.name, p.title, p.description, p.directory, p.created, p.changed,"
    " (SELECT COUNT(*) FROM {skynet_application} c WHERE c.project_id = p.id) FROM {skynet_project} p ";
const char* const kApplicationColumns =
    "SELECT a.id, a.name, a.description, a.directory, a.command, a.project_id, p.name, p.directory, a.timeout,"
    " a.allow_parallel, a.cron, a.cron_next, a.created, a.changed,"
    " (SELECT COUNT(*) FROM {skynet_run} r WHERE r.application_id = a.id),"
    " (SELECT r.state FROM {skynet_run} r WHERE r.application_id = a.id ORDER BY r.id DESC LIMIT 1) "
    "FROM {skynet_application} a LEFT JOIN {skynet_project} p ON p.id = a.project_id ";

Project readProject(const db::Row& row) {
  return {row.integer(0), row.text(1), row.text(2), row.text(3), row.text(4), row.real(5), row.real(6), row.integer(7)};
}

Application readApplication(const db::Row& row) {
  Application app;
  app.id = row.integer(0);
  app.name = row.text(1);
  app.description = row.text(2);
  app.directory = row.text(3);
  app.command = row.text(4);
  app.projectId = row.integer(5);
  app.projectName = row.text(6);
  app.projectDirectory = row.text(7);
  if (!row.isNull(8)) app.timeout = static_cast<int>(row.integer(8));
  app.allowParallel = row.integer(9) != 0;
  if (!row.isNull(10)) app.cron = row.text(10);
  if (!row.isNull(11)) app.cronNext = row.real(11);
  app.created = row.real(12);
  app.changed = row.real(13);
  app.runCount = row.integer(14);
  if (!row.isNull(15)) app.lastRun = row.text(15);
  return app;
}

db::Value text(const std::optional<std::string>& value) {
  return value ? db::Value(*value) : db::Value(nullptr);
}

// Runs a write that may hit a unique key; a duplicate becomes DuplicateName(`what`).
template <typename Write>
auto unique(const std::string& what, Write write) {
  try {
    return write();
  } catch (const db::Error& e) {
    if (e.code() == ER_DUP_ENTRY) throw DuplicateName(what);
    throw;
  }
}

// The ids of running runs among `sql`'s (selected FOR UPDATE).
std::vector<std::int64_t> lockRuns(db::Connection& db, const std::string& sql, std::int64_t id,
                                   std::int64_t& count) {
  std::vector<std::int64_t> running;
  const auto rows = db.query(sql, {id});
  count = static_cast<std::int64_t>(rows.size());
  for (const auto& row : rows) {
    if (row.text(1) == "running") running.push_back(row.integer(0));
  }
  return running;
}

}  // namespace

std::optional<std::string> normaliseDirectory(const std::string& directory, std::string& error) {
  if (directory.size() > 1000) {
    error = "is longer than 1000 bytes";
    return std::nullopt;
  }
  if (!directory.empty() && directory[0] == '/') {
    error = "must be relative to runs.workdir, not absolute";
    return std::nullopt;
  }
  for (char c : directory) {
    if (c == '\\' || c == '\0' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      error = "must not hold a backslash, NUL or control character";
      return std::nullopt;
    }
  }
  std::string normal;
  std::size_t start = 0;
  while (start <= directory.size()) {
    std::size_t end = directory.find('/', start);
    if (end == std::string::npos) end = directory.size();
    const std::string component = directory.substr(start, end - start);
    if (component == "..") {
      error = "must not have a .. component (it would leave runs.workdir)";
      return std::nullopt;
    }
    if (!component.empty() && component != ".") normal += component + "/";
    start = end + 1;
  }
  if (normal.empty()) {
    error = "names no folder";
    return std::nullopt;
  }
  return normal;
}

std::string joinDirectories(const std::string& project, const std::string& application) {
  std::string error;
  std::string joined = normaliseDirectory(project + "/" + application, error).value_or("");
  if (!joined.empty()) joined.pop_back();
  return joined;
}

namespace {

// One page of a filtered listing: the total, then the rows of `select` (the columns and FROM part,
// followed by the WHERE clause and `order`) read by `read`.
template <typename T, typename Read>
Page<T> readPage(db::Connection& db, const std::string& count, const std::string& select, const std::string& where,
                 const std::string& order, std::vector<db::Value> params, const CatalogFilter& filter, Read read) {
  Page<T> page;
  page.total = db.queryOne(count + where, params)->integer(0);
  params.emplace_back(filter.limit);
  params.emplace_back(filter.offset);
  for (const auto& row : db.query(select + where + order + " LIMIT ? OFFSET ?", params)) page.items.push_back(read(row));
  return page;
}

}  // namespace

Page<Project> Catalog::projects(const CatalogFilter& filter) {
  return readPage<Project>(db_, "SELECT COUNT(*) FROM {skynet_project} p ",
                           kProjectColumns, "WHERE 1 = 1" + filterClauses(kProjectCategories, kProjectText),
                           "ORDER BY p.name, p.id",
                           filterParams(kProjectCategories, kProjectText, filter.categories, filter.text), filter,
                           readProject);
}

std::optional<Project> Catalog::project(std::int64_t id) {
  const auto row = db_.queryOne(kProjectColumns + std::string("WHERE p.id = ?"), {id});
  if (!row) return std::nullopt;
  return readProject(*row);
}

std::int64_t Catalog::createProject(const ProjectFields& fields, double now) {
  return unique("a project named \"" + fields.name.value_or("") + "\" exists already", [&] {
    db_.execute("INSERT INTO {skynet_project} (name, title, description, directory, created, changed)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                {*fields.name, fields.title.value_or(""), fields.description.value_or(""), *fields.directory, now, now});
    return static_cast<std::int64_t>(db_.lastInsertId());
  });
}

bool Catalog::updateProject(std::int64_t id, const ProjectFields& fields, double now) {
  return unique("a project named \"" + fields.name.value_or("") + "\" exists already", [&] {
    // COALESCE keeps a field the request did not give. MariaDB counts changed rows, not matched
    // ones, so a row that exists but did not change is found by reading it.
    return db_.execute("UPDATE {skynet_project} SET name = COALESCE(?, name), title = COALESCE(?, title),"
                       " description = COALESCE(?, description), directory = COALESCE(?, directory), changed = ?"
                       " WHERE id = ?",
                       {text(fields.name), text(fields.title), text(fields.description), text(fields.directory), now,
                        id}) > 0 ||
           project(id).has_value();
  });
}

std::optional<Deleted> Catalog::deleteProject(std::int64_t id) {
  db::Transaction transaction(db_);
  if (!db_.queryOne("SELECT id FROM {skynet_project} WHERE id = ? FOR UPDATE", {id})) return std::nullopt;
  Deleted deleted;
  deleted.runningRuns = lockRuns(db_,
                                 "SELECT r.id, r.state FROM {skynet_run} r JOIN {skynet_application} a"
                                 " ON a.id = r.application_id WHERE a.project_id = ? FOR UPDATE",
                                 id, deleted.runs);
  if (!deleted.runningRuns.empty()) return deleted;
  deleted.runs = static_cast<std::int64_t>(
      db_.execute("DELETE r FROM {skynet_run} r JOIN {skynet_application} a ON a.id = r.application_id"
                  " WHERE a.project_id = ?",
                  {id}));
  deleted.applications = static_cast<std::int64_t>(
      db_.execute("DELETE FROM {skynet_application} WHERE project_id = ?", {id}));
  deleted.projects = static_cast<std::int64_t>(db_.execute("DELETE FROM {skynet_project} WHERE id = ?", {id}));
  transaction.commit();
  return deleted;
}

Page<Application> Catalog::applications(const CatalogFilter& filter) {
  return readPage<Application>(
      db_, "SELECT COUNT(*) FROM {skynet_application} a LEFT JOIN {skynet_project} p ON p.id = a.project_id ",
      kApplicationColumns, "WHERE 1 = 1" + filterClauses(kApplicationCategories, kApplicationText),
      "ORDER BY a.name, a.id", filterParams(kApplicationCategories, kApplicationText, filter.categories, filter.text),
      filter, readApplication);
}

std::optional<Application> Catalog::application(std::int64_t id) {
  const auto row = db_.queryOne(kApplicationColumns + std::string("WHERE a.id = ?"), {id});
  if (!row) return std::nullopt;
  return readApplication(*row);
}

std::int64_t Catalog::createApplication(const ApplicationFields& f, double now) {
  const auto timeout = f.timeout.value_or(std::nullopt);
  const auto cron = f.cron.value_or(std::nullopt);
  const auto cronNext = f.cronNext.value_or(std::nullopt);
  return unique("project " + std::to_string(f.projectId.value_or(0)) + " has an application named \"" +
                    f.name.value_or("") + "\" already",
                [&] {
                  db_.execute("INSERT INTO {skynet_application} (project_id, name, description, directory, command,"
                              " timeout, allow_parallel, cron, cron_next, created, changed)"
                              " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                              {*f.projectId, *f.name, f.description.value_or(""), *f.directory, *f.command,
                               timeout ? db::Value(static_cast<std::int64_t>(*timeout)) : db::Value(nullptr),
                               static_cast<std::int64_t>(f.allowParallel.value_or(false) ? 1 : 0), text(cron),
                               cronNext ? db::Value(*cronNext) : db::Value(nullptr), now, now});
                  return static_cast<std::int64_t>(db_.lastInsertId());
                });
}

bool Catalog::updateApplication(std::int64_t id, const ApplicationFields& f, double now) {
  // A nullable field is (given?, value): the first parameter says whether to replace it.
  const auto given = [](bool set) { return db::Value(static_cast<std::int64_t>(set ? 1 : 0)); };
  const auto timeout = f.timeout.value_or(std::nullopt);
  const auto cron = f.cron.value_or(std::nullopt);
  const auto cronNext = f.cronNext.value_or(std::nullopt);
  return unique("project " + std::to_string(f.projectId.value_or(0)) + " has an application named \"" +
                    f.name.value_or("") + "\" already",
                [&] {
                  return db_.execute(
                             "UPDATE {skynet_application} SET name = COALESCE(?, name), description = COALESCE(?, description),"
                             " directory = COALESCE(?, directory), command = COALESCE(?, command),"
                             " project_id = COALESCE(?, project_id), allow_parallel = COALESCE(?, allow_parallel),"
                             " timeout = IF(? = 1, ?, timeout), cron = IF(? = 1, ?, cron),"
                             " cron_next = IF(? = 1, ?, cron_next), changed = ? WHERE id = ?",
                             {text(f.name), text(f.description), text(f.directory), text(f.command),
                              f.projectId ? db::Value(*f.projectId) : db::Value(nullptr),
                              f.allowParallel ? db::Value(static_cast<std::int64_t>(*f.allowParallel ? 1 : 0))
                                              : db::Value(nullptr),
                              given(f.timeout.has_value()),
                              timeout ? db::Value(static_cast<std::int64_t>(*timeout)) : db::Value(nullptr),
                              given(f.cron.has_value()), text(cron), given(f.cronNext.has_value()),
                              cronNext ? db::Value(*cronNext) : db::Value(nullptr), now, id}) > 0 ||
                         application(id).has_value();
                });
}

std::optional<Deleted> Catalog::deleteApplication(std::int64_t id) {
  db::Transaction transaction(db_);
  if (!db_.queryOne("SELECT id FROM {skynet_application} WHERE id = ? FOR UPDATE", {id})) return std::nullopt;
  Deleted deleted;
  deleted.runningRuns = lockRuns(db_, "SELECT id, state FROM {skynet_run} WHERE application_id = ? FOR UPDATE", id,
                                 deleted.runs);
  if (!deleted.runningRuns.empty()) return deleted;
  deleted.runs = static_cast<std::int64_t>(db_.execute("DELETE FROM {skynet_run} WHERE application_id = ?", {id}));
  deleted.applications = static_cast<std::int64_t>(db_.execute("DELETE FROM {skynet_application} WHERE id = ?", {id}));
  transaction.commit();
  return deleted;
}

std::vector<Application> Catalog::dueCronApplications(double now, int limit) {
  std::vector<Application> due;
  for (const auto& row : db_.query("SELECT id FROM {skynet_application} WHERE cron IS NOT NULL AND cron_next IS NOT NULL"
                                   " AND cron_next <= ? ORDER BY cron_next, id LIMIT ?",
                                   {now, static_cast<std::int64_t>(limit)})) {
    if (auto found = application(row.integer(0))) due.push_back(std::move(*found));
  }
  return due;
}

bool Catalog::advanceCron(std::int64_t id, double slot, std::optional<double> next) {
  return db_.execute("UPDATE {skynet_application} SET cron_next = ? WHERE id = ? AND cron_next = ?",
                     {next ? db::Value(*next) : db::Value(nullptr), id, slot}) == 1;
}

}  // namespace skynet::runs
