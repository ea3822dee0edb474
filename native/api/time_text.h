// Times as the API reads and writes them. Answers carry ISO 8601 UTC text
// ("2026-12-01T19:00:00Z", whole seconds) with the exact epoch seconds beside it. Requests may
// give a time as:
//   - epoch seconds, whole or with a fraction ("1796151600", "1796151600.25");
//   - ISO 8601 ("2026-12-01T19:00:00Z", "2026-12-01T20:00:00+01:00", "...T19:00:00.5Z",
//     a space instead of T, seconds optional); without Z or an offset it is read in `zone`;
//   - lackey's picker format "MM/DD/YYYY hh:mm:ss AM/PM" (seconds optional), read in `zone`.
// Pure functions, thread-safe.
#pragma once

#include <optional>
#include <string>

namespace skynet::api {

// "2026-12-01T19:00:00Z"; "" for a time that is not a finite, non-negative number.
std::string isoUtc(double epoch);

// Epoch seconds only (`ts` of start/stop): a finite, non-negative decimal number.
std::optional<double> parseEpoch(const std::string& text);

struct TimeReading {
  std::optional<double> epoch;
  std::string error;  // what is wrong when epoch is empty
};
// Any of the forms above; `zone` names a tz database zone such as "UTC" or "Europe/Zurich".
TimeReading parseTime(const std::string& text, const std::string& zone);

}  // namespace skynet::api
