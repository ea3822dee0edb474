// The HTTP API over loopback against the real MariaDB: a real ApiServer, a real HTTP client
// (Poco's, and curl for the lackey README's commands), a fake daemon that only records wakes.
#include "api/server.h"

#include <Poco/AutoPtr.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/NetworkInterface.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/StreamCopier.h>
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <functional>
#include <map>
#include <future>
#include <thread>

#include "config/settings.h"
#include "runs/run_store.h"
#include "runs/schema.h"
#include "support/http_client.h"
#include "support/log_capture.h"
#include "support/test_site.h"
#include "util/clock.h"

namespace skynet::api {
namespace {

using testing::formEncode;
using testing::httpCall;
using testing::HttpCall;
using testing::httpGet;
using testing::HttpReply;
using testing::httpSend;
using testing::TestSite;

const std::string kAdminKey = "test-admin-key-0123456789";

class FakeDaemonLink : public DaemonLink {
 public:
  void wake(Wake what) override {
    ++wakes;
    (what == Wake::Schedules ? scheduleWakes : taskWakes)++;
  }
  double lastLoopTurn() const override { return loopTurn.load(); }
  std::int64_t workerId() const override { return 0; }
  std::atomic<int> wakes{0};
  std::atomic<int> taskWakes{0};      // POST /api/wake: new tasks
  std::atomic<int> scheduleWakes{0};  // a schedule changed through the API
  std::atomic<double> loopTurn{unixTime()};
};

struct Scheduled {
  std::int64_t id = 0;
  std::string token;
};

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    site_ = std::make_unique<TestSite>(testing::testDatabaseName("api"));
    runs::migrate(site_->db());
    capture_ = new testing::LogCapture;
    Poco::Logger::get("api-test").setChannel(capture_);
    Poco::Logger::get("api-test").setLevel("information");
    server_ = startServer({});
    port_ = server_->port();
  }

  void TearDown() override {
    server_.reset();
    if (HasFailure()) std::cerr << "API log:\n" << capture_->all();
  }

  // A server on a free loopback port; `overrides` as --set gives them.
  std::unique_ptr<ApiServer> startServer(std::vector<std::string> overrides) {
    std::vector<std::string> all = {"api.listen=127.0.0.1:0", "api.admin_key=" + kAdminKey,
                                    "api.max_log_bytes=4096", "runs.timezone=Europe/Zurich"};
    all.insert(all.end(), overrides.begin(), overrides.end());
    settings_ = loadSettings(site_->configFile(), all);
    auto server = std::make_unique<ApiServer>(settings_, link_, metrics_, Poco::Logger::get("api-test"));
    server->start();
    return server;
  }

  HttpReply get(const std::string& path, const std::string& key = "") { return httpGet(port_, path, key); }
  HttpReply post(const std::string& path, const std::string& form, const std::string& key = kAdminKey) {
    return httpSend(port_, "POST", path, form, key);
  }
  HttpReply put(const std::string& path, const std::string& form) { return httpSend(port_, "PUT", path, form); }

  std::int64_t createProject(const std::string& name) {
    const auto reply = post("/api/project/", "name=" + formEncode(name) + "&title=T&description=D");
    EXPECT_EQ(reply.status, 200) << reply.body;
    return reply.object()->getObject("entry")->getValue<std::int64_t>("id");
  }

  std::int64_t createApplication(std::int64_t project, const std::string& name, const std::string& command,
                                 const std::string& extra = "") {
    const auto reply = post("/api/application", "name=" + formEncode(name) + "&command=" + formEncode(command) +
                                                    "&project_id=" + std::to_string(project) + extra);
    EXPECT_EQ(reply.status, 200) << reply.body;
    return reply.object()->getObject("entry")->getValue<std::int64_t>("id");
  }

  Scheduled schedule(std::int64_t application, const std::string& when = "") {
    const auto reply = post("/api/run/application/" + std::to_string(application),
                            when.empty() ? "" : "schedule=" + formEncode(when));
    EXPECT_EQ(reply.status, 200) << reply.body;
    const auto entry = reply.object()->getObject("entry");
    return {entry->getValue<std::int64_t>("id"), entry->getValue<std::string>("token")};
  }

  // A scheduled run of a fresh application.
  Scheduled aRun() {
    const auto project = createProject("proj_" + std::to_string(++counter_));
    return schedule(createApplication(project, "app", "./run.sh"));
  }

  // Every column of a run, to show a refused request changed nothing.
  std::string snapshot(std::int64_t id) {
    const auto row = site_->db().queryOne(
        "SELECT CONCAT_WS('|', state, IFNULL(started, '-'), IFNULL(stopped, '-'), IFNULL(exit_code, '-'),"
        " IFNULL(log_tail, '-'), IFNULL(reported_start, '-'), IFNULL(reported_stop, '-'),"
        " IFNULL(cancel_requested, '-'), IFNULL(cancelled_by, '-'), token, command, directory)"
        " FROM {skynet_run} WHERE id = ?",
        {id});
    return row ? row->text(0) : "(none)";
  }

  std::string column(std::int64_t id, const std::string& name) {
    return site_->db().queryOne("SELECT IFNULL(" + name + ", 'NULL') FROM {skynet_run} WHERE id = ?", {id})->text(0);
  }

  std::string startForm(const Scheduled& run, const std::string& ts) { return "token=" + run.token + "&ts=" + ts; }

  std::unique_ptr<TestSite> site_;
  Settings settings_;
  FakeDaemonLink link_;
  metrics::Registry metrics_;
  Poco::AutoPtr<testing::LogCapture> capture_;
  std::unique_ptr<ApiServer> server_;
  std::uint16_t port_ = 0;
  int counter_ = 0;
};

std::string message(const HttpReply& reply) { return reply.object()->getValue<std::string>("message"); }

// Sends raw bytes on a new connection and reads until the server closes it.
std::string rawExchange(std::uint16_t port, const std::string& bytes, bool closeSending = false) {
  Poco::Net::StreamSocket socket(Poco::Net::SocketAddress("127.0.0.1", port));
  socket.setReceiveTimeout(Poco::Timespan(30, 0));
  socket.sendBytes(bytes.data(), static_cast<int>(bytes.size()));
  if (closeSending) socket.shutdownSend();
  std::string answer;
  char buffer[4096];
  try {
    for (;;) {
      const int got = socket.receiveBytes(buffer, sizeof buffer);
      if (got <= 0) break;
      answer.append(buffer, static_cast<std::size_t>(got));
    }
  } catch (const Poco::Exception&) {
    // a reset after the answer
  }
  return answer;
}

// --- lackey compatibility -------------------------------------------------------------------

TEST_F(ApiTest, TheLackeyReadmesCurlCommandsStartAndStopARun) {
  const auto run = aRun();
  const std::string base = "http://127.0.0.1:" + std::to_string(port_);
  std::string output;
  ASSERT_EQ(testing::runCommand("curl -s -X PUT -d \"token=" + run.token + "&ts=1796151600\" " + base +
                                    "/api/run/start/" + std::to_string(run.id),
                                &output),
            0);
  EXPECT_NE(output.find("\"status\":\"ok\""), std::string::npos) << output;
  EXPECT_EQ(column(run.id, "state"), "running");
  EXPECT_EQ(column(run.id, "started"), "1796151600");
  ASSERT_EQ(testing::runCommand("curl -s -X PUT -d \"token=" + run.token + "&ts=1796151660&log=all done\" " + base +
                                    "/api/run/stop/" + std::to_string(run.id),
                                &output),
            0);
  EXPECT_NE(output.find("\"status\":\"ok\""), std::string::npos) << output;
  EXPECT_EQ(column(run.id, "state"), "succeeded");
  EXPECT_EQ(column(run.id, "stopped"), "1796151660");
  EXPECT_EQ(column(run.id, "log_tail"), "all done");
  const auto entry = get("/api/run/" + std::to_string(run.id)).array()->getObject(0);
  EXPECT_EQ(entry->getValue<double>("duration"), 60.0);
  EXPECT_EQ(entry->getValue<std::string>("start"), "2026-12-01T19:00:00Z");
  EXPECT_EQ(entry->getValue<std::string>("raw_log"), "all done");
}

TEST_F(ApiTest, StartAndStopAcceptPostAsWellAsPut) {
  const auto run = aRun();
  EXPECT_EQ(post("/api/run/start/" + std::to_string(run.id), startForm(run, "100.5"), "").status, 200);
  EXPECT_EQ(column(run.id, "started"), "100.5");
  EXPECT_EQ(post("/api/run/stop/" + std::to_string(run.id), startForm(run, "101") + "&log=x", "").status, 200);
  EXPECT_EQ(column(run.id, "state"), "succeeded");
}

// --- start/stop errors, each leaving the run unchanged -------------------------------------

TEST_F(ApiTest, StartWithoutOrWithAWrongTokenIs401AndChangesNothing) {
  const auto run = aRun();
  const std::string before = snapshot(run.id);
  const std::string path = "/api/run/start/" + std::to_string(run.id);
  auto reply = put(path, "ts=100");
  EXPECT_EQ(reply.status, 401);
  EXPECT_EQ(message(reply), "you are not authorized: missing token");
  reply = put(path, "token=0123456789abcdef0123456789abcdef&ts=100");
  EXPECT_EQ(reply.status, 401);
  EXPECT_EQ(message(reply), "you are not authorized: wrong token");
  EXPECT_EQ(snapshot(run.id), before);
}

TEST_F(ApiTest, AMissingOrMalformedTsIs400NamingTs) {
  const auto run = aRun();
  const std::string before = snapshot(run.id);
  const std::string path = "/api/run/start/" + std::to_string(run.id);
  auto reply = put(path, "token=" + run.token);
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(message(reply), "missing parameter ts");
  reply = put(path, "token=" + run.token + "&ts=yesterday");
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(message(reply).rfind("ts: ", 0), 0u) << message(reply);
  reply = put("/api/run/stop/" + std::to_string(run.id), "token=" + run.token + "&ts=1e9");
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(snapshot(run.id), before);
}

TEST_F(ApiTest, AnUnknownRunIs404) {
  const auto reply = put("/api/run/start/999999", "token=0123456789abcdef0123456789abcdef&ts=1");
  EXPECT_EQ(reply.status, 404);
  EXPECT_EQ(message(reply), "no run 999999");
  EXPECT_EQ(get("/api/run/999999").status, 404);
  EXPECT_EQ(get("/api/run/999999.raw").status, 404);
}

TEST_F(ApiTest, ARepeatedStartWithTheSameTsIsANoOpAnotherTsConflicts) {
  const auto run = aRun();
  const std::string path = "/api/run/start/" + std::to_string(run.id);
  ASSERT_EQ(put(path, startForm(run, "100")).status, 200);
  const std::string started = snapshot(run.id);
  EXPECT_EQ(put(path, startForm(run, "100")).status, 200);
  EXPECT_EQ(snapshot(run.id), started);
  const auto reply = put(path, startForm(run, "150"));
  EXPECT_EQ(reply.status, 409);
  EXPECT_NE(message(reply).find("already running"), std::string::npos);
  EXPECT_EQ(snapshot(run.id), started);
}

TEST_F(ApiTest, StopBeforeStartAndStartAfterStopAre409) {
  const auto run = aRun();
  const std::string id = std::to_string(run.id);
  const std::string before = snapshot(run.id);
  auto reply = put("/api/run/stop/" + id, startForm(run, "100") + "&log=x");
  EXPECT_EQ(reply.status, 409);
  EXPECT_NE(message(reply).find("stop before start"), std::string::npos);
  EXPECT_EQ(snapshot(run.id), before);
  ASSERT_EQ(put("/api/run/start/" + id, startForm(run, "100")).status, 200);
  ASSERT_EQ(put("/api/run/stop/" + id, startForm(run, "200") + "&log=x").status, 200);
  const std::string stopped = snapshot(run.id);
  reply = put("/api/run/start/" + id, startForm(run, "300"));
  EXPECT_EQ(reply.status, 409);
  EXPECT_NE(message(reply).find("already ended"), std::string::npos);
  EXPECT_EQ(snapshot(run.id), stopped);
}

TEST_F(ApiTest, ARepeatedStopWithTheSameValuesIsANoOpADifferentOneConflicts) {
  const auto run = aRun();
  const std::string id = std::to_string(run.id);
  ASSERT_EQ(put("/api/run/start/" + id, startForm(run, "100")).status, 200);
  ASSERT_EQ(put("/api/run/stop/" + id, startForm(run, "200") + "&log=done&exit_code=3").status, 200);
  EXPECT_EQ(column(run.id, "state"), "failed");
  EXPECT_EQ(column(run.id, "exit_code"), "3");
  const std::string stopped = snapshot(run.id);
  EXPECT_EQ(put("/api/run/stop/" + id, startForm(run, "200") + "&log=done&exit_code=3").status, 200);
  EXPECT_EQ(put("/api/run/stop/" + id, startForm(run, "200") + "&log=other&exit_code=3").status, 409);
  EXPECT_EQ(put("/api/run/stop/" + id, startForm(run, "200") + "&log=done").status, 409);
  EXPECT_EQ(snapshot(run.id), stopped);
}

TEST_F(ApiTest, RacingReportsOfOneRunApplyOnceAndTheOthersAnswerByTheOutcome) {
  // Reports are decided without a lock and written only while the run is still in the state
  // they were decided on: of 8 clients starting at different ts, one wins, the others see a
  // run already running (409); of 8 stopping with different exit codes, one wins.
  constexpr int kClients = 8;
  const auto run = aRun();
  const std::string id = std::to_string(run.id);
  auto race = [&](const std::string& path, const std::function<std::string(int)>& form) {
    std::vector<std::future<HttpReply>> replies;
    for (int client = 0; client < kClients; ++client) {
      replies.push_back(std::async(std::launch::async, [&, client] { return put(path, form(client)); }));
    }
    std::map<int, std::vector<int>> byStatus;  // status -> clients
    for (int client = 0; client < kClients; ++client) byStatus[replies[client].get().status].push_back(client);
    return byStatus;
  };
  auto started = race("/api/run/start/" + id, [&](int client) { return startForm(run, std::to_string(100 + client)); });
  auto describe = [](const std::map<int, std::vector<int>>& byStatus) {
    std::string text;
    for (const auto& [status, clients] : byStatus) text += std::to_string(status) + ": " + std::to_string(clients.size()) + " ";
    return text;
  };
  ASSERT_EQ(started[200].size(), 1u) << describe(started);
  EXPECT_EQ(started[409].size(), static_cast<std::size_t>(kClients - 1)) << describe(started);
  const int starter = started[200].front();
  EXPECT_EQ(column(run.id, "state"), "running");
  EXPECT_EQ(column(run.id, "started"), std::to_string(100 + starter));
  EXPECT_EQ(column(run.id, "reported_start"), std::to_string(100 + starter));

  auto stopped = race("/api/run/stop/" + id, [&](int client) {
    return startForm(run, "200") + "&log=client" + std::to_string(client) + "&exit_code=" + std::to_string(client);
  });
  ASSERT_EQ(stopped[200].size(), 1u) << describe(stopped);
  EXPECT_EQ(stopped[409].size(), static_cast<std::size_t>(kClients - 1)) << describe(stopped);
  const int stopper = stopped[200].front();
  EXPECT_EQ(column(run.id, "state"), stopper == 0 ? "succeeded" : "failed");
  EXPECT_EQ(column(run.id, "exit_code"), std::to_string(stopper));
  EXPECT_EQ(column(run.id, "log_tail"), "client" + std::to_string(stopper));
  // The winner's report, sent again, is a no-op that answers 200 with the run as recorded.
  const auto again = put("/api/run/stop/" + id, startForm(run, "200") + "&log=client" + std::to_string(stopper) +
                                                    "&exit_code=" + std::to_string(stopper));
  EXPECT_EQ(again.status, 200);
  EXPECT_NE(again.body.find("\"exit_code\":" + std::to_string(stopper)), std::string::npos) << again.body;
}

TEST_F(ApiTest, AnExitCodeOutsideZeroTo255Is400) {
  const auto run = aRun();
  const std::string id = std::to_string(run.id);
  ASSERT_EQ(put("/api/run/start/" + id, startForm(run, "100")).status, 200);
  const std::string before = snapshot(run.id);
  for (const char* code : {"256", "-1", "x", "1.5"}) {
    const auto reply = put("/api/run/stop/" + id, startForm(run, "200") + "&exit_code=" + code);
    EXPECT_EQ(reply.status, 400) << code;
    EXPECT_EQ(message(reply).rfind("exit_code: ", 0), 0u) << message(reply);
  }
  EXPECT_EQ(snapshot(run.id), before);
}

TEST_F(ApiTest, TheStoredLogKeepsItsTailCutOnACharacterBoundaryWithInvalidBytesReplaced) {
  const auto run = aRun();
  const std::string id = std::to_string(run.id);
  ASSERT_EQ(put("/api/run/start/" + id, startForm(run, "100")).status, 200);
  // 5000 bytes: "\xFF" then 1666 euro signs (3 bytes each) then "END" = 1 + 4998 + 3 bytes.
  std::string log = "\xFF";
  for (int i = 0; i < 1666; ++i) log += "\xE2\x82\xAC";
  log += "END";
  ASSERT_EQ(put("/api/run/stop/" + id, startForm(run, "200") + "&log=" + formEncode(log)).status, 200);
  const std::string stored = column(run.id, "log_tail");
  EXPECT_LE(stored.size(), 4096u);
  EXPECT_GE(stored.size(), 4093u);
  EXPECT_EQ(stored.substr(stored.size() - 3), "END");
  EXPECT_EQ(stored.substr(0, 3), "\xE2\x82\xAC");  // starts on a whole character
  const auto raw = get("/api/run/" + id + ".raw");
  EXPECT_EQ(raw.status, 200);
  EXPECT_EQ(raw.contentType, "text/plain; charset=utf-8");
  EXPECT_EQ(raw.body, stored);

  // Invalid bytes in a short log are replaced.
  const auto other = aRun();
  const std::string otherId = std::to_string(other.id);
  ASSERT_EQ(put("/api/run/start/" + otherId, startForm(other, "1")).status, 200);
  ASSERT_EQ(put("/api/run/stop/" + otherId, startForm(other, "2") + "&log=a%FFb").status, 200);
  EXPECT_EQ(column(other.id, "log_tail"), "a\xEF\xBF\xBD" "b");
}

TEST_F(ApiTest, ABodyOverTheCapIs413BeforeItIsReadAndChangesNothing) {
  const auto run = aRun();
  const std::string before = snapshot(run.id);
  const std::string id = std::to_string(run.id);
  // Content-Length over the cap: answered without reading (no body is even sent).
  const std::string answer = rawExchange(port_, "PUT /api/run/stop/" + id + " HTTP/1.1\r\nHost: x\r\n"
                                                "Content-Type: application/x-www-form-urlencoded\r\n"
                                                "Content-Length: 10000000\r\n\r\n");
  EXPECT_EQ(answer.rfind("HTTP/1.1 413", 0), 0u) << answer;
  EXPECT_NE(answer.find("over its limit of 69632 bytes"), std::string::npos) << answer;
  // A chunked body is counted while read.
  const std::size_t size = 69632 + 100;
  std::string form = "token=" + run.token + "&ts=5&log=";
  form += std::string(size - form.size(), 'a');
  char sizeLine[32];
  std::snprintf(sizeLine, sizeof sizeLine, "%zx\r\n", size);
  const std::string chunked = rawExchange(
      port_, "PUT /api/run/stop/" + id + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
             "Transfer-Encoding: chunked\r\n\r\n" + sizeLine + form + "\r\n0\r\n\r\n");
  EXPECT_EQ(chunked.rfind("HTTP/1.1 413", 0), 0u) << chunked.substr(0, 200);
  EXPECT_EQ(snapshot(run.id), before);
}

TEST_F(ApiTest, ARunTheDaemonStartedRecordsTheReportedStartOnceAndKeepsItsOwnRecord) {
  const auto run = aRun();
  site_->db().execute("UPDATE {skynet_run} SET state = 'running', started = 50, worker_id = 7, pid = 1234 WHERE id = ?",
                      {run.id});
  const std::string id = std::to_string(run.id);
  ASSERT_EQ(put("/api/run/start/" + id, startForm(run, "55")).status, 200);
  EXPECT_EQ(column(run.id, "reported_start"), "55");
  EXPECT_EQ(column(run.id, "started"), "50");
  ASSERT_EQ(put("/api/run/start/" + id, startForm(run, "56")).status, 200);
  EXPECT_EQ(column(run.id, "reported_start"), "55");
  ASSERT_EQ(put("/api/run/stop/" + id, startForm(run, "90") + "&log=tail&exit_code=0").status, 200);
  EXPECT_EQ(column(run.id, "state"), "succeeded");
  EXPECT_EQ(column(run.id, "reported_stop"), "90");
  EXPECT_EQ(column(run.id, "log_tail"), "tail");
  EXPECT_EQ(column(run.id, "pid"), "1234");
}

// --- listings -------------------------------------------------------------------------------

TEST_F(ApiTest, ListingsNeverShowTokensAndASingleRunShowsItOnlyWithTheAdminKey) {
  const auto run = aRun();
  for (const char* path : {"/api/run/list", "/api/run/jobs", "/api/run/search?q=kind:job"}) {
    const auto reply = get(path);
    EXPECT_EQ(reply.status, 200);
    EXPECT_EQ(reply.contentType, "application/json");
    EXPECT_EQ(reply.body.find(run.token), std::string::npos) << path;
    EXPECT_EQ(reply.array()->size(), 1u) << path;
  }
  const auto open = get("/api/run/" + std::to_string(run.id));
  EXPECT_EQ(open.array()->size(), 1u);
  EXPECT_FALSE(open.array()->getObject(0)->has("token"));
  EXPECT_TRUE(open.array()->getObject(0)->has("raw_log"));
  EXPECT_EQ(get("/api/run/" + std::to_string(run.id), "wrong-key").body.find(run.token), std::string::npos);
  const auto admin = get("/api/run/" + std::to_string(run.id), kAdminKey);
  EXPECT_EQ(admin.array()->getObject(0)->getValue<std::string>("token"), run.token);
}

TEST_F(ApiTest, ARunEntryHasEveryFieldOfTheContract) {
  const auto run = aRun();
  const auto entry = get("/api/run/list").array()->getObject(0);
  for (const char* field :
       {"id", "kind", "state", "application_id", "application_name", "project_id", "project_name", "task_nid",
        "task_vid", "task_rid", "task_type", "site", "directory", "command", "schedule", "schedule_ts", "start",
        "start_ts", "end", "end_ts", "duration", "exit_code", "signal", "worker_id", "host", "pid", "attempts",
        "message", "cancel_requested", "cancelled_by"}) {
    EXPECT_TRUE(entry->has(field)) << field;
  }
  EXPECT_EQ(entry->getValue<std::string>("kind"), "job");
  EXPECT_EQ(entry->getValue<std::string>("state"), "scheduled");
  EXPECT_EQ(entry->getValue<std::string>("directory"), "proj_1/app");
  EXPECT_EQ(entry->getValue<std::string>("command"), "./run.sh");
  EXPECT_EQ(entry->getValue<std::string>("project_name"), "proj_1");
  EXPECT_EQ(entry->getValue<std::string>("application_name"), "app");
  EXPECT_EQ(entry->getValue<std::string>("start"), "");
  EXPECT_TRUE(entry->isNull("start_ts"));
  EXPECT_TRUE(entry->isNull("duration"));
  EXPECT_FALSE(entry->getValue<bool>("cancel_requested"));
  EXPECT_EQ(column(run.id, "timeout"), "86400");  // runs.timeout, as the application has none
}

TEST_F(ApiTest, ListingsPageNewestFirstWithTheTotalInAHeader) {
  const auto project = createProject("p");
  const auto app = createApplication(project, "a", "true");
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(schedule(app).id);
  const auto page = get("/api/run/list?limit=2&offset=1");
  EXPECT_EQ(page.header("X-Total-Count"), "5");
  ASSERT_EQ(page.array()->size(), 2u);
  EXPECT_EQ(page.array()->getObject(0)->getValue<std::int64_t>("id"), ids[3]);
  EXPECT_EQ(page.array()->getObject(1)->getValue<std::int64_t>("id"), ids[2]);
  EXPECT_EQ(get("/api/run/list?limit=0").array()->size(), 0u);
  EXPECT_EQ(get("/api/run/list?limit=1001").status, 400);
  EXPECT_EQ(message(get("/api/run/list?offset=-1")).rfind("offset: ", 0), 0u);
}

TEST_F(ApiTest, JobsAreDueScheduledRunsAndRunningListsRunningOnesWithStateAndKindFilters) {
  const auto project = createProject("p");
  const auto app = createApplication(project, "a", "true");
  const auto due = schedule(app, "1000");  // 1970: long due
  schedule(app, "9999-01-01T00:00:00Z");
  const auto started = schedule(app);
  ASSERT_EQ(put("/api/run/start/" + std::to_string(started.id), startForm(started, "100")).status, 200);
  const auto jobs = get("/api/run/jobs").array();
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_EQ(jobs->getObject(0)->getValue<std::int64_t>("id"), due.id);
  const auto running = get("/api/run/running").array();
  ASSERT_EQ(running->size(), 1u);
  EXPECT_EQ(running->getObject(0)->getValue<std::int64_t>("id"), started.id);
  EXPECT_EQ(get("/api/run/list?state=scheduled").array()->size(), 2u);
  EXPECT_EQ(get("/api/run/list?state=scheduled,running").array()->size(), 3u);
  EXPECT_EQ(get("/api/run/list?kind=task").array()->size(), 0u);
  EXPECT_EQ(get("/api/run/list?kind=job").array()->size(), 3u);
  EXPECT_EQ(get("/api/run/list?kind=nope").status, 400);
  EXPECT_EQ(get("/api/run/list?state=running&kind=job").array()->size(), 1u);
}

TEST_F(ApiTest, SearchOrsValuesOfACategoryAndsCategoriesAndMatchesFreeText) {
  const auto p1 = createProject("alpha");
  const auto p2 = createProject("beta");
  const auto a1 = createApplication(p1, "build", "make all");
  const auto a2 = createApplication(p2, "test", "make check");
  const auto r1 = schedule(a1);
  const auto r2 = schedule(a2);
  const auto r3 = schedule(a2);
  ASSERT_EQ(put("/api/run/start/" + std::to_string(r3.id), startForm(r3, "1")).status, 200);
  ASSERT_EQ(put("/api/run/stop/" + std::to_string(r3.id), startForm(r3, "2") + "&log=segfault%20here").status, 200);
  const auto ids = [&](const std::string& q) {
    std::vector<std::int64_t> found;
    const auto reply = get("/api/run/search?q=" + formEncode(q));
    EXPECT_EQ(reply.status, 200) << q << ": " << reply.body;
    const auto array = reply.array();
    for (std::size_t i = 0; i < array->size(); ++i) found.push_back(array->getObject(static_cast<unsigned>(i))->getValue<std::int64_t>("id"));
    return found;
  };
  EXPECT_EQ(ids("project: alpha"), std::vector<std::int64_t>{r1.id});
  EXPECT_EQ(ids("project: alpha project: BETA"), (std::vector<std::int64_t>{r3.id, r2.id, r1.id}));
  EXPECT_EQ(ids("project: beta state: scheduled"), std::vector<std::int64_t>{r2.id});
  EXPECT_EQ(ids("segfault"), std::vector<std::int64_t>{r3.id});
  EXPECT_EQ(ids("check"), (std::vector<std::int64_t>{r3.id, r2.id}));
  EXPECT_EQ(ids("application_id: \"" + std::to_string(a1) + "\""), std::vector<std::int64_t>{r1.id});
  EXPECT_EQ(ids("project_id: " + std::to_string(p2) + " id: " + std::to_string(r2.id)), std::vector<std::int64_t>{r2.id});
  EXPECT_EQ(ids("100%"), std::vector<std::int64_t>{});  // LIKE wildcards are literal
  auto reply = get("/api/run/search?q=" + formEncode("colour: red"));
  EXPECT_EQ(reply.status, 400);
  EXPECT_NE(message(reply).find("unknown category \"colour\""), std::string::npos);
  EXPECT_EQ(get("/api/run/search?q=" + formEncode("id: abc")).status, 400);
}

TEST_F(ApiTest, ARunOfAnAegirTaskShowsItsSite) {
  const auto task = site_->aegir().queueTask(10, "verify");
  site_->db().execute("INSERT INTO {skynet_run} (kind, token, task_nid, task_vid, task_rid, task_type, command, state,"
                      " started, worker_id, host) VALUES ('task', 'aaaa', ?, ?, 10, 'verify', 'drush', 'running', 5, 1, 'h')",
                      {task.nid, task.vid});
  const auto title = site_->db().queryOne("SELECT title FROM {node} WHERE nid = 10")->text(0);
  const auto entry = get("/api/run/running").array()->getObject(0);
  EXPECT_EQ(entry->getValue<std::string>("site"), title);
  EXPECT_EQ(entry->getValue<std::string>("kind"), "task");
  EXPECT_EQ(get("/api/run/search?q=" + formEncode("site: \"" + title + "\" type: verify")).array()->size(), 1u);
}

TEST_F(ApiTest, TheRawLogOfARunningRunIsTheTailOfItsOutputFile) {
  const auto run = aRun();
  const std::string file = site_->dir() + "/output.log";
  std::ofstream(file) << std::string(5000, 'x') << "LIVE";
  site_->db().execute("UPDATE {skynet_run} SET state = 'running', worker_id = 1, output_file = ? WHERE id = ?",
                      {file, run.id});
  const auto raw = get("/api/run/" + std::to_string(run.id) + ".raw");
  EXPECT_EQ(raw.status, 200);
  EXPECT_EQ(raw.body.size(), 4096u);
  EXPECT_EQ(raw.body.substr(4092), "LIVE");
}

// --- scheduling and cancelling --------------------------------------------------------------

TEST_F(ApiTest, SchedulingReadsEpochIsoAndLackeysFormatInTheConfiguredZone) {
  const auto project = createProject("p");
  const auto app = createApplication(project, "a", "true");
  EXPECT_EQ(column(schedule(app, "1796151600.5").id, "schedule"), "1796151600.5");
  EXPECT_EQ(column(schedule(app, "2026-12-01T19:00:00Z").id, "schedule"), "1796151600");
  EXPECT_EQ(column(schedule(app, "12/01/2026 08:00:00 PM").id, "schedule"), "1796151600");  // Zurich, UTC+1
  const double before = unixTime();
  const auto now = schedule(app);
  EXPECT_GE(std::stod(column(now.id, "schedule")), before - 1);
  EXPECT_EQ(now.token.size(), 32u);
  EXPECT_GE(link_.wakes.load(), 1);  // a run due now wakes the daemon, to read the schedules
  EXPECT_EQ(link_.scheduleWakes.load(), link_.wakes.load());
}

TEST_F(ApiTest, SchedulingRefusesABadScheduleAnUnknownApplicationAndMissingKeys) {
  const auto project = createProject("p");
  const auto app = createApplication(project, "a", "true");
  const std::string path = "/api/run/application/" + std::to_string(app);
  auto reply = post(path, "schedule=someday");
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(message(reply).rfind("schedule: ", 0), 0u);
  EXPECT_EQ(post("/api/run/application/999999", "").status, 404);
  EXPECT_EQ(post(path, "", "").status, 401);
  EXPECT_NE(message(post(path, "", "")).find("admin key"), std::string::npos);
  EXPECT_EQ(post(path, "", "nope").status, 401);
  EXPECT_EQ(site_->db().queryOne("SELECT COUNT(*) FROM {skynet_run}")->integer(0), 0);
}

TEST_F(ApiTest, ManagementIsDisabledWithoutAnAdminKey) {
  server_ = startServer({"api.admin_key="});
  port_ = server_->port();
  for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"POST", "/api/project/"}, {"POST", "/api/application"}, {"POST", "/api/run/application/1"},
           {"POST", "/api/run/1/cancel"}, {"DELETE", "/api/project/1"}, {"PUT", "/api/application/1"}}) {
    const auto reply = httpSend(port_, method, path, "name=x", kAdminKey);
    EXPECT_EQ(reply.status, 403) << method << " " << path;
    EXPECT_EQ(message(reply), "management is disabled: set api.admin_key");
  }
  EXPECT_EQ(get("/api/project/list").status, 200);  // reads stay open
}

TEST_F(ApiTest, CancellingAScheduledRunDropsItAtOnce) {
  const auto run = aRun();
  const auto reply = post("/api/run/" + std::to_string(run.id) + "/cancel", "");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(column(run.id, "state"), "cancelled");
  EXPECT_EQ(column(run.id, "cancelled_by"), "api");
  EXPECT_NE(column(run.id, "stopped"), "NULL");
  EXPECT_EQ(post("/api/run/" + std::to_string(run.id) + "/cancel", "").status, 409);
  EXPECT_EQ(put("/api/run/start/" + std::to_string(run.id), startForm(run, "5")).status, 409);
}

TEST_F(ApiTest, CancellingARunningRunAsksTheDaemonAndWakesIt) {
  const auto run = aRun();
  site_->db().execute("UPDATE {skynet_run} SET state = 'running', started = 5, worker_id = 3, pid = 99 WHERE id = ?",
                      {run.id});
  const int wakes = link_.wakes.load();
  const auto reply = post("/api/run/" + std::to_string(run.id) + "/cancel", "by=alice");
  EXPECT_EQ(reply.status, 202);
  EXPECT_TRUE(reply.object()->getObject("entry")->getValue<bool>("cancel_requested"));
  EXPECT_EQ(column(run.id, "state"), "running");  // the daemon records `cancelled` once it killed it
  EXPECT_NE(column(run.id, "cancel_requested"), "NULL");
  EXPECT_EQ(column(run.id, "cancelled_by"), "alice");
  EXPECT_EQ(link_.wakes.load(), wakes + 1);
  EXPECT_EQ(link_.taskWakes.load(), 0);
  EXPECT_EQ(post("/api/run/" + std::to_string(run.id) + "/cancel", "").status, 202);
  EXPECT_EQ(post("/api/run/999999/cancel", "").status, 404);
  EXPECT_EQ(post("/api/run/" + std::to_string(run.id) + "/cancel", "by=" + std::string(256, 'b')).status, 400);
  EXPECT_EQ(post("/api/run/" + std::to_string(run.id) + "/cancel", "", "").status, 401);
}

// --- projects and applications --------------------------------------------------------------

TEST_F(ApiTest, ProjectsAreCreatedReadUpdatedAndListedByName) {
  auto reply = post("/api/project", "name=zeta");
  ASSERT_EQ(reply.status, 200) << reply.body;
  const auto zeta = reply.object()->getObject("entry");
  EXPECT_EQ(zeta->getValue<std::string>("directory"), "zeta/");
  EXPECT_EQ(zeta->getValue<std::int64_t>("application_count"), 0);
  EXPECT_TRUE(zeta->has("created_ts"));
  const auto id = zeta->getValue<std::int64_t>("id");
  createProject("alpha");
  const auto list = get("/api/project/list");
  EXPECT_EQ(list.header("X-Total-Count"), "2");
  EXPECT_EQ(list.array()->getObject(0)->getValue<std::string>("name"), "alpha");
  reply = httpSend(port_, "PUT", "/api/project/" + std::to_string(id), "title=The+End&directory=z/", kAdminKey);
  ASSERT_EQ(reply.status, 200) << reply.body;
  const auto one = get("/api/project/" + std::to_string(id)).array();
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ(one->getObject(0)->getValue<std::string>("title"), "The End");
  EXPECT_EQ(one->getObject(0)->getValue<std::string>("name"), "zeta");
  EXPECT_EQ(one->getObject(0)->getValue<std::string>("directory"), "z/");
  EXPECT_EQ(get("/api/project/search?q=" + formEncode("title: \"the end\"")).array()->size(), 1u);
  EXPECT_EQ(get("/api/project/search?q=D").array()->size(), 1u);  // free text on the description
  EXPECT_EQ(get("/api/project/999999").status, 404);
  EXPECT_EQ(httpSend(port_, "PUT", "/api/project/999999", "title=x", kAdminKey).status, 404);
}

TEST_F(ApiTest, ProjectNamesAreUniqueAndFoldersStayInsideTheWorkdir) {
  createProject("taken");
  auto reply = post("/api/project/", "name=taken");
  EXPECT_EQ(reply.status, 409);
  EXPECT_NE(message(reply).find("taken"), std::string::npos);
  for (const char* directory : {"/etc", "../up", "a/../../b", "a%5Cb"}) {
    reply = post("/api/project/", std::string("name=n&directory=") + directory);
    EXPECT_EQ(reply.status, 400) << directory;
    EXPECT_EQ(message(reply).rfind("directory: ", 0), 0u) << message(reply);
  }
  reply = post("/api/project/", "name=bad%FFname");
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(message(reply), "name: not valid UTF-8");
  EXPECT_EQ(post("/api/project/", "title=no+name").status, 400);
  EXPECT_EQ(message(post("/api/project/", "title=no+name")), "missing parameter name");
  EXPECT_EQ(get("/api/project/list").header("X-Total-Count"), "1");
}

TEST_F(ApiTest, DeletingAProjectDeletesItsApplicationsAndRunsButNeverARunningRun) {
  const auto project = createProject("p");
  const auto a1 = createApplication(project, "a1", "true");
  const auto a2 = createApplication(project, "a2", "true");
  schedule(a1);
  schedule(a2);
  const auto running = schedule(a2);
  ASSERT_EQ(put("/api/run/start/" + std::to_string(running.id), startForm(running, "1")).status, 200);
  auto reply = httpSend(port_, "DELETE", "/api/project/" + std::to_string(project), "", kAdminKey);
  EXPECT_EQ(reply.status, 409);
  EXPECT_NE(message(reply).find(std::to_string(running.id)), std::string::npos);
  EXPECT_EQ(site_->db().queryOne("SELECT COUNT(*) FROM {skynet_run}")->integer(0), 3);
  EXPECT_EQ(site_->db().queryOne("SELECT COUNT(*) FROM {skynet_application}")->integer(0), 2);
  ASSERT_EQ(put("/api/run/stop/" + std::to_string(running.id), startForm(running, "2")).status, 200);
  reply = httpSend(port_, "DELETE", "/api/project/" + std::to_string(project), "", kAdminKey);
  ASSERT_EQ(reply.status, 200) << reply.body;
  const auto deleted = reply.object()->getObject("deleted");
  EXPECT_EQ(deleted->getValue<int>("projects"), 1);
  EXPECT_EQ(deleted->getValue<int>("applications"), 2);
  EXPECT_EQ(deleted->getValue<int>("runs"), 3);
  EXPECT_EQ(site_->db().queryOne("SELECT COUNT(*) FROM {skynet_run}")->integer(0), 0);
  EXPECT_EQ(httpSend(port_, "DELETE", "/api/project/" + std::to_string(project), "", kAdminKey).status, 404);
}

TEST_F(ApiTest, ApplicationsNeedACommandAndAnExistingProject) {
  const auto project = createProject("p");
  auto reply = post("/api/application", "name=a&project_id=" + std::to_string(project));
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(message(reply), "missing parameter command");
  reply = post("/api/application", "name=a&command=true&project_id=999999");
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(message(reply), "project_id: no project 999999");
  reply = post("/api/application", "name=a&command=true");
  EXPECT_EQ(message(reply), "missing parameter project_id");
  reply = post("/api/application", "name=a&command=true&timeout=-5&project_id=" + std::to_string(project));
  EXPECT_EQ(message(reply).rfind("timeout: ", 0), 0u);
  reply = post("/api/application", "name=a&command=true&allow_parallel=maybe&project_id=" + std::to_string(project));
  EXPECT_EQ(message(reply).rfind("allow_parallel: ", 0), 0u);
  reply = post("/api/application", "name=a&command=true&directory=..&project_id=" + std::to_string(project));
  EXPECT_EQ(message(reply).rfind("directory: ", 0), 0u);
  createApplication(project, "a", "true");
  EXPECT_EQ(post("/api/application", "name=a&command=true&project_id=" + std::to_string(project)).status, 409);
  EXPECT_EQ(get("/api/application/list").header("X-Total-Count"), "1");
}

TEST_F(ApiTest, AnApplicationsCronIsCheckedAndItsNextSlotStored) {
  const auto project = createProject("p");
  auto reply = post("/api/application", "name=a&command=true&cron=61+*+*+*+*&project_id=" + std::to_string(project));
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(message(reply).rfind("cron: ", 0), 0u) << message(reply);
  const auto app = createApplication(project, "a", "true", "&cron=" + formEncode("0 3 * * *") + "&timeout=60&allow_parallel=1");
  auto entry = get("/api/application/" + std::to_string(app)).array()->getObject(0);
  EXPECT_EQ(entry->getValue<std::string>("cron"), "0 3 * * *");
  EXPECT_GT(entry->getValue<double>("cron_next_ts"), unixTime());
  EXPECT_EQ(entry->getValue<int>("timeout"), 60);
  EXPECT_EQ(entry->getValue<int>("allow_parallel"), 1);
  EXPECT_EQ(entry->getValue<std::string>("project_name"), "p");
  EXPECT_EQ(entry->getValue<std::string>("project_directory"), "p/");
  EXPECT_EQ(entry->getValue<std::string>("directory"), "a/");
  EXPECT_TRUE(entry->isNull("last_run"));
  EXPECT_EQ(column(schedule(app).id, "timeout"), "60");
  entry = get("/api/application/" + std::to_string(app)).array()->getObject(0);
  EXPECT_EQ(entry->getValue<std::string>("last_run"), "scheduled");
  EXPECT_EQ(entry->getValue<int>("run_count"), 1);
  // Clearing the cron clears its next slot.
  reply = httpSend(port_, "POST", "/api/application/" + std::to_string(app), "cron=&timeout=", kAdminKey);
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_TRUE(reply.object()->getObject("entry")->isNull("cron"));
  EXPECT_TRUE(reply.object()->getObject("entry")->isNull("cron_next_ts"));
  EXPECT_TRUE(reply.object()->getObject("entry")->isNull("timeout"));
}

TEST_F(ApiTest, ApplicationsAreSearchedAndDeletedWithTheirRuns) {
  const auto p = createProject("p");
  const auto a = createApplication(p, "nightly", "make nightly");
  createApplication(p, "other", "true");
  EXPECT_EQ(get("/api/application/search?q=" + formEncode("name: nightly")).array()->size(), 1u);
  EXPECT_EQ(get("/api/application/search?q=" + formEncode("project: p")).array()->size(), 2u);
  EXPECT_EQ(get("/api/application/search?q=" + formEncode("project_id: " + std::to_string(p) + " command: true"))
                .array()->size(), 1u);
  schedule(a);
  const auto reply = httpSend(port_, "DELETE", "/api/application/" + std::to_string(a), "", kAdminKey);
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.object()->getObject("deleted")->getValue<int>("runs"), 1);
  EXPECT_EQ(get("/api/application/" + std::to_string(a)).status, 404);
}

// --- service routes -------------------------------------------------------------------------

TEST_F(ApiTest, AWakeFromLoopbackIsAcceptedAndReachesTheDaemon) {
  const int wakes = link_.wakes.load();
  const auto reply = post("/api/wake", "", "");
  EXPECT_EQ(reply.status, 202);
  EXPECT_EQ(reply.object()->getValue<std::string>("status"), "ok");
  EXPECT_EQ(link_.wakes.load(), wakes + 1);
  // As a shell would send it: a POST with no body and no Content-Length is answered at once.
  std::string output;
  ASSERT_EQ(testing::runCommand("curl -s -m 30 -w ' %{http_code}' -X POST http://127.0.0.1:" + std::to_string(port_) +
                                    "/api/wake",
                                &output),
            0);
  EXPECT_EQ(output, "{\"status\":\"ok\"} 202");
  EXPECT_EQ(link_.wakes.load(), wakes + 2);
  EXPECT_EQ(link_.scheduleWakes.load(), 0);  // new tasks: the schedules are not read for them
  EXPECT_EQ(get("/api/wake").status, 405);
}

TEST_F(ApiTest, AWakeFromAnotherAddressIs403) {
  std::string address;
  for (const auto& interface : Poco::Net::NetworkInterface::list()) {
    const auto ip = interface.address();
    if (ip.family() == Poco::Net::IPAddress::IPv4 && !ip.isLoopback() && !ip.isWildcard()) {
      address = ip.toString();
      break;
    }
  }
  if (address.empty()) GTEST_SKIP() << "no non-loopback IPv4 address to test from";
  auto server = startServer({"api.listen=" + address + ":0"});
  HttpCall call;
  call.method = "POST";
  call.path = "/api/wake";
  call.host = address;
  const int wakes = link_.wakes.load();
  const auto reply = httpCall(server->port(), call);
  EXPECT_EQ(reply.status, 403);
  EXPECT_EQ(link_.wakes.load(), wakes);
}

TEST_F(ApiTest, StatusShowsWorkersQueueDepthDueJobsRunningRunsAndPause) {
  const double now = unixTime();
  site_->db().execute("INSERT INTO {skynet_worker} (host, pid, version, started, heartbeat) VALUES ('h1', 11, '0.1', ?, ?)",
                      {now - 100, now - 1});
  const auto worker = static_cast<std::int64_t>(site_->db().lastInsertId());
  site_->db().execute("INSERT INTO {skynet_worker} (host, pid, version, started, heartbeat) VALUES ('h2', 12, '0.1', ?, ?)",
                      {now - 500, now - 300});
  site_->aegir().queueTask(10, "verify");
  site_->aegir().queueTask(11, "verify");
  const auto run = aRun();
  site_->db().execute("UPDATE {skynet_run} SET state = 'running', worker_id = ? WHERE id = ?", {worker, run.id});
  schedule(createApplication(createProject("q"), "b", "true"));
  site_->aegir().setVariable("hosting_skynet_paused", "b:1;");
  const auto status = get("/api/status").object();
  EXPECT_EQ(status->getValue<int>("queue_depth"), 2);
  EXPECT_EQ(status->getValue<int>("jobs_due"), 1);
  EXPECT_TRUE(status->getValue<bool>("paused"));
  EXPECT_EQ(status->getArray("running")->size(), 1u);
  const auto workers = status->getArray("workers");
  ASSERT_EQ(workers->size(), 2u);
  const auto alive = workers->getObject(1);  // newest first: h2 then h1
  EXPECT_EQ(alive->getValue<std::string>("host"), "h1");
  EXPECT_TRUE(alive->getValue<bool>("alive"));
  EXPECT_EQ(alive->getArray("running")->size(), 1u);
  EXPECT_FALSE(workers->getObject(0)->getValue<bool>("alive"));
  EXPECT_GE(workers->getObject(0)->getValue<double>("heartbeat_age"), 299.0);
}

TEST_F(ApiTest, HealthIsOkWhileTheLoopTurnsAnd503WhenItStalls) {
  auto reply = get("/healthz");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "ok\n");
  link_.loopTurn = unixTime() - 60;
  reply = get("/healthz");
  EXPECT_EQ(reply.status, 503);
  EXPECT_NE(reply.body.find("last turned"), std::string::npos);
}

TEST_F(ApiTest, WhileTheDatabaseIsDownRoutesAnswer503AndHealthSaysWhy) {
  server_ = startServer({"database.socket=" + site_->dir() + "/no-such.sock"});
  port_ = server_->port();
  auto reply = get("/api/run/list");
  EXPECT_EQ(reply.status, 503);
  EXPECT_EQ(message(reply), "the database is unavailable, try again later");
  reply = get("/healthz");
  EXPECT_EQ(reply.status, 503);
  EXPECT_NE(reply.body.find("database is unreachable"), std::string::npos);
  reply = get("/metrics");
  EXPECT_EQ(reply.status, 200);
  EXPECT_NE(reply.body.find("skynet_database_up 0"), std::string::npos);
}

TEST_F(ApiTest, MetricsPassPromtoolAndCarryTheQueueGauges) {
  site_->aegir().queueTask(10, "verify");
  metrics_.countOutcome("task", "succeeded");
  metrics_.observePickupLatency("task", 0.02);
  const auto reply = get("/metrics");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.contentType, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(reply.body.find("skynet_queue_depth 1\n"), std::string::npos);
  EXPECT_NE(reply.body.find("skynet_runs_running{kind=\"job\"} 0\n"), std::string::npos);
  const std::string file = site_->dir() + "/metrics.txt";
  std::ofstream(file) << reply.body;
  std::string output;
  EXPECT_EQ(testing::runCommand("promtool check metrics < " + file, &output), 0) << output;
}

// --- HTTP edges -----------------------------------------------------------------------------

TEST_F(ApiTest, AWrongMethodIs405WithAnAllowHeader) {
  const auto reply = httpSend(port_, "DELETE", "/api/run/start/1", "", "");
  EXPECT_EQ(reply.status, 405);
  EXPECT_EQ(reply.header("Allow"), "POST, PUT");
  EXPECT_EQ(get("/api/project/").header("Allow"), "POST");
}

TEST_F(ApiTest, UnknownApiPathsAre404JsonAndOtherPathsServeTheWebUi) {
  auto reply = get("/api/nothing/here");
  EXPECT_EQ(reply.status, 404);
  EXPECT_EQ(reply.contentType, "application/json");
  EXPECT_EQ(reply.object()->getValue<std::string>("status"), "error");
  reply = get("/");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.contentType.rfind("text/html", 0), 0u);
  EXPECT_EQ(get("/no/such/file.png").status, 404);
}

TEST_F(ApiTest, MultipartBodiesAreReadAndOtherTypesAre415) {
  const auto run = aRun();
  HttpCall call;
  call.method = "PUT";
  call.path = "/api/run/start/" + std::to_string(run.id);
  call.contentType = "multipart/form-data; boundary=XyZ";
  call.body = "--XyZ\r\nContent-Disposition: form-data; name=\"token\"\r\n\r\n" + run.token +
              "\r\n--XyZ\r\nContent-Disposition: form-data; name=\"ts\"\r\n\r\n77\r\n--XyZ--\r\n";
  auto reply = httpCall(port_, call);
  EXPECT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(column(run.id, "started"), "77");
  call.contentType = "application/json";
  call.body = "{\"token\":\"x\"}";
  reply = httpCall(port_, call);
  EXPECT_EQ(reply.status, 415);
  EXPECT_NE(message(reply).find("application/json"), std::string::npos);
}

TEST_F(ApiTest, TheAccessLogNamesMethodPathAndStatusButNeverATokenOrTheKey) {
  const auto run = aRun();
  ASSERT_EQ(put("/api/run/start/" + std::to_string(run.id) + "?token=" + run.token + "&ts=5", "").status, 200);
  EXPECT_TRUE(capture_->contains("API: PUT /api/run/start/" + std::to_string(run.id) + " 200"));
  get("/api/run/" + std::to_string(run.id), kAdminKey);
  EXPECT_FALSE(capture_->contains(run.token));
  EXPECT_FALSE(capture_->contains(kAdminKey));
}

TEST_F(ApiTest, MalformedRequestsGetAnAnswerAndTheServerKeepsServing) {
  EXPECT_EQ(rawExchange(port_, "GARBAGE\r\n\r\n", true).rfind("HTTP/1.", 0), 0u);
  EXPECT_EQ(rawExchange(port_, "GET /api/run/%zz HTTP/1.1\r\nHost: x\r\n\r\n", true).rfind("HTTP/1.1 400", 0), 0u);
  EXPECT_EQ(rawExchange(port_, "GET * HTTP/1.1\r\nHost: x\r\n\r\n", true).rfind("HTTP/1.1 400", 0), 0u);
  rawExchange(port_, "PUT /api/run/start/1 HTTP/1.1\r\nContent-Length: 50\r\n\r\ntoken=", true);  // cut short
  EXPECT_EQ(get("/api/run/list").status, 200);
}

TEST_F(ApiTest, AFloodOfIdleConnectionsDoesNotStopOtherClients) {
  std::vector<Poco::Net::StreamSocket> idle;
  for (int i = 0; i < ApiServer::kMaxThreads + 4; ++i) {
    idle.emplace_back(Poco::Net::SocketAddress("127.0.0.1", port_));
  }
  // Every request thread now waits on an idle connection; the receive timeout frees them, and
  // the next client is served.
  const auto reply = get("/api/run/list");
  EXPECT_EQ(reply.status, 200);
}

TEST_F(ApiTest, StopShutsDownARequestInProgressAndFreesThePort) {
  // Half a request: a request thread now waits for the rest (up to kReceiveTimeoutSeconds).
  Poco::Net::StreamSocket client(Poco::Net::SocketAddress("127.0.0.1", port_));
  const std::string half = "GET /api/run/list HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  client.sendBytes(half.data(), static_cast<int>(half.size()));
  ASSERT_EQ(get("/api/run/list").status, 200);  // the server is serving: the half request is taken

  auto stopped = std::async(std::launch::async, [&] { server_->stop(); });
  // The connection is shut down by stop(), not left to its receive timeout.
  client.setReceiveTimeout(Poco::Timespan(ApiServer::kReceiveTimeoutSeconds / 2, 0));
  char byte = 0;
  int received = -1;
  try {
    received = client.receiveBytes(&byte, 1);
  } catch (const Poco::Exception&) {
    received = -1;  // the receive timed out: the connection is still open
  }
  EXPECT_EQ(received, 0) << "stop() left the request in progress open";
  stopped.get();
  EXPECT_EQ(server_->port(), 0);

  // The port is free again: a new server binds it.
  const auto again = startServer({"api.listen=127.0.0.1:" + std::to_string(port_)});
  EXPECT_EQ(again->port(), port_);
  EXPECT_EQ(httpGet(port_, "/api/run/list", "").status, 200);
}

TEST_F(ApiTest, StartingOnATakenAddressFailsNamingIt) {
  try {
    startServer({"api.listen=127.0.0.1:" + std::to_string(port_)});
    FAIL() << "a second server started on a taken port";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("api.listen: cannot listen on 127.0.0.1:" + std::to_string(port_)),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace skynet::api
