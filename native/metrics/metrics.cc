#include "metrics/metrics.h"

#include <cmath>
#include <cstdio>
#include <sstream>

namespace skynet::metrics {

namespace {

// Prometheus reads floats as Go's ParseFloat does; %.15g round-trips what we count.
std::string number(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char text[40];
  std::snprintf(text, sizeof text, "%.15g", value);
  return text;
}

// A label value: backslash, double quote and newline are escaped (exposition format 0.0.4).
std::string labelValue(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

void header(std::ostringstream& out, const std::string& name, const char* type, const std::string& help) {
  out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
}

// Help texts of the gauges the API passes in; any other name gets a generic one.
std::string gaugeHelp(const std::string& family) {
  if (family == "skynet_queue_depth") return "Aegir tasks queued on their current revision.";
  if (family == "skynet_jobs_due") return "Lackey runs scheduled and due, not yet started.";
  if (family == "skynet_runs_running") return "Runs in state running in the database, by kind (all workers).";
  if (family == "skynet_database_up") return "1 when the API could read the database for this scrape, else 0.";
  return "Point-in-time value read for this scrape.";
}

}  // namespace

const std::vector<double>& Registry::bucketBounds() {
  static const std::vector<double> bounds = {0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1,    2.5,
                                             5,     10,    30,   60,   120,  300,  600, 1800, 3600};
  return bounds;
}

void Registry::observe(std::map<std::string, Histogram>& histograms, const std::string& kind, double seconds) {
  if (std::isnan(seconds)) return;
  const auto& bounds = bucketBounds();
  Histogram& histogram = histograms[kind];
  if (histogram.counts.empty()) histogram.counts.assign(bounds.size() + 1, 0);
  std::size_t bucket = 0;
  while (bucket < bounds.size() && seconds > bounds[bucket]) ++bucket;
  ++histogram.counts[bucket];
  histogram.sum += seconds;
  ++histogram.count;
}

void Registry::countOutcome(const std::string& kind, const std::string& state) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++outcomes_[{kind, state}];
}

void Registry::observePickupLatency(const std::string& kind, double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  observe(pickupLatency_, kind, seconds);
}

void Registry::observeRunDuration(const std::string& kind, double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  observe(runDuration_, kind, seconds);
}

void Registry::countDatabaseError() {
  std::lock_guard<std::mutex> lock(mutex_);
  ++databaseErrors_;
}

void Registry::countClaim(const std::string& kind) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++claims_[kind];
}

void Registry::setRunning(const std::string& kind, int count) {
  std::lock_guard<std::mutex> lock(mutex_);
  running_[kind] = count;
}

void Registry::setOutboxDepth(int count) {
  std::lock_guard<std::mutex> lock(mutex_);
  outboxDepth_ = count;
}

std::string Registry::render(const std::vector<std::pair<std::string, double>>& gauges) const {
  std::ostringstream out;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    header(out, "skynet_run_outcomes_total", "counter", "Runs this daemon finished, by kind and final state.");
    for (const auto& [key, count] : outcomes_) {
      out << "skynet_run_outcomes_total{kind=\"" << labelValue(key.first) << "\",state=\"" << labelValue(key.second)
          << "\"} " << count << '\n';
    }
    header(out, "skynet_claims_total", "counter", "Tasks and jobs this daemon claimed, by kind.");
    for (const auto& [kind, count] : claims_) {
      out << "skynet_claims_total{kind=\"" << labelValue(kind) << "\"} " << count << '\n';
    }
    header(out, "skynet_database_errors_total", "counter", "Database errors the daemon met.");
    out << "skynet_database_errors_total " << databaseErrors_ << '\n';
    header(out, "skynet_worker_running", "gauge", "Runs this daemon supervises now, by kind.");
    for (const auto& [kind, count] : running_) {
      out << "skynet_worker_running{kind=\"" << labelValue(kind) << "\"} " << count << '\n';
    }
    header(out, "skynet_outbox_depth", "gauge", "Outcomes waiting for the database.");
    out << "skynet_outbox_depth " << outboxDepth_ << '\n';

    const auto histogram = [&](const std::string& name, const std::string& help,
                               const std::map<std::string, Histogram>& byKind) {
      header(out, name, "histogram", help);
      const auto& bounds = bucketBounds();
      for (const auto& [kind, h] : byKind) {
        const std::string label = "kind=\"" + labelValue(kind) + "\"";
        unsigned long long cumulative = 0;
        for (std::size_t i = 0; i <= bounds.size(); ++i) {
          cumulative += h.counts[i];
          out << name << "_bucket{" << label << ",le=\"" << (i < bounds.size() ? number(bounds[i]) : "+Inf")
              << "\"} " << cumulative << '\n';
        }
        out << name << "_sum{" << label << "} " << number(h.sum) << '\n';
        out << name << "_count{" << label << "} " << h.count << '\n';
      }
    };
    histogram("skynet_pickup_latency_seconds", "Seconds from queued or due to the start of execution.",
              pickupLatency_);
    histogram("skynet_run_duration_seconds", "Seconds a run took from start to end.", runDuration_);
  }

  // The caller's gauges, grouped by family (the name before any '{').
  std::vector<std::string> families;
  std::map<std::string, std::vector<std::pair<std::string, double>>> byFamily;
  for (const auto& gauge : gauges) {
    const std::string family = gauge.first.substr(0, gauge.first.find('{'));
    if (!byFamily.count(family)) families.push_back(family);
    byFamily[family].push_back(gauge);
  }
  for (const auto& family : families) {
    header(out, family, "gauge", gaugeHelp(family));
    for (const auto& [name, value] : byFamily[family]) out << name << ' ' << number(value) << '\n';
  }
  return out.str();
}

}  // namespace skynet::metrics
