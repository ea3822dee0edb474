// Credentials of the API: the admin key (`Authorization: Bearer <api.admin_key>`) for
// management routes, and a run's token (form field `token`) for its start and stop. Both are
// compared in constant time, so the time an answer takes says nothing about how much of a
// guess was right. Pure functions, thread-safe.
#pragma once

#include <string>

namespace skynet::api {

// Compares in time that depends only on the lengths, not on where the strings differ.
bool constantTimeEquals(const std::string& given, const std::string& expected);

// The credential of an `Authorization: Bearer <credential>` header ("" when there is none;
// the scheme is case-insensitive).
std::string bearerCredential(const std::string& authorization);

enum class AdminCheck { Granted, Disabled, Missing, Wrong };
// `adminKey` empty: management is disabled whatever the request says.
AdminCheck checkAdmin(const std::string& authorization, const std::string& adminKey);

}  // namespace skynet::api
