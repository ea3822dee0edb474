// What became of a run, decided from what the daemon saw of its process and what the run itself
// recorded: pure functions, so every rule is tested without a database or a process (SPEC 3.3).
//
// An Aegir task (read from its current revision after the process ended):
// - the node is gone: lost;
// - the current revision is still the claimed one, at -1: hosting-task never took the task (load
//   too high, bootstrap failure, the daemon died before spawning it): release it to the queue and
//   retry after a backoff (deferred);
// - still -1 on a newer revision: it died, timed out or was cancelled before finishing: write an
//   error (or, for a cancel, a warning as Aegir's own cancel does) entry into hosting_task_log and
//   set the status by Aegir's rule;
// - status 1, 2 or 3: hosting-task finished it; that is the outcome.
// A lackey job: the exit code decides (0 succeeded, else failed), unless the supervisor ended it
// (timed_out, cancelled) or its exit code is unknown (lost).
#pragma once

#include <optional>
#include <string>

#include "daemon/supervisor.h"
#include "process/child_process.h"

namespace skynet::daemon {

struct TaskObservation {
  bool exists = false;
  std::int64_t claimedVid = 0;
  std::int64_t currentVid = 0;
  int status = 0;  // of the current revision
};

struct RunEnding {
  std::optional<process::ExitStatus> exit;  // nullopt: not known (adopted, or never started)
  EndedBy endedBy = EndedBy::None;
  int timeoutSeconds = 0;
  bool neverStarted = false;  // the daemon died between the claim and the spawn
  std::string cancelledBy;
  std::string lastOutputLine;
};

enum class TaskAction { Record, Release, Finalize };

struct TaskOutcome {
  TaskAction action = TaskAction::Record;
  std::string state;      // skynet_run.state (for Finalize: the state unless Aegir's rule says otherwise)
  std::string message;    // for the run record and the daemon's log
  std::string logType;    // Finalize: hosting_task_log type (error or warning)
  std::string errorCode;  // Finalize: hosting_task_log.error
  std::string logMessage; // Finalize: hosting_task_log.message
};

TaskOutcome classifyTask(const TaskObservation& task, const RunEnding& ending);

struct JobOutcome {
  std::string state;
  std::string message;
};

JobOutcome classifyJob(const RunEnding& ending);

// "exit code 3", "signal 9 (Killed)", or "an exit status no one saw".
std::string describeExit(const std::optional<process::ExitStatus>& exit);

}  // namespace skynet::daemon
