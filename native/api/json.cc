#include "api/json.h"

#include <Poco/JSON/Stringifier.h>

#include <sstream>

#include "api/time_text.h"
#include "util/utf8.h"

namespace skynet::api {

namespace {

using Poco::Dynamic::Var;

Var text(const std::string& value) { return validUtf8(value); }

template <typename T>
Var nullable(const std::optional<T>& value) {
  return value ? Var(*value) : Var();
}

}  // namespace

Poco::JSON::Object::Ptr newObject() { return new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER); }

void putTime(Poco::JSON::Object& object, const std::string& name, const std::optional<double>& epoch) {
  object.set(name, epoch ? isoUtc(*epoch) : std::string());
  object.set(name + "_ts", nullable(epoch));
}

Poco::JSON::Object::Ptr runJson(const runs::RunEntry& run) {
  auto o = newObject();
  o->set("id", run.id);
  o->set("kind", run.kind);
  o->set("state", run.state);
  o->set("application_id", nullable(run.applicationId));
  o->set("application_name", text(run.applicationName));
  o->set("project_id", nullable(run.projectId));
  o->set("project_name", text(run.projectName));
  o->set("task_nid", nullable(run.taskNid));
  o->set("task_vid", nullable(run.taskVid));
  o->set("task_rid", nullable(run.taskRid));
  o->set("task_type", text(run.taskType));
  o->set("site", text(run.kind == "task" ? run.site : ""));
  o->set("directory", text(run.directory));
  o->set("command", text(run.command));
  putTime(*o, "schedule", run.schedule);
  putTime(*o, "start", run.started);
  putTime(*o, "end", run.stopped);
  std::optional<double> duration;
  if (run.started && run.stopped) duration = *run.stopped - *run.started;
  o->set("duration", nullable(duration));
  o->set("exit_code", nullable(run.exitCode));
  o->set("signal", nullable(run.signal));
  o->set("worker_id", nullable(run.workerId));
  o->set("host", text(run.host));
  o->set("pid", nullable(run.pid));
  o->set("attempts", run.attempts);
  o->set("message", text(run.message));
  o->set("cancel_requested", run.cancelRequested.has_value());
  o->set("cancelled_by", text(run.cancelledBy));
  if (run.logTail) o->set("raw_log", text(*run.logTail));
  if (run.token) o->set("token", *run.token);
  return o;
}

Poco::JSON::Object::Ptr projectJson(const runs::Project& p) {
  auto o = newObject();
  o->set("id", p.id);
  o->set("name", text(p.name));
  o->set("title", text(p.title));
  o->set("description", text(p.description));
  o->set("directory", text(p.directory));
  putTime(*o, "created", p.created);
  putTime(*o, "changed", p.changed);
  o->set("application_count", p.applicationCount);
  return o;
}

Poco::JSON::Object::Ptr applicationJson(const runs::Application& a) {
  auto o = newObject();
  o->set("id", a.id);
  o->set("name", text(a.name));
  o->set("description", text(a.description));
  o->set("directory", text(a.directory));
  o->set("command", text(a.command));
  o->set("project_id", a.projectId);
  o->set("project_name", text(a.projectName));
  o->set("project_directory", text(a.projectDirectory));
  o->set("timeout", nullable(a.timeout));
  o->set("allow_parallel", a.allowParallel ? 1 : 0);
  o->set("cron", a.cron ? text(*a.cron) : Var());
  putTime(*o, "cron_next", a.cronNext);
  putTime(*o, "created", a.created);
  putTime(*o, "changed", a.changed);
  o->set("run_count", a.runCount);
  o->set("last_run", a.lastRun ? Var(*a.lastRun) : Var());
  return o;
}

std::string toText(const Var& value) {
  std::ostringstream out;
  Poco::JSON::Stringifier::stringify(value, out, 0, -1, Poco::JSON_WRAP_STRINGS);
  return out.str();
}

std::string okEntry(const Poco::JSON::Object::Ptr& entry) {
  auto o = newObject();
  o->set("status", "ok");
  o->set("entry", entry);
  return toText(o);
}

std::string errorBody(const std::string& message) {
  auto o = newObject();
  o->set("status", "error");
  o->set("message", text(message));
  return toText(o);
}

}  // namespace skynet::api
