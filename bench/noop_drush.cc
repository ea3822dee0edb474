// A no-op stand-in for `drush @hostmaster hosting-task <nid> --strict=0 --force`, for the
// benchmark: it does to the rows what hosting-task does to them (a new revision of the task at -1
// with `executed`, then the final status 1 on it) in ONE round trip and one commit, and nothing
// else, so what the benchmark measures beside it is the queue runner's own cost.
//
// It records two wall-clock readings (CLOCK_REALTIME, ns) as one line "nid exec end" appended to
// the record file: `exec` the first thing main() does (after the dynamic linker), `end` after the
// commit, just before exit. A single write(2) of a short line to an O_APPEND file, so lines of
// concurrent runs never mix.
//
// Like the Aegir simulator it gets only HOME, USER and PATH from the daemon, so its database and
// its record file come from $HOME/.skynet-bench/drush.conf (key=value lines: socket, database,
// user, password, record). Exit 0 when the task row was taken and finished, 1 otherwise.
//
//   noop_drush @hostmaster hosting-task NID [options ignored]
//   noop_drush --rss            connects, then prints its own VmRSS in KiB (the client's floor)
#include <fcntl.h>
#include <mysql.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <string>

namespace {

long long wallNanos() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  return static_cast<long long>(now.tv_sec) * 1000000000LL + now.tv_nsec;
}

std::map<std::string, std::string> readConfig() {
  std::map<std::string, std::string> config;
  const char* home = std::getenv("HOME");
  std::ifstream in(std::string(home ? home : "") + "/.skynet-bench/drush.conf");
  std::string line;
  while (std::getline(in, line)) {
    const auto equals = line.find('=');
    if (equals != std::string::npos) config[line.substr(0, equals)] = line.substr(equals + 1);
  }
  return config;
}

int fail(const char* what, MYSQL* db) {
  std::fprintf(stderr, "noop_drush: %s: %s\n", what, db ? mysql_error(db) : "");
  return 1;
}

long rssKiB() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const long long exec = wallNanos();
  const bool rssOnly = argc == 2 && std::strcmp(argv[1], "--rss") == 0;
  if (!rssOnly && (argc < 4 || std::strcmp(argv[2], "hosting-task") != 0)) {
    std::fprintf(stderr, "usage: noop_drush @hostmaster hosting-task NID [options] | noop_drush --rss\n");
    return 1;
  }
  const long long nid = rssOnly ? 0 : std::atoll(argv[3]);
  auto config = readConfig();
  MYSQL* db = mysql_init(nullptr);
  if (!mysql_real_connect(db, nullptr, config["user"].c_str(), config["password"].c_str(), config["database"].c_str(), 0,
                          config["socket"].c_str(), CLIENT_MULTI_STATEMENTS)) {
    return fail("cannot connect", db);
  }
  if (rssOnly) {
    std::printf("%ld\n", rssKiB());
    mysql_close(db);
    return 0;
  }
  // hosting-task's two saves of the task, as one transaction in one round trip: a new revision
  // (node_revision, node.vid, a hosting_task row at -1 with executed), then the final status.
  char sql[1400];
  std::snprintf(sql, sizeof sql,
                "START TRANSACTION;"
                "INSERT INTO node_revision (nid, uid, title, log, timestamp, status)"
                " SELECT nid, 1, title, '', UNIX_TIMESTAMP(), 1 FROM node WHERE nid = %lld;"
                "SET @skynet_bench_vid = LAST_INSERT_ID();"
                "INSERT INTO hosting_task (vid, nid, task_type, rid, task_status, executed, delta)"
                " SELECT @skynet_bench_vid, t.nid, t.task_type, t.rid, -1, UNIX_TIMESTAMP(), 0"
                " FROM node n JOIN hosting_task t ON t.vid = n.vid WHERE n.nid = %lld;"
                "UPDATE node SET vid = @skynet_bench_vid, changed = UNIX_TIMESTAMP() WHERE nid = %lld;"
                "UPDATE hosting_task SET task_status = 1, delta = 0 WHERE vid = @skynet_bench_vid;"
                "SELECT ROW_COUNT();"
                "COMMIT",
                nid, nid, nid);
  if (mysql_query(db, sql) != 0) return fail("hosting-task statements failed", db);
  long long finished = 0;
  do {
    if (MYSQL_RES* result = mysql_store_result(db)) {
      if (MYSQL_ROW row = mysql_fetch_row(result)) finished = row[0] ? std::atoll(row[0]) : 0;
      mysql_free_result(result);
    } else if (mysql_field_count(db) != 0) {
      return fail("reading a result failed", db);
    }
    const int next = mysql_next_result(db);
    if (next > 0) return fail("a statement failed", db);
    if (next < 0) break;
  } while (true);
  mysql_close(db);
  const long long end = wallNanos();
  const std::string& record = config["record"];
  if (!record.empty()) {
    char line[96];
    const int length = std::snprintf(line, sizeof line, "%lld %lld %lld\n", nid, exec, end);
    const int fd = open(record.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
      (void)!write(fd, line, static_cast<std::size_t>(length));
      close(fd);
    }
  }
  return finished == 1 ? 0 : 1;
}
