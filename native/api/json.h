// The JSON shapes of the API's answers (api.md): run entries, projects, applications, the
// envelopes `{"status":"ok","entry":…}` / `{"status":"error","message":…}`. Times are ISO 8601
// UTC text with the epoch seconds beside in `<name>_ts` ("" and null when unset). Every string
// is valid UTF-8 (invalid bytes become U+FFFD). Pure functions, thread-safe.
#pragma once

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <optional>
#include <string>

#include "runs/catalog.h"
#include "runs/run_store.h"

namespace skynet::api {

Poco::JSON::Object::Ptr newObject();
// Sets `name` (ISO text) and `name_ts` (epoch seconds or null).
void putTime(Poco::JSON::Object& object, const std::string& name, const std::optional<double>& epoch);

// A run entry; with "raw_log" when the entry carries its log tail and "token" when it carries it.
Poco::JSON::Object::Ptr runJson(const runs::RunEntry& run);
Poco::JSON::Object::Ptr projectJson(const runs::Project& project);
Poco::JSON::Object::Ptr applicationJson(const runs::Application& application);

std::string toText(const Poco::Dynamic::Var& value);
std::string okEntry(const Poco::JSON::Object::Ptr& entry);
std::string errorBody(const std::string& message);

}  // namespace skynet::api
