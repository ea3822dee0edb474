// Counters, gauges and histograms the daemon feeds and GET /metrics renders in Prometheus'
// text exposition format (version 0.0.4). Every name starts with skynet_.
//
// Contract: the daemon calls the count/observe/set methods as things happen; render() writes
// every family with its # HELP and # TYPE lines, families in a fixed order and label sets
// sorted, so two renders of the same state are identical. Histograms share one bucket ladder
// in seconds (1 ms .. 1 h). `kind` is "task" or "job"; other values are rendered as given.
//
// Threading: every method may be called from any thread (one mutex; each call is short).
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace skynet::metrics {

class Registry {  // thread-safe: every method may be called from any thread
 public:
  void countOutcome(const std::string& kind, const std::string& state);  // kind: task|job
  void observePickupLatency(const std::string& kind, double seconds);    // due/queued -> exec
  void observeRunDuration(const std::string& kind, double seconds);
  void countDatabaseError();
  void countClaim(const std::string& kind);
  void setRunning(const std::string& kind, int count);
  void setOutboxDepth(int count);  // outcomes waiting for the database
  // Prometheus text exposition format; `gauges` adds point-in-time values read by the caller
  // (e.g. {"skynet_queue_depth", 12}), each rendered with # HELP/# TYPE gauge. A name may carry
  // its labels (`skynet_runs_running{kind="job"}`); entries of one family are grouped.
  std::string render(const std::vector<std::pair<std::string, double>>& gauges) const;

  // The upper bounds of every histogram's buckets, in seconds (+Inf is implied).
  static const std::vector<double>& bucketBounds();

 private:
  struct Histogram {
    std::vector<unsigned long long> counts;  // per bucket, not cumulative; last is +Inf
    double sum = 0;
    unsigned long long count = 0;
  };
  static void observe(std::map<std::string, Histogram>& histograms, const std::string& kind, double seconds);

  mutable std::mutex mutex_;
  std::map<std::pair<std::string, std::string>, unsigned long long> outcomes_;  // (kind, state)
  std::map<std::string, Histogram> pickupLatency_;
  std::map<std::string, Histogram> runDuration_;
  std::map<std::string, unsigned long long> claims_;
  std::map<std::string, int> running_;
  unsigned long long databaseErrors_ = 0;
  int outboxDepth_ = 0;
};

}  // namespace skynet::metrics
