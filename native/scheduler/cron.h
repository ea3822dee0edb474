// A recurring schedule of a lackey application (SPEC §3.6): a 5-field cron expression, evaluated
// as a pure function of (expression, instant, time zone), so every rule is testable without a
// clock, a database or the process's TZ.
//
// Syntax: "minute hour day-of-month month day-of-week", fields separated by blanks. Each field is
// a comma list of items: `*`, a number, a range `a-b`, or either with a step (`*/n`, `a-b/n`,
// `a/n` meaning a to the field's maximum). Ranges: minute 0-59, hour 0-23, day-of-month 1-31,
// month 1-12 or jan..dec, day-of-week 0-7 or sun..sat (0 and 7 are both Sunday). Names are
// case-insensitive. A range must not run backwards; a step must be at least 1.
//
// Day rule (as Debian's cron): when both day-of-month and day-of-week are restricted (neither
// field starts with `*`), a day matches if EITHER matches; otherwise both must match (the `*`
// one matches every day). A day-of-month that never occurs in the chosen months (30 February)
// is rejected by parse(), since it would never run.
//
// Time zones: slots are wall-clock times in a tz database zone (libdate-tz with the system
// tzdata; the process's TZ is never read or set, so this is safe in a multi-threaded daemon).
// Daylight saving:
// - a slot in a skipped hour (spring forward) runs at the first instant after the gap, once,
//   however many slots the gap holds;
// - a slot in a repeated hour (fall back) runs once, at its first occurrence.
//
// Threading: a CronSchedule is an immutable value; every method may be called from any thread.
#pragma once

#include <bitset>
#include <optional>
#include <string>

namespace skynet::scheduler {

class CronSchedule {
 public:
  // nullopt and `error` set (naming the field and what is wrong) when `expression` is bad.
  static std::optional<CronSchedule> parse(const std::string& expression, std::string& error);

  // The first slot strictly after `after` (unix seconds), evaluated in time zone `zone` (a tz
  // database name such as "Europe/Zurich"); nullopt if none within 5 years. Throws
  // std::invalid_argument naming the zone when it is not in the tz database.
  std::optional<double> next(double after, const std::string& zone) const;

  // The expression as given, blanks normalised to single spaces.
  const std::string& expression() const { return expression_; }

 private:
  CronSchedule() = default;
  bool matchesDay(int dayOfMonth, unsigned month, unsigned weekday) const;

  std::string expression_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> daysOfMonth_;  // 1..31
  std::bitset<13> months_;       // 1..12
  std::bitset<7> daysOfWeek_;    // 0 = Sunday .. 6
  bool dayOfMonthRestricted_ = false;
  bool dayOfWeekRestricted_ = false;
};

}  // namespace skynet::scheduler
