#include "scheduler/cron.h"

#include <date/date.h>
#include <gtest/gtest.h>

#include <stdexcept>

namespace skynet::scheduler {
namespace {

// Unix seconds of a UTC wall-clock time.
double utc(int year, unsigned month, unsigned day, int hour = 0, int minute = 0, int second = 0) {
  using namespace std::chrono;
  const date::sys_seconds t = date::sys_days{date::year{year} / date::month{month} / date::day{day}} +
                              hours{hour} + minutes{minute} + seconds{second};
  return static_cast<double>(t.time_since_epoch().count());
}

CronSchedule parsed(const std::string& expression) {
  std::string error;
  const auto schedule = CronSchedule::parse(expression, error);
  if (!schedule) throw std::runtime_error("\"" + expression + "\" did not parse: " + error);
  return *schedule;
}

std::string errorOf(const std::string& expression) {
  std::string error;
  const auto schedule = CronSchedule::parse(expression, error);
  return schedule ? "(parsed)" : error;
}

double nextUtc(const std::string& expression, double after) {
  const auto next = parsed(expression).next(after, "UTC");
  if (!next) throw std::runtime_error("no next slot for " + expression);
  return *next;
}

TEST(Cron, EveryMinuteIsTheNextWholeMinute) {
  EXPECT_EQ(nextUtc("* * * * *", utc(2026, 5, 4, 10, 7, 30)), utc(2026, 5, 4, 10, 8));
  EXPECT_EQ(nextUtc("* * * * *", utc(2026, 5, 4, 10, 7, 30) + 0.25), utc(2026, 5, 4, 10, 8));
}

TEST(Cron, NextIsStrictlyAfterTheGivenInstant) {
  EXPECT_EQ(nextUtc("30 10 * * *", utc(2026, 5, 4, 10, 30)), utc(2026, 5, 5, 10, 30));
  EXPECT_EQ(nextUtc("30 10 * * *", utc(2026, 5, 4, 10, 29, 59) + 0.5), utc(2026, 5, 4, 10, 30));
}

TEST(Cron, RollsOverHoursDaysMonthsAndYears) {
  EXPECT_EQ(nextUtc("0 * * * *", utc(2026, 12, 31, 23, 0)), utc(2027, 1, 1, 0, 0));
  EXPECT_EQ(nextUtc("15 3 1 * *", utc(2026, 1, 31, 12)), utc(2026, 2, 1, 3, 15));
}

TEST(Cron, StepsRangesAndListsCombine) {
  // Every 20 minutes from 9 to 17 on weekdays: Friday 17:40 is followed by Monday 9:00.
  const double friday = utc(2026, 5, 8, 17, 40);
  EXPECT_EQ(nextUtc("*/20 9-17 * * 1-5", friday), utc(2026, 5, 11, 9, 0));
  EXPECT_EQ(nextUtc("*/20 9-17 * * 1-5", utc(2026, 5, 11, 9, 0)), utc(2026, 5, 11, 9, 20));
  EXPECT_EQ(nextUtc("5,35 1,13 * * *", utc(2026, 5, 11, 1, 5)), utc(2026, 5, 11, 1, 35));
  EXPECT_EQ(nextUtc("5,35 1,13 * * *", utc(2026, 5, 11, 1, 35)), utc(2026, 5, 11, 13, 5));
  EXPECT_EQ(nextUtc("10-30/10 * * * *", utc(2026, 5, 11, 1, 30)), utc(2026, 5, 11, 2, 10));
  EXPECT_EQ(nextUtc("50/5 * * * *", utc(2026, 5, 11, 1, 56)), utc(2026, 5, 11, 2, 50));
}

TEST(Cron, MonthAndWeekdayNamesAreCaseInsensitive) {
  EXPECT_EQ(nextUtc("0 12 * JUN-aug Sat", utc(2026, 1, 1)), utc(2026, 6, 6, 12));
  EXPECT_EQ(nextUtc("0 12 1 mar,Sep *", utc(2026, 3, 2)), utc(2026, 9, 1, 12));
}

TEST(Cron, SundayIsBothZeroAndSeven) {
  // 2026-05-10 is a Sunday.
  EXPECT_EQ(nextUtc("0 8 * * 0", utc(2026, 5, 4)), utc(2026, 5, 10, 8));
  EXPECT_EQ(nextUtc("0 8 * * 7", utc(2026, 5, 4)), utc(2026, 5, 10, 8));
  EXPECT_EQ(nextUtc("0 8 * * 5-7", utc(2026, 5, 9, 9)), utc(2026, 5, 10, 8));
}

TEST(Cron, EitherDayMatchesWhenBothDayFieldsAreRestricted) {
  // The 13th, or any Friday: from Saturday 2026-05-02, Friday the 8th comes before the 13th.
  EXPECT_EQ(nextUtc("0 0 13 * 5", utc(2026, 5, 2)), utc(2026, 5, 8));
  EXPECT_EQ(nextUtc("0 0 13 * 5", utc(2026, 5, 8)), utc(2026, 5, 13));
}

TEST(Cron, BothDayFieldsMustMatchWhenOneStartsWithAStar) {
  EXPECT_EQ(nextUtc("0 0 * * 5", utc(2026, 5, 2)), utc(2026, 5, 8));
  EXPECT_EQ(nextUtc("0 0 13 * *", utc(2026, 5, 2)), utc(2026, 5, 13));
  // As Debian's cron: "*/2" counts as unrestricted, so it is odd days that are also Fridays.
  EXPECT_EQ(nextUtc("0 0 */2 * 5", utc(2026, 5, 2)), utc(2026, 5, 15));
}

TEST(Cron, FindsALeapDayYearsAhead) {
  EXPECT_EQ(nextUtc("0 0 29 2 *", utc(2025, 3, 1)), utc(2028, 2, 29));
}

TEST(Cron, NoSlotWithinFiveYearsIsNone) {
  // 2100 is no leap year, so after 2096 the next 29 February is in 2104: beyond the horizon.
  EXPECT_FALSE(parsed("0 0 29 2 *").next(utc(2096, 3, 1), "UTC").has_value());
}

TEST(Cron, EvaluatesWallClockTimeInTheGivenZone) {
  // 09:00 in Zurich is 08:00 UTC in winter (CET) and 07:00 UTC in summer (CEST).
  const auto nine = parsed("0 9 * * *");
  EXPECT_EQ(nine.next(utc(2026, 1, 10), "Europe/Zurich"), utc(2026, 1, 10, 8));
  EXPECT_EQ(nine.next(utc(2026, 7, 10), "Europe/Zurich"), utc(2026, 7, 10, 7));
  EXPECT_EQ(nine.next(utc(2026, 7, 10), "America/New_York"), utc(2026, 7, 10, 13));
  // The day is the zone's day: at 23:30 UTC on the 10th it is already the 11th in Tokyo.
  EXPECT_EQ(parsed("0 12 11 * *").next(utc(2026, 7, 10, 23, 30), "Asia/Tokyo"), utc(2026, 7, 11, 3));
}

TEST(Cron, ASlotInASkippedHourRunsOnceAtTheFirstInstantAfterIt) {
  // Zurich springs forward on 2026-03-29 at 02:00 CET (01:00 UTC) to 03:00 CEST.
  const auto everyQuarterAtTwo = parsed("*/15 2 * * *");
  const double gapStart = utc(2026, 3, 29, 1, 0);
  EXPECT_EQ(everyQuarterAtTwo.next(utc(2026, 3, 28, 12), "Europe/Zurich"), gapStart);
  // Once: the other three slots of the gap do not run again at the same instant or later.
  EXPECT_EQ(everyQuarterAtTwo.next(gapStart, "Europe/Zurich"), utc(2026, 3, 30, 0, 0));
  // A slot at the first instant after the gap coincides with it: still once.
  const auto twoAndThree = parsed("0 2,3 * * *");
  EXPECT_EQ(twoAndThree.next(utc(2026, 3, 28, 12), "Europe/Zurich"), gapStart);
  EXPECT_EQ(twoAndThree.next(gapStart, "Europe/Zurich"), utc(2026, 3, 30, 0, 0));
}

TEST(Cron, ASlotInARepeatedHourRunsOnceAtItsFirstPass) {
  // Zurich falls back on 2026-10-25 at 03:00 CEST (01:00 UTC) to 02:00 CET: 02:xx happens twice.
  const auto halfPastTwo = parsed("30 2 * * *");
  const double firstPass = utc(2026, 10, 25, 0, 30);
  EXPECT_EQ(halfPastTwo.next(utc(2026, 10, 24, 12), "Europe/Zurich"), firstPass);
  EXPECT_EQ(halfPastTwo.next(firstPass, "Europe/Zurich"), utc(2026, 10, 26, 1, 30));
  // From inside the second pass, too, the next run is the next day's.
  EXPECT_EQ(halfPastTwo.next(utc(2026, 10, 25, 1, 10), "Europe/Zurich"), utc(2026, 10, 26, 1, 30));
  // Hourly slots outside the repeated hour are unaffected: 01:00, 02:00 (once), 03:00 local.
  const auto hourly = parsed("0 * * * *");
  EXPECT_EQ(hourly.next(utc(2026, 10, 24, 23, 0), "Europe/Zurich"), utc(2026, 10, 25, 0, 0));
  EXPECT_EQ(hourly.next(utc(2026, 10, 25, 0, 0), "Europe/Zurich"), utc(2026, 10, 25, 2, 0));
}

TEST(Cron, AnUnknownZoneIsAnErrorNamingIt) {
  try {
    (void)parsed("* * * * *").next(utc(2026, 1, 1), "Mars/Olympus_Mons");
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("Mars/Olympus_Mons"), std::string::npos) << e.what();
  }
}

TEST(Cron, NormalisesBlanksInTheExpression) {
  EXPECT_EQ(parsed("  */5\t1  * *   mon ").expression(), "*/5 1 * * mon");
}

TEST(Cron, RejectsBadExpressionsNamingTheFieldAndTheProblem) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "expected 5 fields (minute hour day-of-month month day-of-week), got 0"},
      {"* * * *", "expected 5 fields (minute hour day-of-month month day-of-week), got 4"},
      {"* * * * * *", "got 6"},
      {"60 * * * *", "minute: 60 is out of range 0-59"},
      {"* 24 * * *", "hour: 24 is out of range 0-23"},
      {"* * 0 * *", "day-of-month: 0 is out of range 1-31"},
      {"* * 32 * *", "day-of-month: 32 is out of range 1-31"},
      {"* * * 13 *", "month: 13 is out of range 1-12"},
      {"* * * * 8", "day-of-week: 8 is out of range 0-7"},
      {"*/0 * * * *", "minute: step \"0\" must be at least 1"},
      {"*/x * * * *", "minute: \"x\" is not a number"},
      {"5-2 * * * *", "minute: range \"5-2\" runs backwards"},
      {"1,,2 * * * *", "minute: empty item in the list \"1,,2\""},
      {"-5 * * * *", "minute: a value is missing in \"-5\""},
      {"* * * foo *", "month: unknown name \"foo\" (use jan..dec or numbers)"},
      {"* * * * monday", "day-of-week: unknown name \"monday\" (use sun..sat or numbers)"},
      {"* mon * * *", "hour: \"mon\" is not a number"},
      {"1.5 * * * *", "minute: \"1.5\" is not a number"},
      {"* * 30 2 *", "day-of-month: \"30\" never occurs in month \"2\""},
      {"* * 31 apr,jun *", "day-of-month: \"31\" never occurs in month \"apr,jun\""},
  };
  for (const auto& [expression, expected] : cases) {
    EXPECT_NE(errorOf(expression).find(expected), std::string::npos)
        << "\"" << expression << "\" gave: " << errorOf(expression) << "\nexpected: " << expected;
  }
}

TEST(Cron, AcceptsADayThatOccursInOnlySomeOfTheMonths) {
  EXPECT_EQ(nextUtc("0 0 31 * *", utc(2026, 4, 1)), utc(2026, 5, 31));
  // Both restricted: the 30th of February never occurs, but every Monday in February does.
  EXPECT_EQ(nextUtc("0 0 30 2 mon", utc(2026, 1, 1)), utc(2026, 2, 2));
}

}  // namespace
}  // namespace skynet::scheduler
