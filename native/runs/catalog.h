// lackey's projects and applications (skynet_project, skynet_application): the one place with
// SQL about those tables. A project is a folder under runs.workdir; an application a folder in
// it and the command run there. Deleting a project deletes its applications and their runs, as
// lackey did, but never while one of those runs is running.
//
// Listings are ordered by name, paged, and searchable with the same fixed-slot filters as runs
// (see RunApiStore): projects by name and title, applications by name, command, project and
// project_id; free text matches the description.
// Not thread-safe: one Catalog per connection, as the connection itself.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "db/connection.h"

namespace skynet::runs {

// A folder relative to runs.workdir as stored: components joined by "/", "." and empty ones
// dropped, with a trailing "/". nullopt (and `error` says why) when it is absolute, has a ".."
// component, a NUL, a backslash or a control character, or names no folder at all.
std::optional<std::string> normaliseDirectory(const std::string& directory, std::string& error);
// The run folder of an application: its project's folder joined with its own, normalised,
// without the trailing "/" (e.g. "proj_1/app_1").
std::string joinDirectories(const std::string& project, const std::string& application);

struct Project {
  std::int64_t id = 0;
  std::string name, title, description, directory;
  double created = 0, changed = 0;
  std::int64_t applicationCount = 0;
};

struct Application {
  std::int64_t id = 0;
  std::string name, description, directory, command;
  std::int64_t projectId = 0;
  std::string projectName, projectDirectory;
  std::optional<int> timeout;
  bool allowParallel = false;
  std::optional<std::string> cron;
  std::optional<double> cronNext;
  double created = 0, changed = 0;
  std::int64_t runCount = 0;
  std::optional<std::string> lastRun;  // state of its newest run
};

// Fields of a create or update; an absent field keeps its value (update) or gets its default.
struct ProjectFields {
  std::optional<std::string> name, title, description, directory;
};
struct ApplicationFields {
  std::optional<std::string> name, description, directory, command;
  std::optional<std::int64_t> projectId;
  std::optional<std::optional<int>> timeout;  // set to nullopt: back to runs.timeout
  std::optional<bool> allowParallel;
  std::optional<std::optional<std::string>> cron;
  std::optional<std::optional<double>> cronNext;
};

struct CatalogFilter {
  std::map<std::string, std::vector<std::string>> categories;
  std::string text;
  std::int64_t limit = 100, offset = 0;
};

template <typename T>
struct Page {
  std::vector<T> items;
  std::int64_t total = 0;
};

struct Deleted {
  std::int64_t projects = 0, applications = 0, runs = 0;
  std::vector<std::int64_t> runningRuns;  // non-empty: nothing was deleted
};

// Thrown when a unique name is taken (project name, application name within its project).
class DuplicateName : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Catalog {
 public:
  explicit Catalog(db::Connection& connection) : db_(connection) {}

  // Throw std::invalid_argument for an unknown category or too many values.
  Page<Project> projects(const CatalogFilter& filter);
  std::optional<Project> project(std::int64_t id);
  // `fields.name` and `fields.directory` must be set (the caller applies defaults and checks).
  std::int64_t createProject(const ProjectFields& fields, double now);
  // False when there is no such project.
  bool updateProject(std::int64_t id, const ProjectFields& fields, double now);
  // In its own transaction; refuses (runningRuns set) while one of its runs is running.
  std::optional<Deleted> deleteProject(std::int64_t id);

  Page<Application> applications(const CatalogFilter& filter);
  std::optional<Application> application(std::int64_t id);
  std::int64_t createApplication(const ApplicationFields& fields, double now);
  bool updateApplication(std::int64_t id, const ApplicationFields& fields, double now);
  std::optional<Deleted> deleteApplication(std::int64_t id);

  // Applications whose next cron slot has come (cron_next <= now), oldest slot first.
  std::vector<Application> dueCronApplications(double now, int limit);
  // Moves an application's next slot from `slot` to `next` (nullopt: none); false when someone
  // else (another daemon) moved it first, so each slot makes one run.
  bool advanceCron(std::int64_t id, double slot, std::optional<double> next);

 private:
  db::Connection& db_;
};

}  // namespace skynet::runs
