// The API's pure parts: times, lackey's search syntax, forms, routing, credentials, UTF-8 tails
// and run folders. No sockets, no database.
#include <gtest/gtest.h>

#include "api/auth.h"
#include "api/http.h"
#include "api/router.h"
#include "api/search_query.h"
#include "api/time_text.h"
#include "runs/catalog.h"

namespace skynet::api {
namespace {

double epochOf(const std::string& text, const std::string& zone = "UTC") {
  const auto reading = parseTime(text, zone);
  if (!reading.epoch) throw std::runtime_error(text + ": " + reading.error);
  return *reading.epoch;
}

std::string errorOf(const std::string& text, const std::string& zone = "UTC") {
  const auto reading = parseTime(text, zone);
  return reading.epoch ? "(parsed)" : reading.error;
}

TEST(TimeText, ReadsEpochSecondsWholeOrWithAFraction) {
  EXPECT_EQ(epochOf("1796151600"), 1796151600.0);
  EXPECT_EQ(epochOf("1796151600.25"), 1796151600.25);
  EXPECT_EQ(parseEpoch("1796151600.5"), 1796151600.5);
  EXPECT_FALSE(parseEpoch("-5"));
  EXPECT_FALSE(parseEpoch("1e9"));
  EXPECT_FALSE(parseEpoch(""));
  EXPECT_FALSE(parseEpoch("12abc"));
  EXPECT_FALSE(parseEpoch("nan"));
}

TEST(TimeText, ReadsIso8601WithZOrAnOffset) {
  EXPECT_EQ(epochOf("2026-12-01T19:00:00Z"), 1796151600.0);
  EXPECT_EQ(epochOf("2026-12-01T20:00:00+01:00"), 1796151600.0);
  EXPECT_EQ(epochOf("2026-12-01T14:00:00-0500"), 1796151600.0);
  EXPECT_EQ(epochOf("2026-12-01 19:00Z"), 1796151600.0);
  EXPECT_EQ(epochOf("2026-12-01T19:00:00.5Z"), 1796151600.5);
}

TEST(TimeText, ReadsTimesWithoutAZoneInTheConfiguredZone) {
  // Zurich is UTC+1 in December and UTC+2 in July.
  EXPECT_EQ(epochOf("2026-12-01T20:00:00", "Europe/Zurich"), 1796151600.0);
  EXPECT_EQ(epochOf("12/01/2026 08:00:00 PM", "Europe/Zurich"), 1796151600.0);
  EXPECT_EQ(epochOf("07/01/2026 12:00:00 AM", "Europe/Zurich"), epochOf("2026-06-30T22:00:00Z"));
  EXPECT_EQ(epochOf("12/01/2026 07:00:00 PM"), 1796151600.0);
  EXPECT_EQ(epochOf("12/01/2026 12:30:00 PM"), epochOf("2026-12-01T12:30:00Z"));
}

TEST(TimeText, ReadsAWallClockTimeInADaylightSavingGapAsTheGapsEnd) {
  // 2026-03-29 02:30 does not exist in Zurich: clocks go from 02:00 to 03:00 (01:00 UTC).
  EXPECT_EQ(epochOf("03/29/2026 02:30:00 AM", "Europe/Zurich"), epochOf("2026-03-29T01:00:00Z"));
}

TEST(TimeText, RefusesMalformedOrImpossibleTimesSayingWhy) {
  EXPECT_NE(errorOf("tomorrow").find("expected epoch seconds, ISO 8601"), std::string::npos);
  EXPECT_NE(errorOf("2026-02-30T10:00:00Z").find("no such day"), std::string::npos);
  EXPECT_NE(errorOf("2026-13-01T10:00:00Z").find("month"), std::string::npos);
  EXPECT_NE(errorOf("13/01/2026 10:00:00 AM").find("month"), std::string::npos);
  EXPECT_NE(errorOf("12/01/2026 13:00:00 PM").find("hour"), std::string::npos);
  EXPECT_NE(errorOf("2026-12-01T25:00:00Z").find("time of day"), std::string::npos);
  EXPECT_NE(errorOf("2026-12-01T10:00:00", "Mars/Olympus").find("Mars/Olympus"), std::string::npos);
}

TEST(TimeText, WritesIsoUtcWithWholeSeconds) {
  EXPECT_EQ(isoUtc(1796151600.0), "2026-12-01T19:00:00Z");
  EXPECT_EQ(isoUtc(1796151600.9), "2026-12-01T19:00:00Z");
  EXPECT_EQ(isoUtc(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(isoUtc(-1), "");
}

const std::set<std::string> kCategories = {"project", "state", "id"};

TEST(SearchQuery, OrsValuesOfOneCategoryAndKeepsFreeText) {
  const auto parsed = parseSearch(R"(project: "proj 1" state: running  nightly state:failed build)", kCategories);
  ASSERT_TRUE(parsed.query) << parsed.error;
  EXPECT_EQ(parsed.query->categories.at("project"), std::vector<std::string>{"proj 1"});
  EXPECT_EQ(parsed.query->categories.at("state"), (std::vector<std::string>{"running", "failed"}));
  EXPECT_EQ(parsed.query->text, "nightly build");
}

TEST(SearchQuery, ReadsSingleQuotesEscapesAndCategoryCase) {
  const auto parsed = parseSearch(R"(Project: 'it\'s' "quoted text")", kCategories);
  ASSERT_TRUE(parsed.query) << parsed.error;
  EXPECT_EQ(parsed.query->categories.at("project"), std::vector<std::string>{"it's"});
  EXPECT_EQ(parsed.query->text, "quoted text");
}

TEST(SearchQuery, RefusesUnknownCategoriesUnclosedQuotesAndTooManyValues) {
  EXPECT_NE(parseSearch("colour: red", kCategories).error.find("unknown category \"colour\""), std::string::npos);
  EXPECT_NE(parseSearch("project: \"open", kCategories).error.find("unclosed quote"), std::string::npos);
  std::string many;
  for (int i = 0; i <= static_cast<int>(kMaxSearchValues); ++i) many += "id: " + std::to_string(i + 1) + " ";
  EXPECT_NE(parseSearch(many, kCategories).error.find("at most"), std::string::npos);
  EXPECT_TRUE(parseSearch("", kCategories).query);
  EXPECT_TRUE(parseSearch("a:b:c ::: \"\"", {"a"}).query);
}

TEST(Forms, DecodesPercentEscapesAndPlusAndKeepsTheFirstOfARepeatedName) {
  std::string error;
  const auto fields = parseUrlEncoded("token=ab%2Fc&ts=17.5&log=a+b%0Ac&empty=&flag&ts=9", error);
  ASSERT_TRUE(fields) << error;
  EXPECT_EQ(fields->at("token"), "ab/c");
  EXPECT_EQ(fields->at("ts"), "17.5");
  EXPECT_EQ(fields->at("log"), "a b\nc");
  EXPECT_EQ(fields->at("empty"), "");
  EXPECT_EQ(fields->at("flag"), "");
}

TEST(Forms, RefusesMalformedEscapesAndTooManyFields) {
  std::string error;
  EXPECT_FALSE(parseUrlEncoded("a=%4", error));
  EXPECT_FALSE(parseUrlEncoded("a=%zz", error));
  EXPECT_FALSE(parseUrlEncoded("a=1&b=2&c=3", error, 2));
  EXPECT_NE(error.find("more than 2 fields"), std::string::npos);
  EXPECT_EQ(decodePath("/api/run/5%2eraw"), "/api/run/5.raw");
  EXPECT_FALSE(decodePath("/api/%00"));
}

TEST(Router, MatchesIdsAndRawLogsAndTellsAWrongMethodFromAnUnknownPath) {
  Router router;
  const int get = router.add({"GET"}, "/api/run/{id}");
  const int raw = router.add({"GET"}, "/api/run/{id}.raw");
  const int start = router.add({"PUT", "POST"}, "/api/run/start/{id}");
  const int list = router.add({"GET"}, "/api/run/list");
  EXPECT_EQ(router.match("GET", "/api/run/42").route, get);
  EXPECT_EQ(router.match("GET", "/api/run/42").id, 42);
  EXPECT_EQ(router.match("GET", "/api/run/42.raw").route, raw);
  EXPECT_EQ(router.match("PUT", "/api/run/start/7").route, start);
  EXPECT_EQ(router.match("GET", "/api/run/list").route, list);
  const auto wrongMethod = router.match("DELETE", "/api/run/start/7");
  EXPECT_EQ(wrongMethod.route, -1);
  EXPECT_EQ(wrongMethod.allowed, (std::set<std::string>{"POST", "PUT"}));
  for (const char* path : {"/api/run/0", "/api/run/007", "/api/run/-1", "/api/run/12345678901234567890",
                           "/api/run/4x", "/api/run/42/", "api/run/42", "", "/api/run/.raw"}) {
    const auto none = router.match("GET", path);
    EXPECT_EQ(none.route, -1) << path;
    EXPECT_TRUE(none.allowed.empty()) << path;
  }
}

TEST(Credentials, ComparesExactlyAndReadsBearerKeys) {
  EXPECT_TRUE(constantTimeEquals("0123abcd", "0123abcd"));
  EXPECT_FALSE(constantTimeEquals("0123abce", "0123abcd"));
  EXPECT_FALSE(constantTimeEquals("0123abcd0123abcd", "0123abcd"));
  EXPECT_FALSE(constantTimeEquals("", "0123abcd"));
  EXPECT_FALSE(constantTimeEquals("", ""));
  EXPECT_EQ(bearerCredential("Bearer s3cret"), "s3cret");
  EXPECT_EQ(bearerCredential("bearer   s3cret "), "s3cret");
  EXPECT_EQ(bearerCredential("Basic czNjcmV0"), "");
  EXPECT_EQ(bearerCredential("Bearer"), "");
  EXPECT_EQ(checkAdmin("Bearer s3cret", ""), AdminCheck::Disabled);
  EXPECT_EQ(checkAdmin("", "s3cret"), AdminCheck::Missing);
  EXPECT_EQ(checkAdmin("Bearer nope", "s3cret"), AdminCheck::Wrong);
  EXPECT_EQ(checkAdmin("Bearer s3cret", "s3cret"), AdminCheck::Granted);
}

TEST(RunFolders, NormalisesRelativeFoldersAndRefusesThoseThatLeaveTheWorkdir) {
  std::string error;
  EXPECT_EQ(runs::normaliseDirectory("proj_1/", error), "proj_1/");
  EXPECT_EQ(runs::normaliseDirectory("./a//b/./c", error), "a/b/c/");
  for (const char* bad : {"/etc", "../x", "a/../../b", "a/..", "a\\b", "", ".", "a\x01"}) {
    EXPECT_FALSE(runs::normaliseDirectory(bad, error)) << bad;
  }
  EXPECT_FALSE(runs::normaliseDirectory(std::string("a\0b", 3), error));
  EXPECT_EQ(runs::joinDirectories("proj_1/", "app_1/"), "proj_1/app_1");
}

}  // namespace
}  // namespace skynet::api
