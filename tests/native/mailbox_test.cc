#include "daemon/mailbox.h"

#include <gtest/gtest.h>

#include <variant>

namespace skynet::daemon {
namespace {

Launch launchOf(std::int64_t runId) {
  Launch launch;
  launch.runId = runId;
  return launch;
}

TEST(MailboxTest, ABatchOfCommandsArrivesWholeAndInOrderWithAWakeUp) {
  Waker supervision;
  Mailbox mailbox(supervision);
  mailbox.post(Command{CancelCommand{7}});
  mailbox.post(std::vector<Command>{Command{launchOf(1)}, Command{launchOf(2)}, Command{launchOf(3)}});
  EXPECT_TRUE(supervision.wait(0));
  const auto taken = mailbox.takeCommands();
  ASSERT_EQ(taken.size(), 4u);
  EXPECT_EQ(std::get<CancelCommand>(taken[0]).runId, 7);
  for (std::int64_t run = 1; run <= 3; ++run) EXPECT_EQ(std::get<Launch>(taken[run]).runId, run);
  EXPECT_FALSE(mailbox.commandsPending());
  // Nothing to hand over: no wake-up.
  mailbox.post(std::vector<Command>{});
  EXPECT_FALSE(supervision.wait(0));
  EXPECT_FALSE(mailbox.commandsPending());
}

TEST(MailboxTest, ATurnsEventsQueueBehindTheOnesBeforeThemInOrder) {
  Waker supervision;
  Mailbox mailbox(supervision);
  mailbox.post(Event{LaunchFailed{1, "no such file", false}});
  Ended ended;
  ended.runId = 2;
  mailbox.post(std::vector<Event>{Event{Started{2, {}, 0}}, Event{ended}});
  mailbox.post(std::vector<Event>{});
  ASSERT_EQ(mailbox.eventsPending(), 3u);
  const auto events = mailbox.peekEvents(10);
  EXPECT_EQ(std::get<LaunchFailed>(events[0].event).runId, 1);
  EXPECT_EQ(std::get<Started>(events[1].event).runId, 2);
  EXPECT_EQ(std::get<Ended>(events[2].event).runId, 2);
  // A start and the end right behind it were posted together: one moment for both.
  EXPECT_EQ(events[1].postedMono, events[2].postedMono);
  mailbox.popEvents(2);
  EXPECT_EQ(std::get<Ended>(mailbox.peekEvents(10).at(0).event).runId, 2);
}

}  // namespace
}  // namespace skynet::daemon
