#include "bench_support.h"

#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace skynet::bench {

namespace {
double clockSeconds(clockid_t clock) {
  timespec now{};
  clock_gettime(clock, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

const char* const kPassword = "aegir-test-password";
}  // namespace

double wallSeconds() { return clockSeconds(CLOCK_REALTIME); }
double monoSeconds() { return clockSeconds(CLOCK_MONOTONIC); }

void sleepSeconds(double seconds) {
  if (seconds <= 0) return;
  timespec span{static_cast<time_t>(seconds), static_cast<long>(std::fmod(seconds, 1.0) * 1e9)};
  while (nanosleep(&span, &span) != 0 && errno == EINTR) {
  }
}

double cpuSeconds(pid_t pid) {
  // The process's CPU clock, in nanoseconds (all its threads, also those that ended); /proc's
  // utime and stime count in clock ticks (10 ms), too coarse for an idle daemon.
  clockid_t clock = 0;
  timespec spent{};
  if (clock_getcpuclockid(pid, &clock) == 0 && clock_gettime(clock, &spent) == 0) {
    return static_cast<double>(spent.tv_sec) + static_cast<double>(spent.tv_nsec) / 1e9;
  }
  const std::string stat = readFile("/proc/" + std::to_string(pid) + "/stat");
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  // Fields after the command: 3 state ... 14 utime, 15 stime (1-based in proc(5)).
  double utime = 0, stime = 0;
  for (int index = 3; index <= 15 && fields >> field; ++index) {
    if (index == 14) utime = std::stod(field);
    if (index == 15) stime = std::stod(field);
  }
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

long rssKiB(pid_t pid) {
  std::istringstream status(readFile("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return 0;
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(values.size())));
  return values[std::min(values.size() - 1, rank == 0 ? 0 : rank - 1)];
}

pid_t spawn(const std::string& executable, const std::vector<std::string>& arguments,
            const std::map<std::string, std::string>& environment, const std::string& output) {
  std::vector<std::string> argvStrings{executable};
  argvStrings.insert(argvStrings.end(), arguments.begin(), arguments.end());
  std::vector<char*> argv;
  for (auto& item : argvStrings) argv.push_back(item.data());
  argv.push_back(nullptr);
  std::vector<std::string> envStrings;
  for (const auto& [name, value] : environment) envStrings.push_back(name + "=" + value);
  std::vector<char*> envp;
  for (auto& item : envStrings) envp.push_back(item.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  const std::string target = output.empty() ? "/dev/null" : output;
  posix_spawn_file_actions_addopen(&actions, 1, target.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = -1;
  const int error = posix_spawn(&pid, executable.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) throw std::runtime_error("cannot start " + executable + ": " + std::strerror(error));
  return pid;
}

int waitFor(pid_t pid) {
  int raw = 0;
  while (waitpid(pid, &raw, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
}

RawSql::RawSql(const std::string& socket, const std::string& database) : db_(mysql_init(nullptr)) {
  if (!mysql_real_connect(db_, nullptr, "aegir", kPassword, database.c_str(), 0, socket.c_str(),
                          CLIENT_MULTI_STATEMENTS)) {
    const std::string error = mysql_error(db_);
    mysql_close(db_);
    throw std::runtime_error("cannot connect to " + database + ": " + error);
  }
}

RawSql::~RawSql() { mysql_close(db_); }

std::vector<std::vector<std::string>> RawSql::run(const std::string& sql) {
  if (mysql_query(db_, sql.c_str()) != 0) {
    throw std::runtime_error(std::string("SQL failed: ") + mysql_error(db_) + " in: " + sql.substr(0, 160));
  }
  std::vector<std::vector<std::string>> rows;
  for (;;) {
    if (MYSQL_RES* result = mysql_store_result(db_)) {
      rows.clear();
      const unsigned fields = mysql_num_fields(result);
      while (MYSQL_ROW row = mysql_fetch_row(result)) {
        std::vector<std::string> values;
        for (unsigned i = 0; i < fields; ++i) values.emplace_back(row[i] ? row[i] : "");
        rows.push_back(std::move(values));
      }
      mysql_free_result(result);
    }
    const int next = mysql_next_result(db_);
    if (next > 0) throw std::runtime_error(std::string("SQL failed: ") + mysql_error(db_) + " in: " + sql.substr(0, 160));
    if (next < 0) break;
  }
  return rows;
}

std::int64_t RawSql::integer(const std::string& sql) {
  const auto rows = run(sql);
  return rows.empty() || rows[0].empty() ? 0 : std::stoll(rows[0][0]);
}

std::map<std::string, double> RawSql::globalStatus() {
  std::map<std::string, double> status;
  for (const auto& row : run("SHOW GLOBAL STATUS")) {
    char* end = nullptr;
    const double value = std::strtod(row[1].c_str(), &end);
    if (end && *end == '\0' && !row[1].empty()) status[row[0]] = value;
  }
  // Write transactions committed: InnoDB's counter, switched on by the benchmark at its start.
  status["trx_rw_commits"] = static_cast<double>(
      integer("SELECT COUNT FROM information_schema.INNODB_METRICS WHERE NAME = 'trx_rw_commits'"));
  return status;
}

std::vector<Record> readRecords(const std::string& file) {
  std::vector<Record> records;
  std::ifstream in(file);
  long long nid = 0, exec = 0, loaded = 0, end = 0;
  while (in >> nid >> exec >> loaded >> end) {
    records.push_back({nid, static_cast<double>(exec) / 1e9, static_cast<double>(loaded) / 1e9,
                       static_cast<double>(end) / 1e9});
  }
  return records;
}

std::size_t countLines(const std::string& file) {
  struct stat info {};
  if (stat(file.c_str(), &info) != 0) return 0;
  const std::string text = readFile(file);
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

StandInHome makeStandInHome(const std::string& home, const std::string& socket, const std::string& database) {
  mkdir(home.c_str(), 0755);
  mkdir((home + "/.skynet-bench").c_str(), 0755);
  StandInHome made{home, home + "/records"};
  std::ofstream conf(home + "/.skynet-bench/drush.conf");
  conf << "socket=" << socket << "\ndatabase=" << database << "\nuser=aegir\npassword=" << kPassword
       << "\nrecord=" << made.records << "\n";
  unlink(made.records.c_str());
  return made;
}

Daemon::Daemon(const DaemonConfig& config) : config_(config) {
  mkdir(config.folder.c_str(), 0755);
  mkdir((config.folder + "/logs").c_str(), 0755);
  mkdir((config.folder + "/exchange").c_str(), 0755);
  const std::string file = config.folder + "/skynet.conf";
  {
    std::ofstream conf(file);
    conf << "[database]\ndb = " << config.database << "\nuser = aegir\npasswd = " << kPassword
         << "\nsocket = " << config.socket << "\n[queue]\nconcurrency = " << config.concurrency
         << "\npoll_interval = " << config.pollInterval << "\ndrush = " << config.drush << "\n[log]\ntask_output = "
         << config.folder << "/logs\nlevel = " << config.logLevel << "\n[runs]\nworkdir = " << config.folder << "/exchange\n[api]\nlisten = "
         << config.apiListen << "\n";
  }
  const passwd* user = getpwuid(geteuid());
  pid_ = spawn(config.binary, {"queued", "-c", file},
               {{"HOME", config.home}, {"USER", user ? user->pw_name : "skynet-test"}, {"PATH", "/usr/bin:/bin"}},
               config.folder + "/daemon.log");
}

Daemon::~Daemon() {
  if (pid_ > 0) stop();
}

int Daemon::stop() {
  if (pid_ <= 0) return 0;
  kill(pid_, SIGTERM);
  const int code = waitFor(pid_);
  pid_ = -1;
  return code;
}

std::string Daemon::log() const { return readFile(config_.folder + "/daemon.log"); }

void createSites(RawSql& sql, int sites) {
  const std::string last = std::to_string(sites - 1);
  sql.run("INSERT INTO node (nid, vid, type, language, title, uid, status, created, changed)"
          " SELECT 1000 + seq, 1000 + seq, 'site', 'und', CONCAT('site', seq, '.example.com'), 1, 1, 1600000000,"
          " 1600000000 FROM seq_0_to_" + last + ";"
          "INSERT INTO node_revision (nid, vid, uid, title, log, timestamp) SELECT 1000 + seq, 1000 + seq, 1,"
          " CONCAT('site', seq, '.example.com'), '', 1600000000 FROM seq_0_to_" + last);
}

std::vector<std::int64_t> queueTasks(RawSql& sql, std::int64_t firstNid, int count, int sites,
                                     std::int64_t changedBase) {
  const std::string n = std::to_string(firstNid) + " + seq";
  const std::string from = " FROM seq_0_to_" + std::to_string(count - 1);
  sql.run("START TRANSACTION;"
          "INSERT INTO node (nid, vid, type, language, title, uid, status, created, changed) SELECT " + n + ", " + n +
          ", 'task', 'und', 'Verify: site', 1, 1, " + std::to_string(changedBase) + " + seq, " +
          std::to_string(changedBase) + " + seq" + from + ";"
          "INSERT INTO node_revision (nid, vid, uid, title, log, timestamp) SELECT " + n + ", " + n +
          ", 1, 'Verify: site', '', " + std::to_string(changedBase) + " + seq" + from + ";"
          "INSERT INTO hosting_task (vid, nid, task_type, rid, task_status, executed, delta) SELECT " + n + ", " + n +
          ", 'verify', 1000 + MOD(seq, " + std::to_string(sites) + "), 0, 0, 0" + from + ";"
          "COMMIT");
  std::vector<std::int64_t> nids;
  for (int i = 0; i < count; ++i) nids.push_back(firstNid + i);
  return nids;
}

std::int64_t queueOneTask(RawSql& sql, std::int64_t rid, double& committed) {
  const std::string r = std::to_string(rid);
  const auto rows = sql.run(
      "START TRANSACTION;"
      "INSERT INTO node (type, language, title, uid, status, created, changed)"
      " VALUES ('task', 'und', 'Verify: site', 1, 1, UNIX_TIMESTAMP(), UNIX_TIMESTAMP());"
      "SET @bench_nid = LAST_INSERT_ID();"
      "INSERT INTO node_revision (nid, uid, title, log, timestamp) VALUES (@bench_nid, 1, 'Verify: site', '',"
      " UNIX_TIMESTAMP());"
      "SET @bench_vid = LAST_INSERT_ID();"
      "UPDATE node SET vid = @bench_vid WHERE nid = @bench_nid;"
      "INSERT INTO hosting_task (vid, nid, task_type, rid, task_status, executed, delta)"
      " VALUES (@bench_vid, @bench_nid, 'verify', " + r + ", 0, 0, 0);"
      "COMMIT;"
      "SELECT @bench_nid");
  // The SELECT after the COMMIT costs no commit; the commit has returned once run() did.
  committed = wallSeconds();
  return std::stoll(rows.at(0).at(0));
}

std::int64_t createHistory(RawSql& sql, int finished, int sites, std::int64_t leftProcessing) {
  const std::string f = std::to_string(finished);
  const std::string s = std::to_string(sites);
  // nid 100000 + i; queued revision 200000 + 2i (left at 0), finished one 200000 + 2i + 1.
  sql.run("START TRANSACTION;"
          "INSERT INTO node (nid, vid, type, language, title, uid, status, created, changed)"
          " SELECT 100000 + seq, 200001 + 2 * seq, 'task', 'und', 'Verify: site', 1, 1, 1500000000 + seq,"
          " 1500000000 + seq FROM seq_1_to_" + f + ";"
          "INSERT INTO node_revision (nid, vid, uid, title, log, timestamp)"
          " SELECT 100000 + seq, 200000 + 2 * seq, 1, 'Verify: site', '', 1500000000 + seq FROM seq_1_to_" + f + ";"
          "INSERT INTO node_revision (nid, vid, uid, title, log, timestamp)"
          " SELECT 100000 + seq, 200001 + 2 * seq, 1, 'Verify: site', '', 1500000000 + seq FROM seq_1_to_" + f + ";"
          "INSERT INTO hosting_task (vid, nid, task_type, rid, task_status, executed, delta)"
          " SELECT 200000 + 2 * seq, 100000 + seq, 'verify', 1000 + MOD(seq, " + s + "), IF(seq <= " +
          std::to_string(leftProcessing) + ", -1, 0), 1500000000 + seq, 0 FROM seq_1_to_" + f + ";"
          "INSERT INTO hosting_task (vid, nid, task_type, rid, task_status, executed, delta)"
          " SELECT 200001 + 2 * seq, 100000 + seq, 'verify', 1000 + MOD(seq, " + s + "), 1, 1500000000 + seq, 5"
          " FROM seq_1_to_" + f + ";"
          "COMMIT;"
          "ANALYZE TABLE hosting_task, node, node_revision");
  return 200002 + 2 * static_cast<std::int64_t>(finished);
}

}  // namespace skynet::bench
