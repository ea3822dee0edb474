// One test per rule of runs/transitions.h.
#include "runs/transitions.h"

#include <gtest/gtest.h>

#include "runs/run_store.h"

namespace skynet::runs {
namespace {

RunFacts scheduled() { return RunFacts{state::kScheduled, {}, {}, {}, {}, {}, {}, "", false}; }
RunFacts runningSince(double started, bool daemon = false) {
  RunFacts run = scheduled();
  run.state = state::kRunning;
  run.started = started;
  run.daemonStarted = daemon;
  return run;
}
RunFacts stoppedWith(double ts, std::optional<int> exitCode, const std::string& log) {
  RunFacts run = runningSince(100);
  run.state = exitCode.value_or(0) == 0 ? state::kSucceeded : state::kFailed;
  run.stopped = ts;
  run.reportedStop = ts;
  run.exitCode = exitCode;
  run.logTail = log;
  return run;
}

TEST(StartTransition, StartsAScheduledRunAtTheReportedTime) {
  const auto decision = decideStart(scheduled(), 100);
  EXPECT_EQ(decision.verdict, Verdict::Apply);
  EXPECT_TRUE(decision.setRunning);
  EXPECT_TRUE(decision.setReportedStart);
}

TEST(StartTransition, ARepeatWithTheSameTsChangesNothingAnotherTsConflicts) {
  EXPECT_EQ(decideStart(runningSince(100), 100).verdict, Verdict::Unchanged);
  EXPECT_EQ(decideStart(runningSince(100), 101).verdict, Verdict::Conflict);
}

TEST(StartTransition, ADaemonStartedRunRecordsTheReportOnceAndNothingElse) {
  auto run = runningSince(100, true);
  auto first = decideStart(run, 105);
  EXPECT_EQ(first.verdict, Verdict::Apply);
  EXPECT_FALSE(first.setRunning);
  EXPECT_TRUE(first.setReportedStart);
  run.reportedStart = 105;
  EXPECT_EQ(decideStart(run, 106).verdict, Verdict::Unchanged);
}

TEST(StartTransition, StartAfterStopOrCancelConflicts) {
  EXPECT_EQ(decideStart(stoppedWith(200, 0, ""), 100).verdict, Verdict::Conflict);
  auto cancelled = scheduled();
  cancelled.state = state::kCancelled;
  const auto decision = decideStart(cancelled, 100);
  EXPECT_EQ(decision.verdict, Verdict::Conflict);
  EXPECT_NE(decision.conflict.find("cancelled"), std::string::npos);
}

TEST(StopTransition, StopBeforeStartConflicts) {
  const auto decision = decideStop(scheduled(), {200, 0, ""});
  EXPECT_EQ(decision.verdict, Verdict::Conflict);
  EXPECT_NE(decision.conflict.find("stop before start"), std::string::npos);
}

TEST(StopTransition, TheExitCodeDecidesSucceededOrFailed) {
  EXPECT_EQ(decideStop(runningSince(100), {200, std::nullopt, ""}).newState, state::kSucceeded);
  EXPECT_EQ(decideStop(runningSince(100), {200, 0, ""}).newState, state::kSucceeded);
  EXPECT_EQ(decideStop(runningSince(100), {200, 3, ""}).newState, state::kFailed);
  EXPECT_EQ(decideStop(runningSince(100, true), {200, 3, ""}).verdict, Verdict::Apply);
}

TEST(StopTransition, ARepeatWithTheSameValuesChangesNothingADifferentOneConflicts) {
  const auto run = stoppedWith(200, 1, "log");
  EXPECT_EQ(decideStop(run, {200, 1, "log"}).verdict, Verdict::Unchanged);
  EXPECT_EQ(decideStop(run, {201, 1, "log"}).verdict, Verdict::Conflict);
  EXPECT_EQ(decideStop(run, {200, 0, "log"}).verdict, Verdict::Conflict);
  EXPECT_EQ(decideStop(run, {200, 1, "other"}).verdict, Verdict::Conflict);
  auto finishedByDaemon = run;
  finishedByDaemon.reportedStop.reset();
  EXPECT_EQ(decideStop(finishedByDaemon, {200, 1, "log"}).verdict, Verdict::Conflict);
}

TEST(CancelTransition, DropsAScheduledRunAtOnce) {
  EXPECT_EQ(decideCancel(scheduled()).action, CancelAction::CancelNow);
}

TEST(CancelTransition, AsksTheDaemonToStopARunItRunsOnce) {
  auto run = runningSince(100, true);
  EXPECT_EQ(decideCancel(run).action, CancelAction::RequestCancel);
  run.cancelRequested = 150;
  EXPECT_EQ(decideCancel(run).action, CancelAction::AlreadyRequested);
}

TEST(CancelTransition, CancelsARunNoDaemonRunsAtOnce) {
  EXPECT_EQ(decideCancel(runningSince(100, false)).action, CancelAction::CancelNow);
}

TEST(CancelTransition, AFinalRunConflicts) {
  EXPECT_EQ(decideCancel(stoppedWith(200, 0, "")).action, CancelAction::Conflict);
}

}  // namespace
}  // namespace skynet::runs
