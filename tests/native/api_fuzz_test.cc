// A bounded randomized test of request parsing and routing: 20,000 requests, random and mutated
// from real ones, first straight into Api::handle (routing, forms, searches, times, the SQL
// behind them against the real MariaDB), then as raw bytes to the server over loopback (HTTP
// parsing, bodies, timeouts). Nothing may crash, hang or answer 500, and the server must still
// answer correctly afterwards. Registered in CTest as `api-fuzz`; the seed is printed so a
// failure can be replayed (SKYNET_FUZZ_SEED).
#include <Poco/AutoPtr.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/StreamSocket.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <random>

#include "api/api.h"
#include "api/server.h"
#include "runs/run_store.h"
#include "runs/schema.h"
#include "support/http_client.h"
#include "support/log_capture.h"
#include "support/test_site.h"
#include "util/clock.h"

namespace skynet::api {
namespace {

const std::string kAdminKey = "fuzz-admin-key";

class QuietLink : public DaemonLink {
 public:
  void wake(Wake) override {}
  double lastLoopTurn() const override { return unixTime(); }
  std::int64_t workerId() const override { return 0; }
};

class Fuzzer {
 public:
  explicit Fuzzer(unsigned seed) : random_(seed) {}

  std::size_t below(std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(random_); }
  bool chance(int percent) { return below(100) < static_cast<std::size_t>(percent); }
  template <typename T>
  const T& pick(const std::vector<T>& items) { return items[below(items.size())]; }

  std::string bytes(std::size_t maxLength) {
    std::string text(below(maxLength + 1), '\0');
    for (char& c : text) c = static_cast<char>(below(256));
    return text;
  }

  std::string value() {
    static const std::vector<std::string> values = {
        "", "0", "1", "-1", "255", "256", "1796151600", "1796151600.5", "1e9", "NaN", "2026-12-01T19:00:00Z",
        "2026-02-30T10:00:00+25:00", "12/01/2026 08:00:00 PM", "13/45/2026 99:99:99 XM", "0 3 * * *", "61 * * * *",
        "* * 30 2 *", "../..", "/etc", "a\\b", "proj/", "x%00y", "state: running", "project: \"a b\" free",
        "id: 1 id: 2 id: 3 id: 4 id: 5 id: 6 id: 7 id: 8 id: 9", "kind: job", "colour: red", "\"unclosed",
        "99999999999999999999", "true", std::string(300, 'n'), "\xFF\xFE", "\xE2\x82\xAC"};
    if (chance(15)) return bytes(40);
    return pick(values);
  }

  std::string path() {
    static const std::vector<std::string> templates = {
        "/api/run/list", "/api/run/jobs", "/api/run/running", "/api/run/search", "/api/run/{id}",
        "/api/run/{id}.raw", "/api/run/start/{id}", "/api/run/stop/{id}", "/api/run/application/{id}",
        "/api/run/{id}/cancel", "/api/project/list", "/api/project/search", "/api/project/{id}", "/api/project/",
        "/api/project", "/api/application/list", "/api/application/search", "/api/application/{id}",
        "/api/application/", "/api/application", "/api/wake", "/api/status", "/healthz", "/metrics", "/",
        "/assets/app.js", "/api", "/api/", "/nothing"};
    static const std::vector<std::string> ids = {"1", "2", "3", "0", "007", "-1", "999999", "18446744073709551616",
                                                 "abc", "", "1.raw", "%31"};
    std::string text = pick(templates);
    const auto at = text.find("{id}");
    if (at != std::string::npos) text.replace(at, 4, pick(ids));
    if (chance(10)) text += "/";
    if (chance(5)) text.insert(below(text.size() + 1), pick(std::vector<std::string>{"//", "/..", "%2F", "%zz", "\xC3\xA9"}));
    return text;
  }

  Request request() {
    static const std::vector<std::string> methods = {"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "get", "BREW"};
    static const std::vector<std::string> names = {"token", "ts", "log", "exit_code", "schedule", "by", "name",
                                                   "title", "description", "directory", "command", "project_id",
                                                   "timeout", "allow_parallel", "cron", "q", "limit", "offset",
                                                   "state", "kind"};
    Request request;
    request.method = pick(methods);
    request.path = path();
    const std::size_t fields = below(6);
    for (std::size_t i = 0; i < fields; ++i) {
      (chance(30) ? request.query : request.form)[chance(5) ? bytes(8) : pick(names)] = value();
    }
    if (chance(40)) request.authorization = pick(std::vector<std::string>{"Bearer " + kAdminKey, "Bearer nope", "Basic x", ""});
    request.fromLoopback = chance(80);
    return request;
  }

  // Bytes of an HTTP request: a well-formed one, then mutated.
  std::string rawRequest() {
    const Request r = request();
    std::string body;
    for (const auto& [name, value] : r.form) body += (body.empty() ? "" : "&") + testing::formEncode(name) + "=" + testing::formEncode(value);
    std::string text = r.method + " " + r.path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    if (!r.authorization.empty()) text += "Authorization: " + r.authorization + "\r\n";
    if (chance(10)) {
      text += "Transfer-Encoding: chunked\r\n\r\n";
      char size[16];
      std::snprintf(size, sizeof size, "%zx\r\n", body.size());
      text += size + body + "\r\n0\r\n\r\n";
    } else {
      text += "Content-Type: " + pick(std::vector<std::string>{"application/x-www-form-urlencoded", "multipart/form-data; boundary=b",
                                                               "text/plain", ""}) + "\r\n";
      text += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    }
    const std::size_t mutations = below(4);
    for (std::size_t i = 0; i < mutations && !text.empty(); ++i) {
      const std::size_t at = below(text.size());
      switch (below(4)) {
        case 0: text[at] = static_cast<char>(below(256)); break;
        case 1: text.erase(at, below(8) + 1); break;
        case 2: text.insert(at, bytes(8)); break;
        default: text.resize(at); break;
      }
    }
    return text;
  }

 private:
  std::mt19937 random_;
};

unsigned fuzzSeed() {
  if (const char* seed = std::getenv("SKYNET_FUZZ_SEED")) return static_cast<unsigned>(std::strtoul(seed, nullptr, 10));
  return static_cast<unsigned>(std::random_device{}());
}

TEST(ApiFuzz, RandomAndMutatedRequestsNeverCrashHangOrFailInternally) {
  testing::TestSite site(testing::testDatabaseName("fuzz"));
  runs::migrate(site.db());
  // Something to find: a project, an application and runs in several states.
  site.db().execute("INSERT INTO {skynet_project} (name, directory, created, changed) VALUES ('p', 'p/', 1, 1)");
  site.db().execute("INSERT INTO {skynet_application} (project_id, name, directory, command, created, changed)"
                    " VALUES (1, 'a', 'a/', 'true', 1, 1)");
  for (const char* state : {"scheduled", "running", "succeeded"}) {
    site.db().execute("INSERT INTO {skynet_run} (kind, token, application_id, command, state, schedule) "
                      "VALUES ('job', ?, 1, 'true', ?, 1)",
                      {runs::newToken(), std::string(state)});
  }
  const Settings settings = loadSettings(site.configFile(), {"api.listen=127.0.0.1:0", "api.admin_key=" + kAdminKey});
  Poco::AutoPtr<testing::LogCapture> capture(new testing::LogCapture);
  Poco::Logger& logger = Poco::Logger::get("api-fuzz");
  logger.setChannel(capture);
  logger.setLevel("warning");
  QuietLink link;
  metrics::Registry registry;

  const unsigned seed = fuzzSeed();
  std::cout << "fuzz seed " << seed << " (SKYNET_FUZZ_SEED replays it)\n";
  Fuzzer fuzz(seed);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(25);
  const std::set<int> expected = {200, 202, 400, 401, 403, 404, 405, 409, 413, 415};

  int direct = 0;
  {
    ConnectionPool pool(settings.database.connectionParams(), 4);
    Api api(settings, link, registry, pool, logger);
    for (; direct < 17000 && std::chrono::steady_clock::now() < deadline; ++direct) {
      const Request request = fuzz.request();
      const Response response = api.handle(request);
      ASSERT_TRUE(expected.count(response.status))
          << response.status << " for " << request.method << " " << request.path << ": " << response.body << "\n"
          << capture->all();
      if (response.contentType == "application/json") {
        ASSERT_NO_THROW(Poco::JSON::Parser().parse(response.body)) << response.body;
      }
    }
  }

  ApiServer server(settings, link, registry, logger);
  server.start();
  int raw = 0;
  for (; raw < 3000 && std::chrono::steady_clock::now() < deadline; ++raw) {
    const std::string bytes = fuzz.rawRequest();
    Poco::Net::StreamSocket socket(Poco::Net::SocketAddress("127.0.0.1", server.port()));
    socket.setReceiveTimeout(Poco::Timespan(15, 0));
    socket.sendBytes(bytes.data(), static_cast<int>(bytes.size()));
    socket.shutdownSend();  // a cut-short request ends here instead of waiting for the timeout
    char buffer[4096];
    try {
      int got = socket.receiveBytes(buffer, sizeof buffer);
      if (got > 12) {
        const std::string head(buffer, 12);
        ASSERT_EQ(head.find(" 500"), std::string::npos) << "500 for " << bytes.substr(0, 200);
      }
      while (got > 0) got = socket.receiveBytes(buffer, sizeof buffer);
    } catch (const Poco::TimeoutException&) {
      FAIL() << "no answer within 15 s for: " << bytes.substr(0, 200);
    } catch (const Poco::Exception&) {
      // the server may reset a connection it refused
    }
  }
  std::cout << direct << " requests into the routes, " << raw << " raw requests to the server\n";
  EXPECT_GE(direct + raw, 2000);  // far fewer would mean something became very slow
  EXPECT_FALSE(capture->contains("internal error")) << capture->all();

  const auto status = testing::httpGet(server.port(), "/api/status");
  EXPECT_EQ(status.status, 200);
  EXPECT_EQ(testing::httpGet(server.port(), "/healthz").body, "ok\n");
}

}  // namespace
}  // namespace skynet::api
