#include "metrics/metrics.h"

#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "support/sandbox.h"

namespace skynet::metrics {
namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(Metrics, CountsOutcomesAndClaimsByLabel) {
  Registry registry;
  registry.countOutcome("task", "succeeded");
  registry.countOutcome("task", "succeeded");
  registry.countOutcome("job", "failed");
  registry.countClaim("task");
  registry.countDatabaseError();
  registry.setRunning("job", 2);
  registry.setOutboxDepth(3);
  const std::string text = registry.render({});
  EXPECT_TRUE(contains(text, "skynet_run_outcomes_total{kind=\"task\",state=\"succeeded\"} 2\n"));
  EXPECT_TRUE(contains(text, "skynet_run_outcomes_total{kind=\"job\",state=\"failed\"} 1\n"));
  EXPECT_TRUE(contains(text, "skynet_claims_total{kind=\"task\"} 1\n"));
  EXPECT_TRUE(contains(text, "skynet_database_errors_total 1\n"));
  EXPECT_TRUE(contains(text, "skynet_worker_running{kind=\"job\"} 2\n"));
  EXPECT_TRUE(contains(text, "skynet_outbox_depth 3\n"));
  EXPECT_TRUE(contains(text, "# TYPE skynet_run_outcomes_total counter\n"));
}

TEST(Metrics, HistogramBucketsAreCumulativeWithSumAndCount) {
  Registry registry;
  registry.observePickupLatency("task", 0.0005);
  registry.observePickupLatency("task", 0.003);
  registry.observePickupLatency("task", 7200);
  const std::string text = registry.render({});
  EXPECT_TRUE(contains(text, "# TYPE skynet_pickup_latency_seconds histogram\n"));
  EXPECT_TRUE(contains(text, "skynet_pickup_latency_seconds_bucket{kind=\"task\",le=\"0.001\"} 1\n"));
  EXPECT_TRUE(contains(text, "skynet_pickup_latency_seconds_bucket{kind=\"task\",le=\"0.005\"} 2\n"));
  EXPECT_TRUE(contains(text, "skynet_pickup_latency_seconds_bucket{kind=\"task\",le=\"3600\"} 2\n"));
  EXPECT_TRUE(contains(text, "skynet_pickup_latency_seconds_bucket{kind=\"task\",le=\"+Inf\"} 3\n"));
  EXPECT_TRUE(contains(text, "skynet_pickup_latency_seconds_count{kind=\"task\"} 3\n"));
  EXPECT_TRUE(contains(text, "skynet_pickup_latency_seconds_sum{kind=\"task\"} 7200.0035\n"));
}

TEST(Metrics, RendersTheCallersGaugesGroupedByFamily) {
  Registry registry;
  const std::string text = registry.render(
      {{"skynet_queue_depth", 12}, {"skynet_runs_running{kind=\"task\"}", 1}, {"skynet_runs_running{kind=\"job\"}", 2}});
  EXPECT_TRUE(contains(text, "# TYPE skynet_queue_depth gauge\nskynet_queue_depth 12\n"));
  EXPECT_TRUE(contains(text, "# TYPE skynet_runs_running gauge\nskynet_runs_running{kind=\"task\"} 1\n"
                             "skynet_runs_running{kind=\"job\"} 2\n"));
}

TEST(Metrics, IsSafeToFeedFromManyThreads) {
  Registry registry;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        registry.countOutcome("job", "succeeded");
        registry.observeRunDuration("job", 1.5);
        registry.render({});
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_TRUE(contains(registry.render({}), "skynet_run_outcomes_total{kind=\"job\",state=\"succeeded\"} 4000\n"));
  EXPECT_TRUE(contains(registry.render({}), "skynet_run_duration_seconds_count{kind=\"job\"} 4000\n"));
}

TEST(Metrics, PassesPromtoolCheckMetrics) {
  Registry registry;
  registry.countOutcome("task", "succeeded");
  registry.countOutcome("job", "timed_out");
  registry.countClaim("job");
  registry.observePickupLatency("task", 0.2);
  registry.observeRunDuration("job", 42);
  registry.setRunning("task", 1);
  const std::string dir = testing::makeTempDir("skynet-metrics");
  std::ofstream(dir + "/metrics.txt")
      << registry.render({{"skynet_queue_depth", 3}, {"skynet_runs_running{kind=\"job\"}", 1}});
  std::string output;
  const int code = testing::runCommand("promtool check metrics < " + dir + "/metrics.txt", &output);
  testing::runCommand("rm -rf " + dir);
  EXPECT_EQ(code, 0) << output;
}

}  // namespace
}  // namespace skynet::metrics
