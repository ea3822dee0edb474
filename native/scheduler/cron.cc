#include "scheduler/cron.h"

#include <date/tz.h>

#include <array>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace skynet::scheduler {
namespace {

struct Field {
  const char* name;
  int min;
  int max;
  const char* const* names;  // names[i] means min + i; nullptr when the field has none
  int nameCount;
};

constexpr const char* kMonthNames[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                       "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr const char* kWeekdayNames[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

constexpr std::array<Field, 5> kFields = {{
    {"minute", 0, 59, nullptr, 0},
    {"hour", 0, 23, nullptr, 0},
    {"day-of-month", 1, 31, nullptr, 0},
    {"month", 1, 12, kMonthNames, 12},
    {"day-of-week", 0, 7, kWeekdayNames, 7},
}};

// The longest each month can be (February in a leap year), to reject days that never occur.
constexpr int kLongestMonth[] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// One field's items as a bit mask (bit v set: value v matches), or an error naming the field.
class FieldParser {
 public:
  FieldParser(const Field& field, std::string& error) : field_(field), error_(error) {}

  std::optional<std::uint64_t> parse(const std::string& text) {
    std::uint64_t mask = 0;
    std::size_t begin = 0;
    while (true) {
      const std::size_t comma = text.find(',', begin);
      const std::string item = text.substr(begin, comma == std::string::npos ? std::string::npos : comma - begin);
      if (item.empty()) return fail("empty item in the list \"" + text + "\"");
      const auto items = parseItem(item);
      if (!items) return std::nullopt;
      mask |= *items;
      if (comma == std::string::npos) return mask;
      begin = comma + 1;
    }
  }

 private:
  std::optional<std::uint64_t> parseItem(const std::string& item) {
    item_ = item;
    std::string range = item;
    int step = 1;
    const std::size_t slash = item.find('/');
    if (slash != std::string::npos) {
      range = item.substr(0, slash);
      const std::string stepText = item.substr(slash + 1);
      const auto parsed = number(stepText, "step");
      if (!parsed) return std::nullopt;
      if (*parsed < 1) return fail("step \"" + stepText + "\" must be at least 1");
      step = *parsed;
    }
    int low = field_.min;
    int high = field_.max;
    if (range == "*") {
      if (field_.min == 0 && field_.max == 7) high = 6;  // Sunday once, not as 0 and 7
    } else {
      const std::size_t dash = range.find('-');
      const auto first = value(range.substr(0, dash));
      if (!first) return std::nullopt;
      low = *first;
      if (dash != std::string::npos) {
        const auto last = value(range.substr(dash + 1));
        if (!last) return std::nullopt;
        high = *last;
        if (high < low) return fail("range \"" + range + "\" runs backwards");
      } else if (slash == std::string::npos) {
        high = low;
      }
    }
    std::uint64_t mask = 0;
    for (int v = low; v <= high; v += step) mask |= std::uint64_t{1} << v;
    return mask;
  }

  // A number within the field's range, or one of its names.
  std::optional<int> value(const std::string& text) {
    if (text.empty()) return fail("a value is missing in \"" + item_ + "\"");
    if (std::isalpha(static_cast<unsigned char>(text[0]))) {
      const std::string name = lower(text);
      for (int i = 0; i < field_.nameCount; ++i) {
        if (name == field_.names[i]) return field_.min + i;
      }
      if (field_.nameCount == 0) return fail("\"" + text + "\" is not a number");
      return fail("unknown name \"" + text + "\" (use " + field_.names[0] + ".." +
                  field_.names[field_.nameCount - 1] + " or numbers)");
    }
    const auto parsed = number(text, "value");
    if (!parsed) return std::nullopt;
    if (*parsed < field_.min || *parsed > field_.max) {
      return fail(text + " is out of range " + std::to_string(field_.min) + "-" + std::to_string(field_.max));
    }
    return parsed;
  }

  std::optional<int> number(const std::string& text, const char* what) {
    if (text.empty()) return fail(std::string("a ") + what + " is missing");
    if (text.size() > 4) return fail(std::string(what) + " \"" + text + "\" is too long");
    int result = 0;
    for (char c : text) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return fail("\"" + text + "\" is not a number");
      result = result * 10 + (c - '0');
    }
    return result;
  }

  std::nullopt_t fail(const std::string& what) {
    error_ = std::string(field_.name) + ": " + what;
    return std::nullopt;
  }

  const Field& field_;
  std::string& error_;
  std::string item_;  // the item being parsed, for messages
};

std::vector<std::string> splitBlanks(const std::string& text) {
  std::vector<std::string> words;
  std::istringstream in(text);
  std::string word;
  while (in >> word) words.push_back(word);
  return words;
}

}  // namespace

std::optional<CronSchedule> CronSchedule::parse(const std::string& expression, std::string& error) {
  const std::vector<std::string> words = splitBlanks(expression);
  if (words.size() != kFields.size()) {
    error = "expected 5 fields (minute hour day-of-month month day-of-week), got " + std::to_string(words.size());
    return std::nullopt;
  }
  std::array<std::uint64_t, 5> masks{};
  for (std::size_t i = 0; i < kFields.size(); ++i) {
    const auto mask = FieldParser(kFields[i], error).parse(words[i]);
    if (!mask) return std::nullopt;
    masks[i] = *mask;
  }
  CronSchedule schedule;
  schedule.expression_ = words[0];
  for (std::size_t i = 1; i < words.size(); ++i) schedule.expression_ += " " + words[i];
  schedule.minutes_ = std::bitset<60>(masks[0]);
  schedule.hours_ = std::bitset<24>(masks[1]);
  schedule.daysOfMonth_ = std::bitset<32>(masks[2]);
  schedule.months_ = std::bitset<13>(masks[3]);
  const std::uint64_t sunday = (masks[4] >> 7) & 1;
  schedule.daysOfWeek_ = std::bitset<7>((masks[4] | sunday) & 0x7f);
  schedule.dayOfMonthRestricted_ = words[2][0] != '*';
  schedule.dayOfWeekRestricted_ = words[4][0] != '*';

  if (!schedule.dayOfWeekRestricted_ || !schedule.dayOfMonthRestricted_) {
    bool someDayOccurs = false;
    for (int month = 1; month <= 12 && !someDayOccurs; ++month) {
      if (!schedule.months_[static_cast<std::size_t>(month)]) continue;
      for (int day = 1; day <= kLongestMonth[month] && !someDayOccurs; ++day) {
        someDayOccurs = schedule.daysOfMonth_[static_cast<std::size_t>(day)];
      }
    }
    if (!someDayOccurs) {
      error = "day-of-month: \"" + words[2] + "\" never occurs in month \"" + words[3] + "\"";
      return std::nullopt;
    }
  }
  return schedule;
}

bool CronSchedule::matchesDay(int dayOfMonth, unsigned month, unsigned weekday) const {
  if (!months_[month]) return false;
  const bool dayOfMonthMatches = daysOfMonth_[static_cast<std::size_t>(dayOfMonth)];
  const bool dayOfWeekMatches = daysOfWeek_[weekday];
  if (dayOfMonthRestricted_ && dayOfWeekRestricted_) return dayOfMonthMatches || dayOfWeekMatches;
  return dayOfMonthMatches && dayOfWeekMatches;
}

std::optional<double> CronSchedule::next(double after, const std::string& zone) const {
  using namespace std::chrono;
  const date::time_zone* tz = nullptr;
  try {
    tz = date::locate_zone(zone);
  } catch (const std::exception&) {
    throw std::invalid_argument("unknown time zone \"" + zone + "\" (not in the tz database)");
  }
  if (!std::isfinite(after)) return std::nullopt;

  const auto afterSecond = date::sys_seconds{seconds{static_cast<std::int64_t>(std::floor(after))}};
  // Wall-clock slots map to instants in non-decreasing order (gaps go to the transition, repeated
  // hours to their first pass), so walking local days from after's own local day, the first slot
  // whose instant lies after `after` is the answer.
  date::local_days day = date::floor<date::days>(tz->to_local(afterSecond));
  constexpr int kHorizonDays = 5 * 366;
  for (int i = 0; i <= kHorizonDays; ++i, day += date::days{1}) {
    const date::year_month_day ymd{day};
    const auto dayOfMonth = static_cast<int>(static_cast<unsigned>(ymd.day()));
    if (!matchesDay(dayOfMonth, static_cast<unsigned>(ymd.month()), date::weekday{day}.c_encoding())) continue;
    for (std::size_t hour = 0; hour < hours_.size(); ++hour) {
      if (!hours_[hour]) continue;
      for (std::size_t minute = 0; minute < minutes_.size(); ++minute) {
        if (!minutes_[minute]) continue;
        const date::local_seconds slot = day + hours{static_cast<int>(hour)} + minutes{static_cast<int>(minute)};
        const date::local_info info = tz->get_info(slot);
        date::sys_seconds instant;
        if (info.result == date::local_info::nonexistent) {
          instant = info.second.begin;  // the first instant after the skipped hour
        } else {
          instant = date::sys_seconds{slot.time_since_epoch()} - info.first.offset;  // first pass
        }
        if (static_cast<double>(instant.time_since_epoch().count()) > after) {
          return static_cast<double>(instant.time_since_epoch().count());
        }
      }
    }
  }
  return std::nullopt;
}

}  // namespace skynet::scheduler
