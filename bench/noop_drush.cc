// A no-op stand-in for `drush @hostmaster hosting-task <nid> --strict=0 --force`, for the
// benchmark: it does to the rows what hosting-task does to them (a new revision of the task at -1
// with `executed`, then the final status 1 on it) in ONE round trip and one commit, and nothing
// else, so what the benchmark measures beside it is the queue runner's own cost.
//
// It records three wall-clock readings (CLOCK_REALTIME, ns) as one line "nid exec loaded end"
// appended to the record file: `exec` the first thing main() does, `loaded` once the client
// library is loaded, `end` after the commit, just before exit. A single write(2) of a short line
// to an O_APPEND file, so lines of concurrent runs never mix.
//
// `exec` is read as close to the exec as the stand-in can see it: the program needs nothing but
// libc to reach main(), and it loads libmariadb (with its TLS and compression libraries) with
// dlopen after that reading. Linked against libmariadb, the dynamic linker loaded about 0.8 ms
// of libraries (CPU) before main(); with eight stand-ins started at once on two cores, that put
// the exec readings of a poll's children 7-10 ms after its first spawn, a cost of the children,
// not of the runner that started them. The loading is still timed (`loaded` - `exec`) and is in
// every throughput figure, the daemon's and the floor's alike.
//
// Like the Aegir simulator it gets only HOME, USER and PATH from the daemon, so its database and
// its record file come from $HOME/.skynet-bench/drush.conf (key=value lines: socket, database,
// user, password, record). Exit 0 when the task row was taken and finished, 1 otherwise.
//
//   noop_drush @hostmaster hosting-task NID [options ignored]
//   noop_drush --rss            connects, then prints its own VmRSS in KiB (the client's floor)
//
// Only the C library is used (no libstdc++, linked --as-needed: bench/CMakeLists.txt), for the
// same reason.
#include <dlfcn.h>
#include <fcntl.h>
#include <mysql.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

long long wallNanos() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  return static_cast<long long>(now.tv_sec) * 1000000000LL + now.tv_nsec;
}

// drush.conf's values, each at most one line of the file.
struct Config {
  char socket[512] = "", database[128] = "", user[128] = "", password[128] = "", record[512] = "";
};

Config readConfig() {
  Config config;
  const char* home = std::getenv("HOME");
  char path[512];
  std::snprintf(path, sizeof path, "%s/.skynet-bench/drush.conf", home ? home : "");
  FILE* in = std::fopen(path, "re");
  if (!in) return config;
  char line[600];
  while (std::fgets(line, sizeof line, in)) {
    line[std::strcspn(line, "\r\n")] = '\0';
    char* equals = std::strchr(line, '=');
    if (!equals) continue;
    *equals = '\0';
    const char* value = equals + 1;
    auto set = [&](const char* key, char* into, std::size_t size) {
      if (std::strcmp(line, key) == 0) std::snprintf(into, size, "%s", value);
    };
    set("socket", config.socket, sizeof config.socket);
    set("database", config.database, sizeof config.database);
    set("user", config.user, sizeof config.user);
    set("password", config.password, sizeof config.password);
    set("record", config.record, sizeof config.record);
  }
  std::fclose(in);
  return config;
}

// The libmariadb functions the stand-in calls, from dlopen (see the top).
struct Client {
  decltype(&mysql_init) init;
  decltype(&mysql_real_connect) connect;
  decltype(&mysql_error) error;
  decltype(&mysql_query) query;
  decltype(&mysql_store_result) storeResult;
  decltype(&mysql_fetch_row) fetchRow;
  decltype(&mysql_free_result) freeResult;
  decltype(&mysql_field_count) fieldCount;
  decltype(&mysql_next_result) nextResult;
  decltype(&mysql_close) close;
};

template <typename Function>
bool find(void* library, const char* name, Function& into) {
  into = reinterpret_cast<Function>(dlsym(library, name));
  return into != nullptr;
}

bool loadClient(Client& client) {
  void* library = dlopen("libmariadb.so.3", RTLD_LAZY);
  if (!library) return false;
  return find(library, "mysql_init", client.init) && find(library, "mysql_real_connect", client.connect) &&
         find(library, "mysql_error", client.error) && find(library, "mysql_query", client.query) &&
         find(library, "mysql_store_result", client.storeResult) && find(library, "mysql_fetch_row", client.fetchRow) &&
         find(library, "mysql_free_result", client.freeResult) &&
         find(library, "mysql_field_count", client.fieldCount) &&
         find(library, "mysql_next_result", client.nextResult) && find(library, "mysql_close", client.close);
}

int fail(const char* what, const char* detail) {
  std::fprintf(stderr, "noop_drush: %s: %s\n", what, detail);
  return 1;
}

long rssKiB() {
  FILE* in = std::fopen("/proc/self/status", "re");
  if (!in) return 0;
  char line[256];
  long kib = 0;
  while (std::fgets(line, sizeof line, in)) {
    if (std::strncmp(line, "VmRSS:", 6) == 0) kib = std::atol(line + 6);
  }
  std::fclose(in);
  return kib;
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
  const Config config = readConfig();
  Client client{};
  if (!loadClient(client)) {
    const char* why = dlerror();  // read once: reading it clears it
    return fail("cannot load libmariadb.so.3", why ? why : "a function is missing");
  }
  const long long loaded = wallNanos();
  MYSQL* db = client.init(nullptr);
  if (!client.connect(db, nullptr, config.user, config.password, config.database, 0, config.socket,
                      CLIENT_MULTI_STATEMENTS)) {
    return fail("cannot connect", client.error(db));
  }
  if (rssOnly) {
    std::printf("%ld\n", rssKiB());
    client.close(db);
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
  if (client.query(db, sql) != 0) return fail("hosting-task statements failed", client.error(db));
  long long finished = 0;
  do {
    if (MYSQL_RES* result = client.storeResult(db)) {
      if (MYSQL_ROW row = client.fetchRow(result)) finished = row[0] ? std::atoll(row[0]) : 0;
      client.freeResult(result);
    } else if (client.fieldCount(db) != 0) {
      return fail("reading a result failed", client.error(db));
    }
    const int next = client.nextResult(db);
    if (next > 0) return fail("a statement failed", client.error(db));
    if (next < 0) break;
  } while (true);
  client.close(db);
  const long long end = wallNanos();
  if (config.record[0] != '\0') {
    char line[128];
    const int length = std::snprintf(line, sizeof line, "%lld %lld %lld %lld\n", nid, exec, loaded, end);
    const int fd = open(config.record, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
      (void)!write(fd, line, static_cast<std::size_t>(length));
      close(fd);
    }
  }
  return finished == 1 ? 0 : 1;
}
