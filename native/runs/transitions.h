// The run state machine as the API drives it (lackey's start and stop reports, and cancel):
// pure decisions from what the record holds and what the request asks; the run store applies
// them under a row lock. A decision that refuses changes nothing.
//
//   start  scheduled                  -> running (started = reported_start = ts)
//          running, same ts           -> unchanged (a repeat)
//          running, daemon-started    -> reported_start recorded once, nothing else
//          running, other ts          -> 409
//          any final state, cancelled -> 409 (start after stop)
//   stop   scheduled                  -> 409 (stop before start)
//          running                    -> succeeded (no exit code, or 0) / failed;
//                                        stopped = reported_stop = ts, log kept
//          final, same ts/exit/log    -> unchanged (a repeat)
//          final, anything else       -> 409
//   cancel scheduled                  -> cancelled at once
//          running under a daemon     -> cancel requested (the daemon kills and records it)
//          running, no daemon         -> cancelled at once (nothing runs it that could be told)
//          final                      -> 409
#pragma once

#include <optional>
#include <string>

namespace skynet::runs {

// What a decision needs of a run record.
struct RunFacts {
  std::string state;
  std::optional<double> started, stopped, reportedStart, reportedStop, cancelRequested;
  std::optional<int> exitCode;
  std::string logTail;
  bool daemonStarted = false;  // worker_id set: a daemon runs (or ran) its process
};

enum class Verdict { Apply, Unchanged, Conflict };

struct StartDecision {
  Verdict verdict = Verdict::Conflict;
  std::string conflict;             // why, for the 409 message
  bool setRunning = false;          // state = running, started = ts
  bool setReportedStart = false;    // reported_start = ts
};
StartDecision decideStart(const RunFacts& run, double ts);

struct StopRequest {
  double ts = 0;
  std::optional<int> exitCode;
  std::string logTail;  // already cut to the stored size
};
struct StopDecision {
  Verdict verdict = Verdict::Conflict;
  std::string conflict;
  std::string newState;  // succeeded or failed when applied
};
StopDecision decideStop(const RunFacts& run, const StopRequest& stop);

enum class CancelAction { CancelNow, RequestCancel, AlreadyRequested, Conflict };
struct CancelDecision {
  CancelAction action = CancelAction::Conflict;
  std::string conflict;
};
CancelDecision decideCancel(const RunFacts& run);

// True for states a run never leaves.
bool isFinal(const std::string& state);

}  // namespace skynet::runs
