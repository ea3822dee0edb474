#include "daemon/outcome.h"

#include "aegir/task_queue.h"
#include "runs/run_store.h"

namespace skynet::daemon {

std::string describeExit(const std::optional<process::ExitStatus>& exit) {
  return exit ? exit->describe() : std::string("an exit status no daemon saw");
}

namespace {

const char* stateOfStatus(int status) {
  return status == aegir::kSuccess ? runs::state::kSucceeded
         : status == aegir::kWarning ? runs::state::kWarning
                                     : runs::state::kFailed;
}

}  // namespace

TaskOutcome classifyTask(const TaskObservation& task, const RunEnding& ending) {
  TaskOutcome outcome;
  const std::string how = ending.neverStarted ? std::string("never started (the daemon stopped before spawning it)")
                                              : "ended with " + describeExit(ending.exit);
  if (!task.exists) {
    outcome.state = runs::state::kLost;
    outcome.message = "the task node no longer exists";
    return outcome;
  }
  if (task.currentVid == task.claimedVid) {
    if (task.status == aegir::kProcessing) {
      if (ending.endedBy == EndedBy::Cancel) {
        // Cancelled before hosting-task took it: it must not run again.
        outcome.action = TaskAction::Finalize;
        outcome.state = runs::state::kCancelled;
        outcome.logType = "warning";
        outcome.errorCode = "SKYNET_TASK_CANCELLED";
        outcome.message = "cancelled by " + ending.cancelledBy + " before hosting-task took it";
        outcome.logMessage = "Skynet: task was cancelled by " + ending.cancelledBy + ".";
        return outcome;
      }
      outcome.action = TaskAction::Release;
      outcome.state = runs::state::kDeferred;
      outcome.message = "hosting-task " + how + " without taking the task" +
                        (ending.lastOutputLine.empty() ? "" : " (" + ending.lastOutputLine + ")");
      return outcome;
    }
    outcome.state = task.status == aegir::kQueued ? runs::state::kDeferred : stateOfStatus(task.status);
    outcome.message = "the task was changed by someone else while hosting-task ran";
    return outcome;
  }
  if (task.status == aegir::kProcessing) {
    outcome.action = TaskAction::Finalize;
    outcome.logType = "error";
    switch (ending.endedBy) {
      case EndedBy::Timeout:
        outcome.state = runs::state::kTimedOut;
        outcome.errorCode = "SKYNET_TASK_TIMEOUT";
        outcome.message = "the task ran longer than its timeout of " + std::to_string(ending.timeoutSeconds) +
                          " s and was killed (" + describeExit(ending.exit) + ")";
        break;
      case EndedBy::Cancel:
        outcome.state = runs::state::kCancelled;
        outcome.logType = "warning";
        outcome.errorCode = "SKYNET_TASK_CANCELLED";
        outcome.message = "cancelled by " + ending.cancelledBy + " (" + describeExit(ending.exit) + ")";
        break;
      case EndedBy::Shutdown:
        outcome.state = runs::state::kFailed;
        outcome.errorCode = "SKYNET_TASK_KILLED";
        outcome.message = "the task was killed when Skynet stopped (queue.shutdown = kill; " +
                          describeExit(ending.exit) + ")";
        break;
      case EndedBy::None:
        outcome.state = runs::state::kFailed;
        outcome.errorCode = "SKYNET_TASK_DIED";
        outcome.message = ending.exit ? "hosting-task ended with " + describeExit(ending.exit) + " before finishing the task"
                                      : "hosting-task ended while no Skynet daemon watched it, before finishing the task";
        break;
    }
    outcome.logMessage = "Skynet: " + outcome.message + ".";
    return outcome;
  }
  if (task.status == aegir::kQueued) {
    outcome.state = runs::state::kDeferred;
    outcome.message = "the task was queued again while hosting-task ran";
    return outcome;
  }
  outcome.state = stateOfStatus(task.status);
  if (ending.exit && !ending.exit->succeeded() && task.status != aegir::kError) {
    outcome.message = "hosting-task ended with " + describeExit(ending.exit);
  }
  return outcome;
}

JobOutcome classifyJob(const RunEnding& ending) {
  switch (ending.endedBy) {
    case EndedBy::Timeout:
      return {runs::state::kTimedOut, "the job ran longer than its timeout of " + std::to_string(ending.timeoutSeconds) +
                                          " s and was killed (" + describeExit(ending.exit) + ")"};
    case EndedBy::Cancel:
      return {runs::state::kCancelled, "cancelled by " + ending.cancelledBy + " (" + describeExit(ending.exit) + ")"};
    case EndedBy::Shutdown:
      return {runs::state::kFailed, "killed when Skynet stopped (queue.shutdown = kill; " + describeExit(ending.exit) + ")"};
    case EndedBy::None:
      break;
  }
  if (ending.neverStarted) return {runs::state::kScheduled, "the daemon stopped before starting it; it runs again"};
  if (!ending.exit) return {runs::state::kLost, "the job ended while no Skynet daemon watched it; its exit code is unknown"};
  if (ending.exit->succeeded()) return {runs::state::kSucceeded, ""};
  return {runs::state::kFailed, "the command ended with " + ending.exit->describe()};
}

}  // namespace skynet::daemon
