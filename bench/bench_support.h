// What the benchmark (bench/skynet_bench.cc) is built from: readings of a process from /proc,
// children started and reaped, a raw SQL session (the text protocol, as the stand-in uses), the
// stand-in's records, the daemon as a child process, and the Aegir rows a measurement needs.
//
// Everything here measures; nothing asserts. Single-threaded: the benchmark drives one thing at
// a time so that what it measures is what runs.
#pragma once

#include <mysql.h>
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace skynet::bench {

// Wall clock (CLOCK_REALTIME), as the stand-in records it; seconds.
double wallSeconds();
// CLOCK_MONOTONIC; seconds.
double monoSeconds();
void sleepSeconds(double seconds);

// utime + stime of a process, in seconds; VmRSS in KiB (0 when the process is gone).
double cpuSeconds(pid_t pid);
long rssKiB(pid_t pid);

// p in [0, 1] of `values` (nearest rank); 0 for none.
double percentile(std::vector<double> values, double p);

// A child started with posix_spawn, its stdout and stderr to `output` (or /dev/null).
pid_t spawn(const std::string& executable, const std::vector<std::string>& arguments,
            const std::map<std::string, std::string>& environment, const std::string& output = "");
// Blocks until `pid` ends; its exit code (128 + signal when a signal ended it).
int waitFor(pid_t pid);

// A session on the sandbox through the text protocol with multi-statements.
class RawSql {
 public:
  RawSql(const std::string& socket, const std::string& database);
  ~RawSql();
  RawSql(const RawSql&) = delete;
  RawSql& operator=(const RawSql&) = delete;
  // Runs every statement of `sql` and returns the rows of the last result that had any.
  std::vector<std::vector<std::string>> run(const std::string& sql);
  std::int64_t integer(const std::string& sql);
  // SHOW GLOBAL STATUS as numbers, and trx_rw_commits (write transactions) of INNODB_METRICS.
  std::map<std::string, double> globalStatus();

 private:
  MYSQL* db_;
};

// One line of the stand-in's record file: "nid exec loaded end" (ns since the epoch, as seconds
// here): its main() began, its client library was loaded, it was about to exit.
struct Record {
  std::int64_t nid = 0;
  double exec = 0;
  double loaded = 0;
  double end = 0;
};
std::vector<Record> readRecords(const std::string& file);
std::size_t countLines(const std::string& file);

// A folder as HOME for the stand-in (and the simulator): drush.conf pointing at `database` and
// at `home`/records.
struct StandInHome {
  std::string home;
  std::string records;
};
StandInHome makeStandInHome(const std::string& home, const std::string& socket, const std::string& database);

// `skynet queued` as a child of the benchmark, with an INI file it writes.
struct DaemonConfig {
  std::string binary, socket, database, drush, home, folder;
  int concurrency = 1;
  double pollInterval = 1.0;
  std::string apiListen;  // empty: none
  std::string logLevel = "warning";
};
class Daemon {
 public:
  explicit Daemon(const DaemonConfig& config);
  ~Daemon();
  pid_t pid() const { return pid_; }
  // SIGTERM, then waits; returns its exit code.
  int stop();
  std::string log() const;

 private:
  DaemonConfig config_;
  pid_t pid_ = -1;
};

// Aegir rows: `sites` site nodes from nid 1000, then `count` tasks queued on them round-robin
// (one revision each, status 0), nid = vid from `firstNid`, node.changed rising with the nid; one
// transaction. Returns the nids.
void createSites(RawSql& sql, int sites);
std::vector<std::int64_t> queueTasks(RawSql& sql, std::int64_t firstNid, int count, int sites,
                                     std::int64_t changedBase);
// One task queued as node_save() does (node, node_revision, node.vid, hosting_task) in one
// transaction and one round trip; returns its nid. `committed` gets the wall time right after the
// commit returned.
std::int64_t queueOneTask(RawSql& sql, std::int64_t rid, double& committed);
// Finished history: `finished` tasks on `sites` sites, each with its queued revision left at 0 and
// its finished one at 1, as hosting-task leaves them (2 hosting_task rows each), before
// `firstNid`/vid; plus `leftProcessing` revisions left at -1 long ago (Aegir's window is 8 hours).
// Returns the vid just above the history.
std::int64_t createHistory(RawSql& sql, int finished, int sites, std::int64_t leftProcessing);

}  // namespace skynet::bench
