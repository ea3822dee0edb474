// Watches the processes of running runs, whatever kind of run they are: it launches them, adopts
// those a previous daemon left, enforces their deadlines, kills whole process groups until they
// are empty, keeps their output files within their cap, and reports each end. It knows run ids,
// process groups and files, not Aegir and not the database, so it never waits on a query.
//
// Threading: one thread only (the daemon's main loop) calls every method.
//
// Deadlines use the monotonic clock (a wall-clock jump kills nothing); the times reported for the
// record (started, stopped) are wall-clock readings taken at spawn and at reap.
//
// An adopted process that is not our child (its daemon died and it was re-parented) cannot be
// waited for: it is watched through its identity (pid + start time + boot) on every tick, which
// is why the loop ticks at least every kAdoptedPollSeconds while it has any. A pidfd would wake
// the loop sooner, but would not give the exit status either: the outcome of such a run is read
// from what the run itself recorded (the Aegir task's state).
#pragma once

#include <Poco/Logger.h>
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "process/child_process.h"
#include "process/process_identity.h"

namespace skynet::daemon {

// Why the supervisor ended a run (none: it ended by itself).
enum class EndedBy { None, Timeout, Cancel, Shutdown };

struct Launch {
  std::int64_t runId = 0;
  process::LaunchSpec spec;
  int timeoutSeconds = 0;  // 0: never
};

struct Adoption {
  std::int64_t runId = 0;
  process::ProcessIdentity identity;
  std::string outputFile;
  double startedWall = 0;  // when the run started, for its deadline
  int timeoutSeconds = 0;
};

struct Started {
  std::int64_t runId = 0;
  process::ProcessIdentity identity;
  double startedWall = 0;
};

struct Ended {
  std::int64_t runId = 0;
  std::optional<process::ExitStatus> exit;  // nullopt: an adopted process that was not our child
  double stoppedWall = 0;
  EndedBy endedBy = EndedBy::None;
  int timeoutSeconds = 0;
  std::string outputFile;
};

class Supervisor {
 public:
  static constexpr double kAdoptedPollSeconds = 0.5;
  static constexpr double kOutputCheckSeconds = 0.5;

  Supervisor(int killGraceSeconds, long maxOutputBytes, Poco::Logger& logger)
      : killGrace_(killGraceSeconds), maxOutputBytes_(maxOutputBytes), log_(logger) {}

  void setLimits(int killGraceSeconds, long maxOutputBytes) {
    killGrace_ = killGraceSeconds;
    maxOutputBytes_ = maxOutputBytes;
  }

  // Starts the run's process; throws process::LaunchError when it cannot.
  Started launch(const Launch& launch, double nowMono);
  // Makes the spare output files the launches since the last call took (see supervisor.cc);
  // called once the launches of a turn are done.
  void makeSpareOutputFiles();
  // Takes over a process started before; false when it is not running any more.
  bool adopt(const Adoption& adoption, double nowMono);
  // Ends a run: SIGTERM to its group now, SIGKILL after the grace, until the group is empty.
  // False when the supervisor does not watch that run.
  bool stop(std::int64_t runId, EndedBy why, double nowMono);
  void stopAll(EndedBy why, double nowMono);

  // Reaps, enforces deadlines, caps output; returns the runs that ended since the last call.
  std::vector<Ended> tick(double nowMono);
  // Seconds until tick() has something to do (a deadline, a SIGKILL, a poll of adopted ones).
  double secondsUntilDue(double nowMono, double ceiling) const;

  bool empty() const { return watched_.empty(); }
  std::size_t size() const { return watched_.size(); }
  bool watches(std::int64_t runId) const { return watched_.count(runId) > 0; }

 private:
  struct Watched {
    std::unique_ptr<process::ChildProcess> child;  // null when adopted from a dead daemon
    process::ProcessIdentity identity;
    std::string outputFile;
    double deadline = 0;  // monotonic; 0: none
    double killAt = 0;    // monotonic time of the SIGKILL after a SIGTERM; 0: none sent
    int timeoutSeconds = 0;
    EndedBy endedBy = EndedBy::None;
    std::optional<process::ExitStatus> exit;
    bool leaderGone = false;
    bool sentKill = false;
    double stoppedWall = 0;
  };
  void signal(Watched& watched, int signal);

  int killGrace_;
  long maxOutputBytes_;
  Poco::Logger& log_;
  double nextOutputCheck_ = 0;
  std::map<std::int64_t, Watched> watched_;
  // By output folder, the spares (their indexes) the launches since makeSpareOutputFiles() took
  // or found missing.
  std::map<std::string, std::set<int>> missingSpares_;
};

// Keeps a run's output file within `maxBytes`: the first half and the newest bytes stay, with a
// line in between saying how much was cut. Safe while the child appends (its descriptor is
// O_APPEND, so its next write lands at the new end). Returns the number of bytes cut.
std::uint64_t capOutputFile(const std::string& path, long maxBytes);

// Removes the per-run output files in `folder` (task-*-run-*.log, job-*-run-*.log) last written
// more than `keepDays` days before `now`; returns how many it removed.
int pruneOutputFiles(const std::string& folder, int keepDays, double now);

}  // namespace skynet::daemon
