// The benchmark of issue 10: `skynet queued` with a no-op stand-in for drush (bench/noop_drush.cc)
// and with the Aegir simulator, each figure beside this machine's floor measured in the same run
// and beside its target. Started by bench/run, which starts the private MariaDB; this program
// creates its own databases there, one per measurement, and prints the table and writes it as
// JSON. Figures are printed, never asserted: the exit code says only whether it could measure.
//
//   skynet_bench --socket S --mariadb-pid P --work DIR --tree SRC --build BUILD --out FILE [--quick]
//                [--rss-tasks N]
//
// Timing sources: the benchmark's commit of a task row (wall clock after COMMIT returned), the
// stand-in's own readings (exec: first thing in main(); end: after its commit), the daemon's claim
// time (skynet_run.created), /proc for CPU and RSS, SHOW GLOBAL STATUS for statement counts.
#include <Poco/Format.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <limits>
#include <numeric>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>

#include "aegir/task_queue.h"
#include "bench_support.h"
#include "daemon/batch_start.h"
#include "daemon/poll_probe.h"
#include "daemon/queue_mirror.h"
#include "db/connection.h"
#include "runs/run_store.h"
#include "runs/schema.h"

namespace skynet::bench {
namespace {

constexpr double kNone = std::numeric_limits<double>::quiet_NaN();
constexpr int kSites = 100;
constexpr std::int64_t kFirstNid = 100000;
// Tasks per poll in the polling-only pickup (8 sites, concurrency 8).
constexpr int kPollBatch = 8;

struct Options {
  std::string socket, work, tree, build, out;
  pid_t mariadb = 0;
  bool quick = false;
  int rssTasks = 0;  // 0: the mode's default
  std::set<std::string> only;  // parts to run (floor throughput gap pickup statements simulator api); empty: all
  bool runs(const std::string& part) const { return only.empty() || only.count(part) > 0; }
};

// How big each measurement is, by mode.
struct Sizes {
  int spawnRepeats, sqlRepeats, aloneTasks, c1Queued, c1Measured, c8Tasks, gapTasks, pollSamples, pollSingles,
      wakeSamples;
  double idleSeconds;
  int historyFinished, historyLeftProcessing, historyQueued, statementRepeats, simC1, simC8, apiRuns, rssTasks;
};

Sizes sizesFor(const Options& options) {
  Sizes full{1000, 2000, 2000, 10000, 3000, 10000, 500, 1000, 200, 1000, 60.0, 500000, 100000, 10000, 30, 200, 400, 20000,
             100000};
  Sizes quick{300, 500, 500, 2000, 500, 2000, 150, 120, 20, 200, 10.0, 50000, 10000, 10000, 15, 40, 80, 4000, 0};
  Sizes sizes = options.quick ? quick : full;
  if (options.rssTasks > 0) sizes.rssTasks = options.rssTasks;
  return sizes;
}

// One row of the table.
struct Figure {
  std::string section, name;
  double value = kNone;
  std::string unit;
  double floor = kNone;
  std::string floorNote;  // what the floor is
  std::string target;     // as the issue states it
  std::optional<bool> met;
  std::string note;
};

class Report {
 public:
  void add(Figure figure) { figures_.push_back(std::move(figure)); }
  void detail(const std::string& key, double value) { details_.set(key, value); }
  void print(std::ostream& out) const;
  void writeJson(const std::string& file, const Options& options, double seconds) const;

 private:
  std::vector<Figure> figures_;
  Poco::JSON::Object details_;
};

std::string number(double value, const std::string& unit) {
  if (std::isnan(value)) return "n/a";
  char text[64];
  if (std::fabs(value) >= 100 || unit == "req/s" || unit == "tasks/s" || unit == "KiB")
    std::snprintf(text, sizeof text, "%.0f %s", value, unit.c_str());
  else if (std::fabs(value) >= 10)
    std::snprintf(text, sizeof text, "%.1f %s", value, unit.c_str());
  else
    std::snprintf(text, sizeof text, "%.2f %s", value, unit.c_str());
  return text;
}

void Report::print(std::ostream& out) const {
  std::string section;
  char line[400];
  std::snprintf(line, sizeof line, "%-44s %14s %14s  %-30s %s\n", "figure", "skynet", "floor", "target", "met");
  out << line << std::string(112, '-') << "\n";
  for (const auto& figure : figures_) {
    if (figure.section != section) {
      section = figure.section;
      out << "[" << section << "]\n";
    }
    const std::string met = figure.met ? (*figure.met ? "yes" : "NO") : "-";
    std::snprintf(line, sizeof line, "%-44s %14s %14s  %-30s %s\n", figure.name.c_str(),
                  number(figure.value, figure.unit).c_str(), number(figure.floor, figure.unit).c_str(),
                  figure.target.c_str(), met.c_str());
    out << line;
    if (!figure.note.empty()) out << "    " << figure.note << "\n";
  }
}

void Report::writeJson(const std::string& file, const Options& options, double seconds) const {
  Poco::JSON::Object root;
  root.set("mode", options.quick ? "quick" : "full");
  root.set("seconds", seconds);
  root.set("generated", wallSeconds());
  Poco::JSON::Array rows;
  auto numberOrNull = [](double value) { return std::isnan(value) ? Poco::Dynamic::Var() : Poco::Dynamic::Var(value); };
  for (const auto& figure : figures_) {
    Poco::JSON::Object row;
    row.set("section", figure.section);
    row.set("figure", figure.name);
    row.set("value", numberOrNull(figure.value));
    row.set("unit", figure.unit);
    row.set("floor", numberOrNull(figure.floor));
    row.set("floor_is", figure.floorNote);
    row.set("target", figure.target);
    row.set("met", figure.met ? Poco::Dynamic::Var(*figure.met) : Poco::Dynamic::Var());
    row.set("note", figure.note);
    rows.add(row);
  }
  root.set("figures", rows);
  root.set("details", details_);
  std::ofstream out(file);
  root.stringify(out, 2);
  out << "\n";
}

void say(const std::string& text) {
  std::cerr << "==> " << text << std::endl;
}

// Everything the measurements share.
struct Bench {
  Options options;
  Sizes sizes;
  std::string standIn, simulator, skynet, writeHome, apiBench;
  Report report;
  // Floors measured first, used by the rows after.
  double commitP50 = kNone, spawnExecP50 = kNone, aloneGapP50 = kNone, batchExecP50 = kNone;
  double aloneQuestionsPerTask = kNone, aloneCommitsPerTask = kNone, clientRss = kNone;

  std::string folder(const std::string& name) const { return options.work + "/" + name; }

  // A fresh database with the Aegir schema and base rows (as tests/support/mariadb-sandbox create-db).
  void createDatabase(const std::string& name) {
    RawSql root(options.socket, "");
    std::ifstream schema(options.tree + "/tests/fixtures/aegir-schema.sql");
    std::ifstream base(options.tree + "/tests/fixtures/aegir-base.sql");
    std::stringstream sql;
    sql << "DROP DATABASE IF EXISTS `" << name << "`; CREATE DATABASE `" << name << "`; USE `" << name << "`;\n"
        << schema.rdbuf() << "\n" << base.rdbuf();
    root.run(sql.str());
  }

  std::map<std::string, std::string> childEnvironment(const std::string& home) const {
    return {{"HOME", home}, {"USER", "skynet-bench"}, {"PATH", "/usr/bin:/bin"}};
  }

  std::vector<std::string> taskArguments(std::int64_t nid) const {
    return {"@hostmaster", "hosting-task", std::to_string(nid), "--strict=0", "--force"};
  }

  // Waits until MariaDB is quiet (under 2 ms of CPU a second, over two seconds) or `limit`
  // seconds have passed: the purge and page flushing that the part before and the queueing of
  // this part's tasks left behind are then not counted as the CPU of what is measured next.
  void settleServer(double limit) const {
    const double until = monoSeconds() + limit;
    for (;;) {
      const double before = cpuSeconds(options.mariadb);
      sleepSeconds(2.0);
      if (cpuSeconds(options.mariadb) - before < 0.004) return;
      if (monoSeconds() > until) {
        say("MariaDB was still busy after " + std::to_string(static_cast<int>(limit)) + " s; measuring anyway");
        return;
      }
    }
  }
};

// How long a part waits for MariaDB to settle before it is measured.
constexpr double kSettleLimit = 60;

// ---- the floor --------------------------------------------------------------------------------

struct AloneRun {
  double throughput = kNone, mariaCpuPerTask = kNone, questionsPerTask = kNone, commitsPerTask = kNone;
  std::vector<double> spawnToExec, loading, gaps;
};

// Runs `executable` on every queued task of `database` directly, `concurrency` at a time: what
// any runner must at least pay per task.
AloneRun runAlone(Bench& bench, const std::string& database, const std::string& executable, const std::string& home,
                  const std::vector<std::int64_t>& nids, int concurrency, const std::string& records) {
  RawSql sql(bench.options.socket, database);
  const auto env = bench.childEnvironment(home);
  std::map<std::int64_t, double> spawned;
  std::map<pid_t, std::int64_t> running;
  bench.settleServer(kSettleLimit);
  auto before = sql.globalStatus();
  const double cpuBefore = cpuSeconds(bench.options.mariadb);
  const double began = wallSeconds();
  std::size_t next = 0;
  while (next < nids.size() || !running.empty()) {
    while (next < nids.size() && static_cast<int>(running.size()) < concurrency) {
      const std::int64_t nid = nids[next++];
      spawned[nid] = wallSeconds();
      running[spawn(executable, bench.taskArguments(nid), env)] = nid;
    }
    int raw = 0;
    const pid_t done = waitpid(-1, &raw, 0);
    if (done > 0) running.erase(done);
  }
  const double ended = wallSeconds();
  const double cpuAfter = cpuSeconds(bench.options.mariadb);
  auto after = sql.globalStatus();
  AloneRun run;
  const double tasks = static_cast<double>(nids.size());
  run.mariaCpuPerTask = (cpuAfter - cpuBefore) / tasks;
  run.questionsPerTask = (after["Questions"] - before["Questions"] - 1) / tasks;
  run.commitsPerTask = (after["trx_rw_commits"] - before["trx_rw_commits"]) / tasks;
  if (!records.empty()) {
    auto recs = readRecords(records);
    std::sort(recs.begin(), recs.end(), [](const Record& a, const Record& b) { return a.exec < b.exec; });
    for (std::size_t i = 0; i < recs.size(); ++i) {
      run.spawnToExec.push_back(recs[i].exec - spawned[recs[i].nid]);
      run.loading.push_back(recs[i].loaded - recs[i].exec);
      if (i > 0 && concurrency == 1) run.gaps.push_back(recs[i].exec - recs[i - 1].end);
    }
    run.throughput = tasks / (recs.back().end - recs.front().exec);
  } else {
    run.throughput = tasks / (ended - began);
  }
  return run;
}

// A fresh database `name` with `queued` tasks on kSites sites, and a home for the stand-in that
// runs them.
struct StandInQueue {
  std::vector<std::int64_t> nids;
  StandInHome home;
};

StandInQueue queueForStandIn(Bench& bench, const std::string& name, int queued) {
  bench.createDatabase(name);
  RawSql db(bench.options.socket, name);
  createSites(db, kSites);
  auto nids = queueTasks(db, kFirstNid, queued, kSites, 1700000000);
  return {std::move(nids), makeStandInHome(bench.folder(name), bench.options.socket, name)};
}

// The stand-in alone at `concurrency` over the first `measured` of `queued` tasks (the queue a
// daemon's run of the same size has).
AloneRun runAloneLike(Bench& bench, const std::string& name, int concurrency, int queued, int measured) {
  auto queue = queueForStandIn(bench, name, queued);
  queue.nids.resize(static_cast<std::size_t>(measured));
  return runAlone(bench, name, bench.standIn, queue.home.home, queue.nids, concurrency, queue.home.records);
}

void measureFloor(Bench& bench) {
  const Sizes& sizes = bench.sizes;
  say("floor: posix_spawn + wait of /bin/true, SELECT 1, one commit");
  std::vector<double> spawnTrue, select1, commit;
  for (int i = 0; i < sizes.spawnRepeats; ++i) {
    const double start = monoSeconds();
    waitFor(spawn("/bin/true", {}, {}));
    spawnTrue.push_back(monoSeconds() - start);
  }
  bench.createDatabase("bench_floor");
  RawSql sql(bench.options.socket, "bench_floor");
  sql.run("CREATE TABLE bench_counter (id INT PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB;"
          "INSERT INTO bench_counter VALUES (1, 0)");
  for (int i = 0; i < sizes.sqlRepeats; ++i) {
    double start = monoSeconds();
    sql.run("SELECT 1");
    select1.push_back(monoSeconds() - start);
    start = monoSeconds();
    sql.run("UPDATE bench_counter SET v = v + 1 WHERE id = 1");
    commit.push_back(monoSeconds() - start);
  }
  bench.commitP50 = percentile(commit, 0.5) * 1000;
  Report& report = bench.report;
  report.add({"floor", "posix_spawn + wait of /bin/true, p50", percentile(spawnTrue, 0.5) * 1000, "ms", kNone, "", "",
              std::nullopt, ""});
  report.add({"floor", "one SELECT 1 round trip, p50", percentile(select1, 0.5) * 1000, "ms", kNone, "", "",
              std::nullopt, ""});
  report.add({"floor", "one commit (autocommit UPDATE), p50", bench.commitP50, "ms", kNone, "", "", std::nullopt, ""});

  for (int concurrency : {1, 8}) {
    const std::string name = "bench_alone" + std::to_string(concurrency);
    const int tasks = concurrency == 1 ? sizes.aloneTasks : 2 * sizes.aloneTasks;
    say("floor: the stand-in alone, " + std::to_string(concurrency) + " at a time, " + std::to_string(tasks) + " tasks");
    const AloneRun run = runAloneLike(bench, name, concurrency, tasks, tasks);
    if (concurrency == 1) {
      bench.spawnExecP50 = percentile(run.spawnToExec, 0.5) * 1000;
      bench.aloneGapP50 = percentile(run.gaps, 0.5) * 1000;
      bench.aloneQuestionsPerTask = run.questionsPerTask;
      bench.aloneCommitsPerTask = run.commitsPerTask;
      report.add({"floor", "stand-in: spawn -> its main(), p50", bench.spawnExecP50, "ms", kNone, "", "", std::nullopt,
                  ""});
      report.add({"floor", "stand-in: main() -> libmariadb loaded, p50", percentile(run.loading, 0.5) * 1000, "ms",
                  kNone, "", "", std::nullopt, "its dlopen, after the exec reading (bench/noop_drush.cc)"});
      report.add({"floor", "stand-in: its exit -> next one's main(), p50", bench.aloneGapP50, "ms", kNone, "", "",
                  std::nullopt, "a runner that only waits and spawns"});
      report.add({"floor", "stand-in alone, 1 at a time", run.throughput, "tasks/s", kNone, "", "", std::nullopt, ""});
      report.add({"floor", "MariaDB CPU per task, stand-in's own SQL", run.mariaCpuPerTask * 1000, "ms", kNone, "", "",
                  std::nullopt, ""});
      bench.report.detail("alone_questions_per_task", run.questionsPerTask);
      bench.report.detail("alone_write_commits_per_task", run.commitsPerTask);
    } else {
      report.add({"floor", "stand-in alone, 8 at a time", run.throughput, "tasks/s", kNone, "", "", std::nullopt, ""});
    }
  }
  // Eight stand-ins started at once, as a poll that claims eight tasks starts them: the floor of
  // that poll's claim -> exec. Each batch's clock starts as its first spawn begins; the eight then
  // share this machine's cores for their linking and their SQL.
  {
    const int batches = std::max(1, sizes.pollSamples / kPollBatch);
    say("floor: the stand-in, " + std::to_string(kPollBatch) + " started at once, " + std::to_string(batches) +
        " times");
    const auto queue = queueForStandIn(bench, "bench_batch", batches * kPollBatch);
    const auto& nids = queue.nids;
    const auto env = bench.childEnvironment(queue.home.home);
    std::map<std::int64_t, double> batchStart;
    bench.settleServer(kSettleLimit);
    for (std::size_t first = 0; first < nids.size(); first += kPollBatch) {
      const double start = wallSeconds();
      std::vector<pid_t> children;
      for (std::size_t i = first; i < first + kPollBatch; ++i) {
        batchStart[nids[i]] = start;
        children.push_back(spawn(bench.standIn, bench.taskArguments(nids[i]), env));
      }
      for (const auto child : children) waitFor(child);
    }
    std::vector<double> startToExec;
    for (const auto& record : readRecords(queue.home.records)) {
      startToExec.push_back(record.exec - batchStart[record.nid]);
    }
    bench.batchExecP50 = percentile(startToExec, 0.5) * 1000;
    report.add({"floor", "stand-in: 8 started at once -> main(), p50", bench.batchExecP50, "ms", kNone, "", "",
                std::nullopt, "from the first spawn of the eight"});
  }
  // The resident memory of a process that only links and connects libmariadb.
  const std::string out = bench.folder("client-rss.txt");
  const auto home = makeStandInHome(bench.folder("bench_alone1"), bench.options.socket, "bench_alone1");
  waitFor(spawn(bench.standIn, {"--rss"}, bench.childEnvironment(home.home), out));
  std::ifstream in(out);
  long kib = 0;
  in >> kib;
  bench.clientRss = static_cast<double>(kib);
  report.add({"floor", "RSS of an idle libmariadb client", bench.clientRss, "KiB", kNone, "", "", std::nullopt, ""});
}

// ---- the daemon -------------------------------------------------------------------------------

void waitUntil(const std::function<bool()>& condition, double seconds, const std::string& what) {
  const double deadline = monoSeconds() + seconds;
  while (!condition()) {
    if (monoSeconds() > deadline) throw std::runtime_error("timed out after " + std::to_string(seconds) + " s: " + what);
    sleepSeconds(0.005);
  }
}

bool alive(pid_t pid) {
  int raw = 0;
  return waitpid(pid, &raw, WNOHANG) == 0;
}

void waitForWorker(RawSql& sql, Daemon& daemon) {
  waitUntil(
      [&] {
        if (!alive(daemon.pid())) throw std::runtime_error("the daemon exited: " + daemon.log());
        try {
          return sql.integer("SELECT COUNT(*) FROM skynet_worker WHERE stopped IS NULL") > 0;
        } catch (const std::exception&) {
          return false;  // its tables are not there yet
        }
      },
      60, "the daemon registering as a worker");
}

struct QueueRun {
  double throughput = kNone, mariaCpuPerTask = kNone, daemonCpuPerTask = kNone, questionsPerTask = kNone;
  double commitsPerTask = kNone, rssStart = kNone, rssAfter = kNone, rssLong = kNone, rssLongTasks = 0;
  std::vector<double> gaps;
};

// `queued` tasks on `sites` sites, the daemon at `concurrency` with `drush`; measures over the
// first `measured` tasks it runs (all of them when `measured` is `queued`), then, when
// `moreTasks` > 0, calls `beforeMore` (while the daemon waits, idle), queues that many more and
// reads its RSS once they are done too.
QueueRun runDaemon(Bench& bench, const std::string& name, int concurrency, int sites, int queued, int measured,
                   int moreTasks = 0, const std::function<void()>& beforeMore = {}) {
  bench.createDatabase(name);
  RawSql sql(bench.options.socket, name);
  createSites(sql, sites);
  queueTasks(sql, kFirstNid, queued, sites, 1700000000);
  sql.run("REPLACE INTO variable (name, value) VALUES ('hosting_skynet_paused', 'b:1;')");
  const auto home = makeStandInHome(bench.folder(name), bench.options.socket, name);
  DaemonConfig config{bench.skynet, bench.options.socket, name, bench.standIn, home.home, bench.folder(name) + "/daemon",
                      concurrency, 1.0, ""};
  bench.settleServer(kSettleLimit);  // before the daemon starts: an idle daemon polls once a second
  Daemon daemon(config);
  waitForWorker(sql, daemon);
  sleepSeconds(1.5);
  QueueRun run;
  run.rssStart = static_cast<double>(rssKiB(daemon.pid()));
  auto before = sql.globalStatus();
  const double mariaBefore = cpuSeconds(bench.options.mariadb);
  const double daemonBefore = cpuSeconds(daemon.pid());
  sql.run("UPDATE variable SET value = 'b:0;' WHERE name = 'hosting_skynet_paused'");
  const double timeLimit = 120 + measured / 5.0;
  std::size_t seen = 0;
  waitUntil(
      [&] {
        if (!alive(daemon.pid())) throw std::runtime_error("the daemon exited: " + daemon.log());
        seen = countLines(home.records);
        return seen >= static_cast<std::size_t>(measured);
      },
      timeLimit, name + ": " + std::to_string(measured) + " tasks run");
  const double mariaAfter = cpuSeconds(bench.options.mariadb);
  const double daemonAfter = cpuSeconds(daemon.pid());
  auto after = sql.globalStatus();
  const double done = static_cast<double>(seen);
  run.mariaCpuPerTask = (mariaAfter - mariaBefore) / done * 1000;
  run.daemonCpuPerTask = (daemonAfter - daemonBefore) / done * 1000;
  // Less the benchmark's own two statements (the UPDATE, the SHOW) and the stand-in's.
  run.questionsPerTask = (after["Questions"] - before["Questions"] - 2) / done - bench.aloneQuestionsPerTask;
  run.commitsPerTask = (after["trx_rw_commits"] - before["trx_rw_commits"]) / done - bench.aloneCommitsPerTask;
  auto records = readRecords(home.records);
  std::sort(records.begin(), records.end(), [](const Record& a, const Record& b) { return a.exec < b.exec; });
  records.resize(std::min(records.size(), static_cast<std::size_t>(measured)));
  run.throughput = static_cast<double>(records.size()) / (records.back().end - records.front().exec);
  if (concurrency == 1) {
    for (std::size_t i = 1; i < records.size(); ++i) run.gaps.push_back((records[i].exec - records[i - 1].end) * 1000);
  }
  if (measured == queued) {
    // Its outcomes are written a moment after the last child ends.
    waitUntil([&] { return sql.integer("SELECT COUNT(*) FROM skynet_run WHERE state = 'running'") == 0; }, 60,
              "the last outcomes recorded");
    sleepSeconds(1.0);
    run.rssAfter = static_cast<double>(rssKiB(daemon.pid()));
    if (moreTasks > 0) {
      if (beforeMore) beforeMore();
      say(name + ": " + std::to_string(moreTasks) + " more tasks for the daemon's memory");
      queueTasks(sql, 10 * kFirstNid, moreTasks, sites, 1700100000);
      waitUntil(
          [&] {
            if (!alive(daemon.pid())) throw std::runtime_error("the daemon exited: " + daemon.log());
            return countLines(home.records) >= static_cast<std::size_t>(queued + moreTasks);
          },
          120 + moreTasks / 5.0, name + ": the further tasks run");
      waitUntil([&] { return sql.integer("SELECT COUNT(*) FROM skynet_run WHERE state = 'running'") == 0; }, 60,
                "the last outcomes recorded");
      sleepSeconds(1.0);
      run.rssLong = static_cast<double>(rssKiB(daemon.pid()));
      run.rssLongTasks = queued + moreTasks;
    }
  }
  daemon.stop();
  return run;
}

// The floor of a throughput ratio: the stand-in alone on the same queue, right before and right
// after the daemon's run, and their mean. This machine's speed drifts by tens of percent within
// minutes (README, Benchmarks), so the floor part's figures, taken minutes earlier, move a ratio
// by more than the daemon's own share; the two adjacent runs are printed beside it.
struct AdjacentFloor {
  double throughput = kNone, mariaCpuPerTask = kNone;  // the means, tasks/s and ms
  std::string note;
};

AdjacentFloor adjacentFloor(const AloneRun& before, const AloneRun& after) {
  AdjacentFloor floor;
  floor.throughput = (before.throughput + after.throughput) / 2;
  floor.mariaCpuPerTask = (before.mariaCpuPerTask + after.mariaCpuPerTask) / 2 * 1000;
  floor.note = "floor: the stand-in alone on the same queue just before and after, " +
               number(before.throughput, "tasks/s") + " and " + number(after.throughput, "tasks/s") + ", " +
               number(before.mariaCpuPerTask * 1000, "ms") + " and " + number(after.mariaCpuPerTask * 1000, "ms") +
               " of MariaDB CPU per task";
  return floor;
}

void measureThroughput(Bench& bench) {
  const Sizes& sizes = bench.sizes;
  Report& report = bench.report;
  say("daemon + stand-in, concurrency 1: " + std::to_string(sizes.c1Queued) + " queued on 100 sites, measured over " +
      std::to_string(sizes.c1Measured) + ", between two runs of the stand-in alone on the same queue");
  const AloneRun c1Before = runAloneLike(bench, "bench_c1_alone_before", 1, sizes.c1Queued, sizes.c1Measured);
  const QueueRun c1 = runDaemon(bench, "bench_c1", 1, kSites, sizes.c1Queued, sizes.c1Measured);
  const AloneRun c1After = runAloneLike(bench, "bench_c1_alone_after", 1, sizes.c1Queued, sizes.c1Measured);
  const AdjacentFloor c1Floor = adjacentFloor(c1Before, c1After);
  report.add({"throughput", "no-op throughput, concurrency 1", c1.throughput, "tasks/s", c1Floor.throughput,
              "stand-in alone, same queue", ">= 0.8 x floor", c1.throughput >= 0.8 * c1Floor.throughput,
              std::to_string(sizes.c1Queued) + " queued on 100 sites; over the first " +
                  std::to_string(sizes.c1Measured) + "; " + c1Floor.note});
  report.add({"throughput", "MariaDB CPU per task, concurrency 1", c1.mariaCpuPerTask, "ms", c1Floor.mariaCpuPerTask,
              "stand-in's own SQL", "<= 2 x floor", c1.mariaCpuPerTask <= 2 * c1Floor.mariaCpuPerTask,
              "floor: the stand-in alone on the same queue, before and after"});
  report.add({"throughput", "daemon CPU per task, concurrency 1", c1.daemonCpuPerTask, "ms", kNone, "", "",
              std::nullopt, ""});
  report.add({"throughput", "daemon's statements per task, concurrency 1", c1.questionsPerTask, "", 2,
              "poll + claim", "", std::nullopt,
              "SHOW GLOBAL STATUS Questions, less the stand-in's own"});
  report.add({"throughput", "daemon's write commits per task, concurrency 1", c1.commitsPerTask, "", 1, "the claim",
              "", std::nullopt, "INNODB_METRICS trx_rw_commits, less the stand-in's own"});
  const double gapP50 = percentile(c1.gaps, 0.5);

  say("daemon + stand-in, concurrency 8: " + std::to_string(sizes.c8Tasks) +
      " tasks on 100 sites, between two runs of the stand-in alone on the same queue");
  const int more = sizes.rssTasks > sizes.c8Tasks ? sizes.rssTasks - sizes.c8Tasks : 0;
  const AloneRun c8Before = runAloneLike(bench, "bench_c8_alone_before", 8, sizes.c8Tasks, sizes.c8Tasks);
  // The stand-in's run after comes straight after the measured tasks, before the memory figure's
  // further tasks (the daemon waits meanwhile, idle, polling its own database once a second).
  AloneRun c8After;
  const auto aloneAfter = [&] {
    c8After = runAloneLike(bench, "bench_c8_alone_after", 8, sizes.c8Tasks, sizes.c8Tasks);
  };
  const QueueRun c8 = runDaemon(bench, "bench_c8", 8, kSites, sizes.c8Tasks, sizes.c8Tasks, more, aloneAfter);
  if (more == 0) aloneAfter();
  const AdjacentFloor c8Floor = adjacentFloor(c8Before, c8After);
  report.add({"throughput", "no-op throughput, concurrency 8", c8.throughput, "tasks/s", c8Floor.throughput,
              "stand-in alone, same queue", ">= 0.8 x floor", c8.throughput >= 0.8 * c8Floor.throughput,
              std::to_string(sizes.c8Tasks) + " queued on 100 sites; " + c8Floor.note});
  report.add({"throughput", "MariaDB CPU per task, concurrency 8", c8.mariaCpuPerTask, "ms", c8Floor.mariaCpuPerTask,
              "stand-in's own SQL", "", std::nullopt, "floor: the stand-in alone on the same queue, before and after"});

  report.add({"memory", "daemon RSS after start", c8.rssStart, "KiB", bench.clientRss, "idle libmariadb client", "",
              std::nullopt, ""});
  report.add({"memory", "daemon RSS after " + std::to_string(sizes.c8Tasks) + " tasks", c8.rssAfter, "KiB",
              bench.clientRss, "idle libmariadb client", "", std::nullopt, ""});
  if (!std::isnan(c8.rssLong)) {
    const double growth = (c8.rssLong - c8.rssAfter) / ((c8.rssLongTasks - sizes.c8Tasks) / 1000.0);
    report.add({"memory", "daemon RSS after " + std::to_string(static_cast<int>(c8.rssLongTasks)) + " tasks",
                c8.rssLong, "KiB", bench.clientRss, "idle libmariadb client",
                c8.rssLongTasks >= 100000 ? "<= 16 MB (16384 KiB)" : "<= 16 MB at 100,000",
                c8.rssLong <= 16384, ""});
    report.add({"memory", "RSS growth per 1,000 tasks after the first 10,000", growth, "KiB", kNone, "", "<= 4 KiB",
                growth <= 4, ""});
  } else {
    const double growth = (c8.rssAfter - c8.rssStart) / (sizes.c8Tasks / 1000.0);
    report.add({"memory", "RSS growth per 1,000 tasks, start to end", growth, "KiB", kNone, "", "<= 4 KiB",
                std::nullopt, "includes the first tasks' one-time growth (buffers, prepared statements)"});
  }

  report.add({"gap", "gap between tasks, 100 sites, concurrency 1, p50", gapP50, "ms",
              bench.aloneGapP50 + bench.commitP50, "stand-in exit -> next main() + 1 commit", "", std::nullopt, ""});
}

void measureGap(Bench& bench) {
  const Sizes& sizes = bench.sizes;
  Report& report = bench.report;
  say("daemon + stand-in, one site, concurrency 1: " + std::to_string(sizes.gapTasks) + " tasks");
  const QueueRun gap = runDaemon(bench, "bench_gap", 1, 1, sizes.gapTasks, sizes.gapTasks);
  const double floor = bench.aloneGapP50 + bench.commitP50;
  const double gapOneSite = percentile(gap.gaps, 0.5);
  report.add({"gap", "gap between tasks of one site, p50", gapOneSite, "ms", floor,
              "stand-in exit -> next main() + 1 commit", "<= floor + 1 ms", gapOneSite <= floor + 1, ""});
  report.add({"gap", "gap between tasks of one site, p95", percentile(gap.gaps, 0.95), "ms", floor, "", "",
              std::nullopt, ""});
}

// A free TCP port on loopback (for api.listen).
int freePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

// POST /api/wake; the HTTP status, or 0 when nothing answers.
int postWake(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    close(fd);
    return 0;
  }
  const std::string request = "POST /api/wake HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
  (void)!write(fd, request.data(), request.size());
  char answer[64] = {};
  const ssize_t got = read(fd, answer, sizeof answer - 1);
  close(fd);
  if (got < 12) return 0;
  return std::atoi(answer + 9);
}

void measurePickup(Bench& bench) {
  const Sizes& sizes = bench.sizes;
  Report& report = bench.report;
  const std::string name = "bench_pickup";
  bench.createDatabase(name);
  RawSql sql(bench.options.socket, name);
  createSites(sql, kPollBatch);
  const auto home = makeStandInHome(bench.folder(name), bench.options.socket, name);
  const int port = freePort();
  DaemonConfig config{bench.skynet, bench.options.socket, name, bench.standIn, home.home, bench.folder(name) + "/daemon",
                      kPollBatch, 1.0, "127.0.0.1:" + std::to_string(port)};
  Daemon daemon(config);
  waitForWorker(sql, daemon);
  sleepSeconds(1.5);

  std::map<std::int64_t, double> committed;
  auto settle = [&](std::size_t expected) {
    waitUntil(
        [&] {
          if (!alive(daemon.pid())) throw std::runtime_error("the daemon exited: " + daemon.log());
          return countLines(home.records) >= expected;
        },
        30, "pickup: tasks run");
    waitUntil([&] { return sql.integer("SELECT COUNT(*) FROM skynet_run WHERE state = 'running'") == 0; }, 30,
              "pickup: outcomes recorded");
  };
  std::vector<double> waited;  // commit -> claim
  auto latencies = [&](const std::vector<std::int64_t>& nids, std::vector<double>& pickup, std::vector<double>& afterClaim) {
    waited.clear();
    std::map<std::int64_t, double> exec;
    for (const auto& record : readRecords(home.records)) exec[record.nid] = record.exec;
    std::map<std::int64_t, double> claimed;
    for (const auto& row : sql.run("SELECT task_nid, created FROM skynet_run WHERE kind = 'task'")) {
      claimed[std::stoll(row[0])] = std::stod(row[1]);
    }
    for (auto nid : nids) {
      pickup.push_back((exec[nid] - committed[nid]) * 1000);
      afterClaim.push_back((exec[nid] - claimed[nid]) * 1000);
      waited.push_back((claimed[nid] - committed[nid]) * 1000);
    }
  };

  // With a wake-up after each commit, one task at a time.
  const int wakeStatus = postWake(port);
  const double wakeFloor = bench.commitP50 + bench.spawnExecP50;
  if (wakeStatus >= 200 && wakeStatus < 300) {
    say("pickup with a wake-up: " + std::to_string(sizes.wakeSamples) + " tasks, one at a time");
    std::vector<std::int64_t> nids;
    settle(0);
    for (int i = 0; i < sizes.wakeSamples; ++i) {
      double at = 0;
      const auto nid = queueOneTask(sql, 1000 + i % kPollBatch, at);
      postWake(port);
      committed[nid] = at;
      nids.push_back(nid);
      settle(nids.size());
    }
    std::vector<double> pickup, afterClaim;
    latencies(nids, pickup, afterClaim);
    report.add({"pickup", "pickup with a wake-up, p50", percentile(pickup, 0.5), "ms", wakeFloor,
                "commit + stand-in spawn", "<= floor + 2 ms", percentile(pickup, 0.5) <= wakeFloor + 2, ""});
    report.add({"pickup", "pickup with a wake-up, p95", percentile(pickup, 0.95), "ms", wakeFloor, "", "",
                std::nullopt, ""});
    report.add({"pickup", "pickup with a wake-up, p99", percentile(pickup, 0.99), "ms", wakeFloor, "",
                "<= floor + 10 ms", percentile(pickup, 0.99) <= wakeFloor + 10, ""});
    report.add({"pickup", "of it: commit -> claim (wake-up), p50", percentile(waited, 0.5), "ms", bench.commitP50,
                "commit", "", std::nullopt, "the HTTP wake-up, the poll, the claim's statements"});
    report.add({"pickup", "of it: claim -> exec (wake-up), p50", percentile(afterClaim, 0.5), "ms",
                bench.spawnExecP50, "stand-in spawn", "", std::nullopt, "the claim's commit, the spawn"});
  } else {
    report.add({"pickup", "pickup with a wake-up, p50/p99", kNone, "ms", wakeFloor, "commit + stand-in spawn",
                "<= floor + 2 / + 10 ms", std::nullopt,
                "not measured: this daemon serves no POST /api/wake on api.listen (the HTTP API is not in this build)"});
  }

  // Polling only, at the default interval, `perPoll` tasks (on as many sites, concurrency 8)
  // committed through one interval (one in each 1/perPoll of it) from the moment the daemon went
  // quiet, so its scheduled poll takes them all and no child's exit wakes it in between. A commit
  // that lands after that poll (the last few ms) is taken by the next turn.
  //
  // The moments are spread evenly, not drawn at random: over all cycles the commits fall on
  // perPoll x cycles evenly spaced points of the interval (each cycle takes one offset inside the
  // parts, in shuffled order). A task's wait for the poll is then spread evenly over the interval
  // and its median is half of it plus what the daemon adds, read to within half the spacing of
  // the points: 0.5 ms for the 1,000 tasks at 8 per poll, 2.5 ms for the 200 at 1 per poll (a
  // second of run time each). With random moments, the median moved with the phase of the
  // daemon's timer.
  const double half = 500;
  auto pollingOnly = [&](int perPoll, int cycles, const std::string& label, double claimFloor,
                         const std::string& claimFloorNote) {
    say("pickup polling only (1.0 s), " + label + ": " + std::to_string(cycles * perPoll) + " tasks");
    std::vector<int> slots(static_cast<std::size_t>(cycles));
    std::iota(slots.begin(), slots.end(), 0);
    std::shuffle(slots.begin(), slots.end(), std::mt19937(10));
    std::vector<std::int64_t> nids;
    settle(countLines(home.records));
    std::size_t expected = countLines(home.records);
    for (int cycle = 0; cycle < cycles; ++cycle) {
      sleepSeconds(0.01);  // its last turn (outcomes, then a poll) is over; its timer starts
      const double start = monoSeconds();
      const double inPart = (slots[static_cast<std::size_t>(cycle)] + 0.5) / cycles;
      for (int i = 0; i < perPoll; ++i) {
        sleepSeconds(start + (i + inPart) / perPoll - monoSeconds());
        double at = 0;
        const auto nid = queueOneTask(sql, 1000 + i, at);
        committed[nid] = at;
        nids.push_back(nid);
      }
      expected += static_cast<std::size_t>(perPoll);
      settle(expected);
    }
    std::vector<double> pickup, afterClaim;
    latencies(nids, pickup, afterClaim);
    const std::string figure = "pickup polling only (1.0 s), " + label;
    report.add({"pickup", figure + ", p50", percentile(pickup, 0.5), "ms", half, "half the interval", "<= floor + 5 ms",
                percentile(pickup, 0.5) <= half + 5, ""});
    report.add({"pickup", figure + ", p95", percentile(pickup, 0.95), "ms", kNone, "", "", std::nullopt, ""});
    report.add({"pickup", figure + ", p99", percentile(pickup, 0.99), "ms", kNone, "", "", std::nullopt, ""});
    const std::string part = "of it (" + label + "): ";
    report.add({"pickup", part + "commit -> claim, p50", percentile(waited, 0.5), "ms", kNone, "", "", std::nullopt,
                ""});
    report.add({"pickup", part + "claim -> exec, p50", percentile(afterClaim, 0.5), "ms", claimFloor, claimFloorNote, "",
                std::nullopt,
                "claim time from skynet_run.created; " + std::to_string(perPoll) + " claim(s) per poll"});
    report.add({"pickup", part + "claim -> exec, p99", percentile(afterClaim, 0.99), "ms", claimFloor, "", "",
                std::nullopt, ""});
  };
  // Eight per poll, as under load: eight children start together on this machine's cores.
  pollingOnly(kPollBatch, (sizes.pollSamples + kPollBatch - 1) / kPollBatch, "8 tasks per poll", bench.batchExecP50,
              "8 stand-ins started at once");
  // One per poll, as tasks come on a quiet server: a second of the run's time per sample.
  pollingOnly(1, sizes.pollSingles, "1 task per poll", bench.spawnExecP50, "stand-in spawn");

  // Idle: MariaDB alone first, once the background work the tasks before left it (purge, page
  // flushing: minutes after the 100,000 tasks of the memory figure) has settled, then with a
  // freshly started daemon that has nothing to do, on this database with its history: right after
  // its start, while its first walk of the history reads every chunk, and once that walk is done,
  // when it passes the chunks it found nothing in by their digest (daemon/queue_mirror.h).
  say("idle: " + std::to_string(static_cast<int>(sizes.idleSeconds)) +
      " s of MariaDB alone, then with an idle daemon after its start and after its first walk of the history");
  daemon.stop();
  const double scale = 60.0 / sizes.idleSeconds;
  bench.settleServer(120);
  double mariaAlone = cpuSeconds(bench.options.mariadb);
  sleepSeconds(sizes.idleSeconds);
  mariaAlone = (cpuSeconds(bench.options.mariadb) - mariaAlone) * scale;
  DaemonConfig idleConfig = config;
  idleConfig.logLevel = "debug";  // its audit's lines tell when the first walk reached vid 1
  Daemon idle(idleConfig);
  waitForWorker(sql, idle);
  sleepSeconds(3.0);  // its start: migrations checked, recovery, the first poll
  struct Cpu {
    double daemon, maria;
  };
  const auto idleMinute = [&] {
    Cpu cpu{cpuSeconds(idle.pid()), cpuSeconds(bench.options.mariadb)};
    sleepSeconds(sizes.idleSeconds);
    return Cpu{(cpuSeconds(idle.pid()) - cpu.daemon) * scale, (cpuSeconds(bench.options.mariadb) - cpu.maria) * scale};
  };
  const Cpu first = idleMinute();
  const double walkStart = monoSeconds();
  waitUntil(
      [&] {
        if (!alive(idle.pid())) throw std::runtime_error("the daemon exited: " + idle.log());
        return idle.log().find("audit: vids [1, ") != std::string::npos;
      },
      3600, "the idle daemon's first walk of the history");
  const double walkWaited = monoSeconds() - walkStart;
  const Cpu walked = idleMinute();
  idle.stop();
  const std::string scaled =
      sizes.idleSeconds == 60 ? "" : "measured over " + std::to_string(static_cast<int>(sizes.idleSeconds)) + " s, scaled to 60 s";
  const std::string afterWalk = Poco::format("after its first walk of the history (%.0f s more)", walkWaited);
  report.add({"idle", "daemon CPU, idle 60 s (poll 1.0 s), " + afterWalk, walked.daemon, "CPU-s", kNone, "",
              "<= 0.02 CPU-s", walked.daemon <= 0.02, scaled});
  report.add({"idle", "MariaDB CPU, 60 s with the idle daemon, " + afterWalk, walked.maria, "CPU-s", mariaAlone,
              "MariaDB with no client", "< 0.064 CPU-s", walked.maria < 0.064, scaled});
  report.add({"idle", "  the same in the first 60 s after its start (its first walk reads every chunk)", first.maria, "CPU-s",
              mariaAlone, "", "", std::nullopt, Poco::format("the daemon %.3f CPU-s", first.daemon)});
}

// ---- statements on a big database -------------------------------------------------------------

struct StatementTimes {
  std::map<std::string, double> p50;  // ms
  double pollTotal = 0;
  std::size_t mirrored = 0;  // queued tasks the mirror holds after the first read
  std::map<std::string, double> serverCpu;  // MariaDB CPU per execution, ms
  int passedByDigest = 0;                    // audit chunks the digest found unchanged
};

// `historyTop`: the audit's chunks are timed through the vids below it, one chunk per repeat.
StatementTimes timeStatements(Bench& bench, const std::string& name, int repeats, std::int64_t historyTop) {
  db::ConnectionParams params;
  params.socket = bench.options.socket;
  params.database = name;
  params.user = "aegir";
  params.password = "aegir-test-password";
  db::Connection connection(params);
  aegir::TaskQueue tasks(connection);
  tasks.ensureIndexes();
  runs::migrate(connection);
  runs::RunStore store(connection);
  StatementTimes times;
  auto time = [&](const std::string& what, const std::function<void()>& body) {
    std::vector<double> samples;
    const double serverBefore = cpuSeconds(bench.options.mariadb);
    for (int i = 0; i < repeats; ++i) {
      const double start = monoSeconds();
      body();
      samples.push_back((monoSeconds() - start) * 1000);
    }
    times.p50[what] = percentile(samples, 0.5);
    times.serverCpu[what] = (cpuSeconds(bench.options.mariadb) - serverBefore) / repeats * 1000;
  };
  const auto now = static_cast<std::int64_t>(wallSeconds());
  // The poll as the daemon makes it (daemon/dispatcher.cc, Dispatcher::poll): the probe (the busy
  // sites among what it reads), the new revisions above the mirror's window, one audit chunk and
  // other daemons' locks.
  // The first poll reads the whole queue from vid 0 (once per start); the later ones are the
  // steady state this measures.
  daemon::QueueMirror mirror;
  {
    const double start = monoSeconds();
    const auto probe = daemon::readPollProbe(connection, now);
    const auto read = mirror.nextRead(monoSeconds(), probe.maxVid);
    mirror.applyRead(read, tasks.queuedAbove(read.from, read.limit));
    times.p50["first read (vid 0)"] = (monoSeconds() - start) * 1000;
  }
  daemon::PollProbe probe;
  daemon::QueueMirror::Read read;
  int audits = 0;
  // The chunk the audit reads at its `index`-th poll, walking down from historyTop. (The mirror's
  // own walk would start below the queued tasks it holds, where this database has no history.)
  const auto chunkAt = [&](int index) {
    const std::int64_t top = std::max<std::int64_t>(2, historyTop - daemon::QueueMirror::kAuditChunk * index);
    return std::make_pair(std::max<std::int64_t>(1, top - daemon::QueueMirror::kAuditChunk), top);
  };
  time("probe", [&] { probe = daemon::readPollProbe(connection, now); });
  time("new revisions", [&] {
    read = mirror.nextRead(monoSeconds(), probe.maxVid);
    if (read.limit > 0) mirror.applyRead(read, tasks.queuedAbove(read.from, read.limit));
  });
  time("audit chunk", [&] {
    // As often as a poll makes one (every kAuditEverySeconds), here every time.
    const auto range = chunkAt(audits++);
    aegir::VidDigest atZero;
    const auto found = tasks.queuedInHistory(range.first, range.second, &atZero);
    mirror.applyAudit(monoSeconds(), range, found, atZero);
  });
  // The same chunks again, as the next walk finds them unchanged: their digest. (A chunk that
  // held queued tasks is read again by the walk; for it this times the digest alone.)
  audits = 0;
  time("audit chunk, unchanged", [&] {
    const auto range = chunkAt(audits++);
    const auto quiet = mirror.quietDigest(range);
    if (tasks.atZeroDigest(range.first, range.second) == quiet) {
      mirror.auditUnchanged(monoSeconds(), range);
      ++times.passedByDigest;
    }
  });
  // For comparison, the same chunks read as one join, as the audit did before queuedInHistory.
  audits = 0;
  time("audit chunk as one join", [&] {
    const auto range = chunkAt(audits++);
    tasks.queuedBetween(range.first, range.second);
  });
  time("held locks", [&] { store.heldLocks(); });
  for (const char* part : {"probe", "new revisions", "audit chunk", "held locks"}) times.pollTotal += times.p50[part];
  times.mirrored = mirror.size();
  // The claim as the daemon makes it: the START with the lock table's locks (one round trip, as
  // the batch reads them), the conditional update with the run's insert (one), the lock
  // (deferred: it goes with the COMMIT, one); one task of each site, as
  // the daemon's policy is shown them.
  const auto oneEachSite = mirror.view(0);
  std::vector<double> samples;
  for (std::size_t i = 0; i < oneEachSite.size() && static_cast<int>(i) < repeats; ++i) {
    const auto& task = oneEachSite[i];
    const double start = monoSeconds();
    db::Transaction transaction(connection);
    daemon::readBatchStart(connection, true, {});
    const auto written = connection.executeAll(
        {aegir::TaskQueue::claimSql(task, now),
         runs::RunStore::startTaskRunSql({task.nid, task.vid, task.rid, task.type, "drush", 1, "bench", 1,
                                          wallSeconds(), static_cast<double>(task.changed), 0})});
    if (written.at(0).affected != 1) throw std::runtime_error("bench: a claim failed on " + name);
    store.takeLock({task.rid, false, static_cast<std::int64_t>(written.at(1).insertId), 1}, wallSeconds());
    transaction.commit();
    samples.push_back((monoSeconds() - start) * 1000);
  }
  times.p50["claim"] = percentile(samples, 0.5);
  return times;
}

void measureStatements(Bench& bench) {
  const Sizes& sizes = bench.sizes;
  Report& report = bench.report;
  say("statements: 1,000 queued, no history");
  bench.createDatabase("bench_small");
  {
    RawSql sql(bench.options.socket, "bench_small");
    createSites(sql, kSites);
    queueTasks(sql, kFirstNid, 1000, kSites, 1700000000);
  }
  const StatementTimes small = timeStatements(bench, "bench_small", sizes.statementRepeats, kFirstNid);
  const int rows = 2 * sizes.historyFinished;
  say("statements: " + std::to_string(rows) + " historical task rows (" + std::to_string(sizes.historyLeftProcessing) +
      " claimed revisions left at -1), " + std::to_string(sizes.historyQueued) + " queued");
  bench.createDatabase("bench_history");
  const std::int64_t queuedFrom = 2000000;
  std::int64_t historyTop = 0;
  {
    RawSql sql(bench.options.socket, "bench_history");
    createSites(sql, kSites);
    historyTop = createHistory(sql, sizes.historyFinished, kSites, sizes.historyLeftProcessing);
    queueTasks(sql, queuedFrom, sizes.historyQueued, kSites, 1700000000);
  }
  const StatementTimes big = timeStatements(bench, "bench_history", sizes.statementRepeats, historyTop);
  const std::string bigLabel = std::to_string(rows / 1000) + "k rows, " + std::to_string(sizes.historyQueued / 1000) + "k queued";
  report.add({"statements", "poll (4 statements), " + bigLabel, big.pollTotal, "ms", small.pollTotal,
              "same, 1k queued, no history", "<= 2 ms, flat", big.pollTotal <= 2,
              "steady state; the mirror holds " + std::to_string(big.mirrored) + " of the queued tasks"});
  for (const char* part :
       {"probe", "new revisions", "audit chunk", "audit chunk, unchanged", "audit chunk as one join", "held locks"}) {
    std::string note = Poco::format("MariaDB CPU %.3f ms per execution (%.3f ms without history)",
                                    big.serverCpu.at(part), small.serverCpu.at(part));
    if (std::string(part) == "audit chunk, unchanged") {
      note += Poco::format("; passed by the digest: %d of %d chunks (%d without history)", big.passedByDigest,
                           sizes.statementRepeats, small.passedByDigest);
    }
    report.add({"statements", std::string("  of it: ") + part, big.p50.at(part), "ms", small.p50.at(part), "", "",
                std::nullopt, note});
  }
  report.add({"statements", "claim transaction (6 statements in 3 round trips), " + bigLabel, big.p50.at("claim"), "ms",
              small.p50.at("claim"), "same, 1k queued, no history", "<= 2 ms, flat", big.p50.at("claim") <= 2, ""});
  report.add({"statements", "first read of the queue (vid 0, once per start), " + bigLabel,
              big.p50.at("first read (vid 0)"), "ms", small.p50.at("first read (vid 0)"), "", "", std::nullopt, ""});
}

// ---- the Aegir simulator ----------------------------------------------------------------------

void measureSimulator(Bench& bench) {
  const Sizes& sizes = bench.sizes;
  Report& report = bench.report;
  for (int concurrency : {1, 8}) {
    const int tasks = concurrency == 1 ? sizes.simC1 : sizes.simC8;
    const std::string suffix = std::to_string(concurrency);
    say("the Aegir simulator, concurrency " + suffix + ": " + std::to_string(tasks) + " tasks, alone and by the daemon");
    double alone = 0, daemonRate = 0;
    for (const bool withDaemon : {false, true}) {
      const std::string name = std::string(withDaemon ? "bench_sim" : "bench_simalone") + suffix;
      bench.createDatabase(name);
      RawSql sql(bench.options.socket, name);
      createSites(sql, kSites);
      const auto nids = queueTasks(sql, kFirstNid, tasks, kSites, 1700000000);
      const std::string home = bench.folder(name);
      mkdir(home.c_str(), 0755);
      if (waitFor(spawn(bench.writeHome, {home, bench.options.socket, name, "aegir", "aegir-test-password"},
                        {{"PATH", "/usr/bin:/bin"}})) != 0) {
        throw std::runtime_error("write-home failed for " + home);
      }
      if (!withDaemon) {
        alone = runAlone(bench, name, bench.simulator, home, nids, concurrency, "").throughput;
        continue;
      }
      sql.run("REPLACE INTO variable (name, value) VALUES ('hosting_skynet_paused', 'b:1;')");
      DaemonConfig config{bench.skynet, bench.options.socket, name, bench.simulator, home, home + "/daemon",
                          concurrency, 1.0, ""};
      Daemon daemon(config);
      waitForWorker(sql, daemon);
      const double start = wallSeconds();
      sql.run("UPDATE variable SET value = 'b:0;' WHERE name = 'hosting_skynet_paused'");
      waitUntil(
          [&] {
            if (!alive(daemon.pid())) throw std::runtime_error("the daemon exited: " + daemon.log());
            sleepSeconds(0.02);
            return sql.integer("SELECT COUNT(*) FROM hosting_task t JOIN node n ON n.vid = t.vid "
                               "WHERE n.type = 'task' AND t.task_status = 1") >= tasks;
          },
          600, name + ": every task done");
      (void)start;
      // From the first spawn to the last reap: the wait for the first poll after the unpause is
      // not the daemon's throughput (the alone run has none either).
      const double first = static_cast<double>(sql.integer("SELECT FLOOR(MIN(started) * 1000) FROM skynet_run")) / 1000;
      const double last = static_cast<double>(sql.integer("SELECT CEIL(MAX(stopped) * 1000) FROM skynet_run")) / 1000;
      daemonRate = tasks / std::max(last - first, 1e-3);
      daemon.stop();
    }
    report.add({"simulator", "simulator throughput, concurrency " + suffix, daemonRate, "tasks/s", alone,
                "simulator alone", ">= 0.8 x floor", daemonRate >= 0.8 * alone, ""});
  }
}

// ---- the HTTP API -----------------------------------------------------------------------------

void measureApi(Bench& bench) {
  Report& report = bench.report;
  if (access(bench.apiBench.c_str(), X_OK) != 0) {
    report.add({"api", "API start/stop, 8 clients", kNone, "req/s", kNone, "", ">= 5000 req/s, p99 <= 5 ms",
                std::nullopt, "not measured: " + bench.apiBench + " is not built (the HTTP API is not in this build)"});
    return;
  }
  say("the HTTP API: start/stop of " + std::to_string(bench.sizes.apiRuns) + " runs by 8 clients");
  bench.createDatabase("bench_api");
  const std::string out = bench.folder("api.txt");
  waitFor(spawn(bench.apiBench,
                {bench.options.socket, "bench_api", "aegir", "aegir-test-password", std::to_string(bench.sizes.apiRuns), "8"},
                {{"PATH", "/usr/bin:/bin"}}, out));
  std::ifstream in(out);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  double rate = kNone, p99 = kNone;
  if (const auto at = text.find(" requests/s"); at != std::string::npos) {
    rate = std::stod(text.substr(text.rfind(' ', at - 1) + 1));
  }
  if (const auto at = text.find("p99 "); at != std::string::npos) p99 = std::stod(text.substr(at + 4));
  double serverCpu = kNone;
  constexpr const char* kServerCpu = "MariaDB CPU per request ";
  if (const auto at = text.find(kServerCpu); at != std::string::npos) {
    serverCpu = std::stod(text.substr(at + std::strlen(kServerCpu))) / 1000;
  }
  report.add({"api", "API start/stop, 8 clients", rate, "req/s", kNone, "", ">= 5000 req/s", rate >= 5000, ""});
  report.add({"api", "API start/stop, 8 clients, p99", p99, "ms", kNone, "", "<= 5 ms", p99 <= 5, ""});
  report.add({"api", "MariaDB CPU per API request", serverCpu, "ms", kNone, "", "", std::nullopt,
              "steadier than the rate from run to run"});
}

Options parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--socket") options.socket = value();
    else if (arg == "--mariadb-pid") options.mariadb = static_cast<pid_t>(std::stoi(value()));
    else if (arg == "--work") options.work = value();
    else if (arg == "--tree") options.tree = value();
    else if (arg == "--build") options.build = value();
    else if (arg == "--out") options.out = value();
    else if (arg == "--quick") options.quick = true;
    else if (arg == "--rss-tasks") options.rssTasks = std::stoi(value());
    else if (arg == "--only") {
      std::istringstream parts(value());
      std::string part;
      while (std::getline(parts, part, ',')) options.only.insert(part);
    }
    else throw std::invalid_argument("unknown option " + arg);
  }
  if (options.socket.empty() || options.mariadb <= 0 || options.work.empty() || options.tree.empty() ||
      options.build.empty() || options.out.empty()) {
    throw std::invalid_argument("usage: skynet_bench --socket S --mariadb-pid P --work DIR --tree SRC --build BUILD "
                                "--out FILE [--quick] [--rss-tasks N]");
  }
  return options;
}

}  // namespace
}  // namespace skynet::bench

int main(int argc, char** argv) {
  using namespace skynet::bench;
  try {
    Bench bench;
    bench.options = parse(argc, argv);
    bench.sizes = sizesFor(bench.options);
    bench.standIn = bench.options.build + "/bench/noop_drush";
    bench.apiBench = bench.options.build + "/bench/api_bench";
    bench.skynet = bench.options.build + "/native/skynet";
    bench.simulator = bench.options.tree + "/tests/aegir-sim/drush";
    bench.writeHome = bench.options.tree + "/tests/aegir-sim/write-home";
    signal(SIGPIPE, SIG_IGN);
    // The count of write transactions (globalStatus()), off by default.
    RawSql(bench.options.socket, "").run("SET GLOBAL innodb_monitor_enable = 'trx_rw_commits'");
    const double began = monoSeconds();
    if (bench.options.runs("floor")) measureFloor(bench);
    if (bench.options.runs("throughput")) measureThroughput(bench);
    if (bench.options.runs("gap")) measureGap(bench);
    if (bench.options.runs("pickup")) measurePickup(bench);
    if (bench.options.runs("statements")) measureStatements(bench);
    if (bench.options.runs("simulator")) measureSimulator(bench);
    if (bench.options.runs("api")) measureApi(bench);
    const double seconds = monoSeconds() - began;
    std::cout << "\nskynet benchmark (" << (bench.options.quick ? "--quick" : "full") << ", "
              << static_cast<int>(seconds) << " s); floors measured in this run\n\n";
    bench.report.print(std::cout);
    bench.report.writeJson(bench.options.out, bench.options, seconds);
    std::cout << "\nwritten to " << bench.options.out << "\n";
    return 0;
  } catch (const std::exception& error) {
    std::cerr << "skynet_bench: " << error.what() << "\n";
    return 1;
  }
}
