// Times one poll's candidate query (TaskQueue::queued) on a database given on the command line:
// a full scan from vid 0 against a scan from the floor the daemon keeps (daemon/scan_window.h).
//   poll_bench SOCKET DATABASE USER PASSWORD FLOOR [REPEATS]
#include <chrono>
#include <cstdio>
#include <string>

#include "aegir/task_queue.h"

int main(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr, "usage: poll_bench SOCKET DATABASE USER PASSWORD FLOOR [REPEATS]\n");
    return 64;
  }
  skynet::db::ConnectionParams params;
  params.socket = argv[1];
  params.database = argv[2];
  params.user = argv[3];
  params.password = argv[4];
  const std::int64_t floor = std::stoll(argv[5]);
  const int repeats = argc > 6 ? std::stoi(argv[6]) : 5;
  skynet::db::Connection connection(params);
  skynet::aegir::TaskQueue queue(connection);
  const auto rows = connection.queryOne("SELECT COUNT(*) FROM {hosting_task}")->integer(0);
  auto time = [&](std::int64_t from, std::size_t& found) {
    double best = 1e9;
    for (int i = 0; i < repeats; ++i) {
      const auto start = std::chrono::steady_clock::now();
      found = queue.queued(200, from).size();
      best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    return best;
  };
  std::size_t fullFound = 0, windowFound = 0;
  const double full = time(0, fullFound);
  const double window = time(floor, windowFound);
  std::printf("hosting_task rows: %lld\n", static_cast<long long>(rows));
  std::printf("full scan (from vid 0):      %8.2f ms, %zu queued tasks found\n", full * 1000, fullFound);
  std::printf("windowed (from vid %lld): %8.2f ms, %zu queued tasks found\n", static_cast<long long>(floor),
              window * 1000, windowFound);
  std::printf("ratio full/windowed: %.0fx (best of %d each)\n", full / window, repeats);
  return fullFound == windowFound ? 0 : 1;
}
