#include "api/time_text.h"

#include <cmath>
#include <cstdio>
#include <ctime>
#include <regex>
#include <stdexcept>

#include <date/tz.h>

namespace skynet::api {

namespace {

// The last second a 64-bit time_t and 4-digit years agree on: 9999-12-31T23:59:59Z.
constexpr double kLatest = 253402300799.0;

bool isLeap(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int daysIn(int year, int month) {
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && isLeap(year) ? 29 : days[month - 1];
}

struct Civil {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
};

// Epoch seconds of a civil time read as UTC, or an error naming the bad field.
std::optional<std::int64_t> civilSeconds(const Civil& c, std::string& error) {
  if (c.year < 1970 || c.year > 9999) {
    error = "the year must be from 1970 to 9999";
    return std::nullopt;
  }
  if (c.month < 1 || c.month > 12) {
    error = "the month must be from 1 to 12";
    return std::nullopt;
  }
  if (c.day < 1 || c.day > daysIn(c.year, c.month)) {
    error = "that month has no such day";
    return std::nullopt;
  }
  if (c.hour > 23 || c.minute > 59 || c.second > 59) {
    error = "the time of day is out of range";
    return std::nullopt;
  }
  std::tm tm{};
  tm.tm_year = c.year - 1900;
  tm.tm_mon = c.month - 1;
  tm.tm_mday = c.day;
  tm.tm_hour = c.hour;
  tm.tm_min = c.minute;
  tm.tm_sec = c.second;
  return static_cast<std::int64_t>(timegm(&tm));
}

int number(const std::string& text) { return text.empty() ? 0 : std::stoi(text); }

}  // namespace

std::string isoUtc(double epoch) {
  if (!std::isfinite(epoch) || epoch < 0 || epoch > kLatest) return "";
  const std::time_t seconds = static_cast<std::time_t>(std::floor(epoch));
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[80];  // room for any int the compiler imagines; the real text is 20 bytes
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec);
  return text;
}

std::optional<double> parseEpoch(const std::string& text) {
  static const std::regex decimal("[0-9]{1,12}(\\.[0-9]{1,9})?");
  if (!std::regex_match(text, decimal)) return std::nullopt;
  const double value = std::stod(text);
  if (!std::isfinite(value) || value > kLatest) return std::nullopt;
  return value;
}

TimeReading parseTime(const std::string& text, const std::string& zone) {
  if (text.size() > 64) return {std::nullopt, "too long for a time"};
  if (auto epoch = parseEpoch(text)) return {epoch, ""};

  static const std::regex iso(
      "([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(\\.[0-9]{1,9})?)?"
      "(Z|z|[+-][0-9]{2}:?[0-9]{2})?");
  static const std::regex lackey(
      "([0-9]{1,2})/([0-9]{1,2})/([0-9]{4}) ([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))? ?([AaPp][Mm])");
  std::smatch m;
  Civil civil;
  double fraction = 0;
  std::optional<int> offset;  // seconds east of UTC, when the text says
  if (std::regex_match(text, m, iso)) {
    civil = {number(m[1]), number(m[2]), number(m[3]), number(m[4]), number(m[5]), number(m[6])};
    if (m[7].matched) fraction = std::stod("0" + m[7].str());
    if (m[8].matched) {
      const std::string designator = m[8].str();
      if (designator == "Z" || designator == "z") {
        offset = 0;
      } else {
        const std::string digits = std::regex_replace(designator.substr(1), std::regex(":"), "");
        const int hours = number(digits.substr(0, 2)), minutes = number(digits.substr(2, 2));
        if (hours > 23 || minutes > 59) return {std::nullopt, "the UTC offset is out of range"};
        offset = (designator[0] == '-' ? -1 : 1) * (hours * 3600 + minutes * 60);
      }
    }
  } else if (std::regex_match(text, m, lackey)) {
    const int hour12 = number(m[4]);
    if (hour12 < 1 || hour12 > 12) return {std::nullopt, "the hour must be from 1 to 12 before AM/PM"};
    const bool pm = m[7].str()[0] == 'P' || m[7].str()[0] == 'p';
    civil = {number(m[3]), number(m[1]), number(m[2]), hour12 % 12 + (pm ? 12 : 0), number(m[5]), number(m[6])};
  } else {
    return {std::nullopt,
            "expected epoch seconds, ISO 8601 (2026-12-01T19:00:00Z) or MM/DD/YYYY hh:mm:ss AM/PM, got \"" + text +
                "\""};
  }
  std::string error;
  const auto wallClock = civilSeconds(civil, error);
  if (!wallClock) return {std::nullopt, error};
  std::int64_t utc = 0;
  if (offset) {
    utc = *wallClock - *offset;
  } else {
    // A wall-clock time in a DST gap is read as the gap's end; a repeated hour as its first pass.
    try {
      const date::local_seconds local{std::chrono::seconds{*wallClock}};
      utc = date::locate_zone(zone)->to_sys(local, date::choose::earliest).time_since_epoch().count();
    } catch (const std::runtime_error& e) {
      return {std::nullopt, std::string("time zone ") + zone + ": " + e.what()};
    }
  }
  const double epoch = static_cast<double>(utc) + fraction;
  if (epoch < 0 || epoch > kLatest) return {std::nullopt, "out of range"};
  return {epoch, ""};
}

}  // namespace skynet::api
