#include "runs/transitions.h"

#include "runs/run_store.h"

namespace skynet::runs {

bool isFinal(const std::string& s) {
  return s != state::kScheduled && s != state::kRunning;
}

StartDecision decideStart(const RunFacts& run, double ts) {
  StartDecision decision;
  if (run.state == state::kScheduled) {
    decision.verdict = Verdict::Apply;
    decision.setRunning = true;
    decision.setReportedStart = true;
    return decision;
  }
  if (run.state == state::kRunning) {
    if (run.daemonStarted) {
      decision.verdict = run.reportedStart ? Verdict::Unchanged : Verdict::Apply;
      decision.setReportedStart = !run.reportedStart;
      return decision;
    }
    if (run.started && *run.started == ts) {
      decision.verdict = Verdict::Unchanged;
      return decision;
    }
    decision.conflict = "the run is already running, started at another ts";
    return decision;
  }
  decision.conflict = run.state == state::kCancelled ? "the run is cancelled"
                                                     : "the run has already ended (state " + run.state + ")";
  return decision;
}

StopDecision decideStop(const RunFacts& run, const StopRequest& stop) {
  StopDecision decision;
  if (run.state == state::kScheduled) {
    decision.conflict = "the run has not started yet (stop before start)";
    return decision;
  }
  if (run.state == state::kRunning) {
    decision.verdict = Verdict::Apply;
    decision.newState = !stop.exitCode || *stop.exitCode == 0 ? state::kSucceeded : state::kFailed;
    return decision;
  }
  if (run.state == state::kCancelled) {
    decision.conflict = "the run is cancelled";
    return decision;
  }
  const bool repeat = run.reportedStop && *run.reportedStop == stop.ts && run.exitCode == stop.exitCode &&
                      run.logTail == stop.logTail;
  if (repeat) {
    decision.verdict = Verdict::Unchanged;
    return decision;
  }
  decision.conflict = "the run has already ended (state " + run.state + ")";
  return decision;
}

CancelDecision decideCancel(const RunFacts& run) {
  CancelDecision decision;
  if (run.state == state::kScheduled) {
    decision.action = CancelAction::CancelNow;
  } else if (run.state == state::kRunning) {
    if (!run.daemonStarted) decision.action = CancelAction::CancelNow;
    else decision.action = run.cancelRequested ? CancelAction::AlreadyRequested : CancelAction::RequestCancel;
  } else {
    decision.conflict = "the run has already ended (state " + run.state + ")";
  }
  return decision;
}

}  // namespace skynet::runs
