// Start/stop reports through the HTTP API on loopback: N scheduled runs, CLIENTS threads each
// with a keep-alive connection sending `start` then `stop` (form-encoded, as lackey's curl
// commands) for its share; prints requests per second, latency percentiles and the CPU MariaDB
// spent per request (steadier from run to run than the rate on a shared machine). A measurement,
// not a test.
//   api_bench SOCKET DATABASE USER PASSWORD [RUNS] [CLIENTS]
#include <Poco/Logger.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <fstream>
#include <thread>
#include <vector>

#include "api/server.h"
#include "bench_support.h"
#include "runs/run_store.h"
#include "runs/schema.h"

namespace {

struct Link : skynet::api::DaemonLink {
  void wake(skynet::api::Wake) override {}
  double lastLoopTurn() const override { return 0; }
  std::int64_t workerId() const override { return 0; }
};

struct Job {
  std::int64_t id;
  std::string token;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: api_bench SOCKET DATABASE USER PASSWORD [RUNS] [CLIENTS]\n");
    return 64;
  }
  const int runs = argc > 5 ? std::stoi(argv[5]) : 20000;
  const int clients = argc > 6 ? std::stoi(argv[6]) : 8;
  skynet::Settings settings;
  settings.database.socket = argv[1];
  settings.database.db = argv[2];
  settings.database.user = argv[3];
  settings.database.passwd = argv[4];
  settings.api.listen = "127.0.0.1:0";
  settings.api.maxLogBytes = 1048576;
  settings.runs.timezone = "UTC";
  settings.queue.pollInterval = 1;

  skynet::db::Connection db(settings.database.connectionParams());
  skynet::runs::migrate(db);
  skynet::runs::RunApiStore store(db);
  std::vector<Job> jobs;
  {
    skynet::db::Transaction transaction(db);
    for (int i = 0; i < runs; ++i) {
      skynet::runs::NewJob job;
      job.command = "true";
      job.directory = "bench";
      const auto id = store.scheduleJob(job);
      jobs.push_back({id, ""});
    }
    transaction.commit();
  }
  for (auto& job : jobs) job.token = *store.run(job.id, true)->token;
  // The server's pid from its pid file: its CPU clock before and after the requests.
  pid_t serverPid = 0;
  if (std::ifstream pidFile(db.queryOne("SELECT @@pid_file")->text(0)); pidFile) pidFile >> serverPid;

  Link link;
  skynet::metrics::Registry metrics;
  Poco::Logger& logger = Poco::Logger::get("bench");
  logger.setLevel("warning");
  skynet::api::ApiServer server(settings, link, metrics, logger);
  server.start();

  std::vector<std::vector<double>> latencies(static_cast<std::size_t>(clients));
  std::atomic<int> failures{0};
  const double serverCpuBefore = serverPid ? skynet::bench::cpuSeconds(serverPid) : 0;
  const auto began = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      Poco::Net::HTTPClientSession session("127.0.0.1", server.port());
      session.setKeepAlive(true);
      auto send = [&](const std::string& path, const std::string& body) {
        const auto start = std::chrono::steady_clock::now();
        Poco::Net::HTTPRequest request("PUT", path, Poco::Net::HTTPMessage::HTTP_1_1);
        request.setContentType("application/x-www-form-urlencoded");
        request.setContentLength(static_cast<std::streamsize>(body.size()));
        request.setKeepAlive(true);
        session.sendRequest(request) << body;
        Poco::Net::HTTPResponse response;
        std::string answer;
        Poco::StreamCopier::copyToString(session.receiveResponse(response), answer);
        if (response.getStatus() != Poco::Net::HTTPResponse::HTTP_OK) ++failures;
        latencies[static_cast<std::size_t>(c)].push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
      };
      for (std::size_t i = static_cast<std::size_t>(c); i < jobs.size(); i += static_cast<std::size_t>(clients)) {
        const std::string id = std::to_string(jobs[i].id);
        send("/api/run/start/" + id, "token=" + jobs[i].token + "&ts=1796151600");
        send("/api/run/stop/" + id, "token=" + jobs[i].token + "&ts=1796151660&exit_code=0&log=done");
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  const double serverCpu = serverPid ? skynet::bench::cpuSeconds(serverPid) - serverCpuBefore : 0;
  server.stop();

  std::vector<double> all;
  for (const auto& mine : latencies) all.insert(all.end(), mine.begin(), mine.end());
  std::sort(all.begin(), all.end());
  const auto at = [&](double q) { return all.empty() ? 0.0 : all[static_cast<std::size_t>(q * static_cast<double>(all.size() - 1))]; };
  std::printf("%zu start/stop requests from %d clients in %.2f s: %.0f requests/s\n", all.size(), clients, seconds,
              static_cast<double>(all.size()) / seconds);
  std::printf("latency p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms; %d not 200\n", at(0.5), at(0.9), at(0.99),
              all.empty() ? 0.0 : all.back(), failures.load());
  if (serverPid && !all.empty()) {
    std::printf("MariaDB CPU per request %.1f us\n", serverCpu * 1e6 / static_cast<double>(all.size()));
  }
  return failures.load() == 0 ? 0 : 1;
}
