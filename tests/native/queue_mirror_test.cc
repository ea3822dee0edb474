#include "daemon/queue_mirror.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace skynet::daemon {
namespace {

aegir::QueuedTask task(std::int64_t vid, std::int64_t rid, std::int64_t changed, std::int64_t nid = 0) {
  return {nid ? nid : vid, vid, rid, "verify", changed, "site"};
}

std::vector<std::int64_t> vids(const std::vector<aegir::QueuedTask>& tasks) {
  std::vector<std::int64_t> out;
  for (const auto& t : tasks) out.push_back(t.vid);
  return out;
}

TEST(QueueMirror, FirstReadStartsAtVidZeroAndLaterOnesAboveWhatWasSeen) {
  QueueMirror mirror;
  auto read = mirror.nextRead(1000, 500);
  EXPECT_EQ(read.from, 0);
  EXPECT_EQ(read.limit, QueueMirror::kCapacity);
  mirror.applyRead(read, {task(100, 1, 10), task(200, 2, 20)});
  EXPECT_EQ(mirror.size(), 2u);
  read = mirror.nextRead(1001, 510);
  EXPECT_EQ(read.from, 500);  // the probe's maximum at the first poll
  // Room for as many new ones as the capacity leaves (none of the known are above 500).
  EXPECT_EQ(read.limit, QueueMirror::kCapacity - 2);
}

TEST(QueueMirror, ReReadsTheLastLagSecondsSoALateCommitIsFound) {
  QueueMirror mirror;
  mirror.applyRead(mirror.nextRead(1000, 500), {});
  mirror.applyRead(mirror.nextRead(1001, 600), {});
  mirror.applyRead(mirror.nextRead(1002, 700), {});
  // Until the probe at 1001 is kLagSeconds old, reads start at the first one's maximum.
  EXPECT_EQ(mirror.nextRead(1000 + QueueMirror::kLagSeconds - 1, 700).from, 500);
  auto read = mirror.nextRead(1001 + QueueMirror::kLagSeconds, 700);
  EXPECT_EQ(read.from, 600);
  // A task with vid 650 that committed late is still read, and kept.
  mirror.applyRead(read, {task(650, 1, 5)});
  EXPECT_TRUE(mirror.contains(650));
}

TEST(QueueMirror, ReadsBetweenLaggedReadsStartAboveWhatWasSeen) {
  QueueMirror mirror;
  mirror.applyRead(mirror.nextRead(1000, 500), {});
  mirror.applyRead(mirror.nextRead(1001, 600), {task(550, 1, 5)});
  // A wake-up soon after: only what is above the last read's probe (no re-read of 500..600,
  // where each task run leaves a claimed revision at status 0 for the read to examine).
  auto read = mirror.nextRead(1001.2, 700);
  EXPECT_EQ(read.from, 600);
  mirror.applyRead(read, {task(650, 2, 6)});
  read = mirror.nextRead(1001.5, 700);
  EXPECT_EQ(read.from, 700);
  EXPECT_EQ(read.limit, 0u);  // nothing above it: no read at all
  // It judges only what it covered: 550, below it, stays.
  EXPECT_TRUE(mirror.contains(550));
  EXPECT_TRUE(mirror.contains(650));
  // kLaggedReadEvery after the last lagged read (at 1001) the lag is read again: a late commit
  // at 580 is found, and 550, claimed by someone meanwhile, is gone.
  read = mirror.nextRead(1001 + QueueMirror::kLaggedReadEvery, 700);
  EXPECT_EQ(read.from, 500);
  mirror.applyRead(read, {task(580, 3, 7), task(650, 2, 6)});
  EXPECT_TRUE(mirror.contains(580));
  EXPECT_FALSE(mirror.contains(550));
  EXPECT_TRUE(mirror.contains(650));
}

TEST(QueueMirror, AKnownTaskTheReadNoLongerReturnsIsGone) {
  QueueMirror mirror;
  mirror.applyRead(mirror.nextRead(1000, 50), {});
  mirror.applyRead(mirror.nextRead(1001, 300), {task(100, 1, 10), task(200, 2, 20), task(300, 3, 30)});
  // Within the lag the next read starts at the first probe's maximum again: 200 was claimed by
  // another runner meanwhile.
  auto read = mirror.nextRead(1002, 300);
  ASSERT_EQ(read.from, 50);
  mirror.applyRead(read, {task(100, 1, 10), task(300, 3, 30)});
  EXPECT_FALSE(mirror.contains(200));
  EXPECT_TRUE(mirror.contains(100));
  EXPECT_TRUE(mirror.contains(300));
}

TEST(QueueMirror, APartialReadOnlyJudgesWhatItCovered) {
  QueueMirror mirror;
  mirror.applyRead(mirror.nextRead(1000, 300), {task(100, 1, 10), task(300, 3, 30)});
  QueueMirror::Read read{0, 1};  // cut after one row
  mirror.applyRead(read, {task(100, 1, 10)});
  EXPECT_TRUE(mirror.contains(300));  // beyond the cut: not judged
}

TEST(QueueMirror, StopsReadingWhenFullAndGoesOnWhereItStopped) {
  QueueMirror mirror;
  std::vector<aegir::QueuedTask> rows;
  for (std::int64_t vid = 1; vid <= static_cast<std::int64_t>(QueueMirror::kCapacity); ++vid) rows.push_back(task(vid, vid % 50, vid));
  auto read = mirror.nextRead(1000, 100000);
  ASSERT_EQ(read.limit, rows.size());
  mirror.applyRead(read, rows);  // as many as the limit: the read was cut there
  EXPECT_EQ(mirror.size(), QueueMirror::kCapacity);
  EXPECT_EQ(mirror.nextRead(1001, 100000).limit, 0u);  // full: no read at all
  for (std::int64_t vid = 1; vid <= 10; ++vid) mirror.remove(vid);
  read = mirror.nextRead(1002, 100000);
  // Not from the probe's maximum: from where the cut read stopped (less the lag, here 0).
  EXPECT_LE(read.from, static_cast<std::int64_t>(QueueMirror::kCapacity));
  EXPECT_EQ(read.limit, 10u + static_cast<std::size_t>(std::count_if(rows.begin(), rows.end(), [&](const aegir::QueuedTask& t) {
                                 return t.vid > read.from && t.vid > 10;
                               })));
}

TEST(QueueMirror, TheAuditWalksTheHistoryDownInChunksAndWraps) {
  const std::int64_t chunk = QueueMirror::kAuditChunk;
  const double every = QueueMirror::kAuditEverySeconds;
  const double cycle = 4 * every;  // longer than the walk's 3 chunks take
  QueueMirror mirror;
  mirror.applyRead(mirror.nextRead(1000, 2 * chunk + 500), {});
  mirror.nextRead(1001, 2 * chunk + 500);  // the window now starts at 2 chunks + 500
  double now = 1001;
  auto range = mirror.auditRange(now, cycle);
  // The first chunk ends where the history does; the others start at multiples of a chunk.
  EXPECT_EQ(range.first, 2 * chunk);
  EXPECT_EQ(range.second, 2 * chunk + 501);
  mirror.applyAudit(now, range, {}, {});
  EXPECT_EQ(mirror.auditRange(now + every / 2, cycle).first, 0);  // not again so soon
  now += every;
  range = mirror.auditRange(now, cycle);
  EXPECT_EQ(range, std::make_pair(chunk, 2 * chunk));
  mirror.applyAudit(now, range, {}, {});
  now += every;
  range = mirror.auditRange(now, cycle);
  EXPECT_EQ(range, std::make_pair(std::int64_t{1}, chunk));
  mirror.applyAudit(now, range, {}, {});
  now += every;
  // The walk took 3 chunks, under `cycle`: the next one waits until `cycle` after the last began.
  EXPECT_EQ(mirror.auditRange(now, cycle).second, 0);
  EXPECT_EQ(mirror.auditRange(1001 + cycle - 0.1, cycle).second, 0);
  EXPECT_EQ(mirror.auditRange(1001 + cycle, cycle).second, 2 * chunk + 501);  // from the top again
}

// A history within one chunk is one walk per audit: it is re-read every `cycle`, not every
// kAuditEverySeconds; a walk longer than `cycle` goes on from the top at once.
TEST(QueueMirror, AShortHistoryIsReadOncePerCycleALongOneWithoutAPause) {
  const double every = QueueMirror::kAuditEverySeconds;
  const double cycle = 60;
  QueueMirror small;
  small.applyRead(small.nextRead(1000, 900), {});
  small.nextRead(1001, 900);
  std::vector<double> audited;
  for (double now = 1001; now < 1001 + 3 * cycle; now += 1) {
    const auto range = small.auditRange(now, cycle);
    if (range.first >= range.second) continue;
    EXPECT_EQ(range, std::make_pair(std::int64_t{1}, std::int64_t{901}));
    small.applyAudit(now, range, {}, {});
    audited.push_back(now);
  }
  EXPECT_EQ(audited, (std::vector<double>{1001, 1001 + cycle, 1001 + 2 * cycle}));

  // 20 chunks: a walk takes 20 audits, longer than `cycle`, and the next starts right after.
  const std::int64_t chunk = QueueMirror::kAuditChunk;
  QueueMirror big;
  big.applyRead(big.nextRead(1000, 20 * chunk - 1), {});
  big.nextRead(1001, 20 * chunk - 1);
  int chunks = 0, walks = 0;
  for (double now = 1001; now < 1001 + 40 * every; now += every) {
    const auto range = big.auditRange(now, cycle);
    ASSERT_LT(range.first, range.second) << "no audit at " << now;
    if (range.second == 20 * chunk) ++walks;
    big.applyAudit(now, range, {}, {});
    ++chunks;
  }
  EXPECT_EQ(chunks, 40);
  EXPECT_EQ(walks, 2);
}

TEST(QueueMirror, TheAuditFindsARevisionSetBackByHandAndDropsOnesNoLongerQueued) {
  QueueMirror mirror;
  mirror.applyRead(mirror.nextRead(1000, 900), {task(800, 1, 80)});
  mirror.nextRead(1001, 900);
  const auto range = mirror.auditRange(1001, 60);
  ASSERT_LE(range.first, 5);
  ASSERT_GT(range.second, 800);
  mirror.applyAudit(1001, range, {task(5, 2, 1)}, {});  // an old revision set back to 0; 800 was taken
  EXPECT_TRUE(mirror.contains(5));
  EXPECT_FALSE(mirror.contains(800));
}

// A chunk read with nothing queued in it is remembered with its digest, so that the next walk can
// pass it with one aggregate; not one that held queued tasks, not a range that ends elsewhere.
TEST(QueueMirror, AChunkReadWithNothingQueuedIsRememberedWithItsDigest) {
  const std::int64_t chunk = QueueMirror::kAuditChunk;
  const double every = QueueMirror::kAuditEverySeconds;
  QueueMirror mirror;
  mirror.applyRead(mirror.nextRead(1000, 3 * chunk - 1), {});
  mirror.nextRead(1001, 3 * chunk - 1);
  aegir::VidDigest digest;
  digest.add(2 * chunk + 7);
  digest.add(2 * chunk + 9);
  double now = 1001;
  const auto top = mirror.auditRange(now, 1000);
  ASSERT_EQ(top, std::make_pair(2 * chunk, 3 * chunk));
  EXPECT_FALSE(mirror.quietDigest(top)) << "not read yet";
  mirror.applyAudit(now, top, {}, digest);
  ASSERT_TRUE(mirror.quietDigest(top));
  EXPECT_EQ(*mirror.quietDigest(top), digest);
  EXPECT_FALSE(mirror.quietDigest({2 * chunk, 3 * chunk + 100})) << "the same start, another end";
  // Passing a chunk as unchanged moves the walk on as a reading does.
  now += every;
  const auto middle = mirror.auditRange(now, 1000);
  ASSERT_EQ(middle, std::make_pair(chunk, 2 * chunk));
  mirror.auditUnchanged(now, middle);
  EXPECT_FALSE(mirror.quietDigest(middle)) << "never read, so nothing to compare with";
  EXPECT_EQ(mirror.auditRange(now + every / 2, 1000).first, 0) << "not again so soon";
  now += every;
  const auto bottom = mirror.auditRange(now, 1000);
  ASSERT_EQ(bottom, std::make_pair(std::int64_t{1}, chunk));
  // A chunk with a queued task is not remembered, and one that had been is forgotten.
  mirror.applyAudit(now, bottom, {task(5, 2, 1)}, digest);
  EXPECT_FALSE(mirror.quietDigest(bottom));
  mirror.applyAudit(now, top, {task(2 * chunk + 7, 2, 1)}, digest);
  EXPECT_FALSE(mirror.quietDigest(top));
  mirror.applyAudit(now, top, {}, {});
  EXPECT_TRUE(mirror.quietDigest(top));
  mirror.reset();
  EXPECT_FALSE(mirror.quietDigest(top));
}

TEST(QueueMirror, ReadsNothingWhenNothingLiesAboveTheWindow) {
  QueueMirror mirror;
  mirror.applyRead(mirror.nextRead(1000, 500), {});
  EXPECT_EQ(mirror.nextRead(1001, 500).limit, 0u);
  EXPECT_GT(mirror.nextRead(1002, 501).limit, 0u);
}

TEST(QueueMirror, ViewShowsTheOldestAndEverySitesFirstInQueueOrder) {
  QueueMirror mirror;
  // Site 10: a deep backlog, oldest first; site 11: one task queued after all of them.
  std::vector<aegir::QueuedTask> rows;
  for (std::int64_t vid = 1; vid <= 300; ++vid) rows.push_back(task(vid, 10, 1000 + vid));
  rows.push_back(task(301, 11, 5000));
  mirror.applyRead(mirror.nextRead(1000, 301), rows);
  const auto view = mirror.view(200);
  ASSERT_EQ(view.size(), 201u);
  EXPECT_EQ(view.front().vid, 1);
  EXPECT_EQ(view.back().vid, 301);
  EXPECT_TRUE(std::is_sorted(view.begin(), view.end(), [](const aegir::QueuedTask& a, const aegir::QueuedTask& b) {
    return std::make_pair(a.changed, a.nid) < std::make_pair(b.changed, b.nid);
  }));
  // What the daemon shows the policy: only every site's first.
  EXPECT_EQ(vids(mirror.view(0)), (std::vector<std::int64_t>{1, 301}));
}

TEST(QueueMirror, OrdersByChangedThenNidNotByVid) {
  QueueMirror mirror;
  mirror.applyRead(mirror.nextRead(1000, 30),
                   {task(10, 1, 300, 7), task(20, 2, 100, 9), task(30, 3, 100, 8)});
  EXPECT_EQ(vids(mirror.view(10)), (std::vector<std::int64_t>{30, 20, 10}));
}

TEST(QueueMirror, HeadIsTheFirstInQueueOrder) {
  QueueMirror mirror;
  mirror.applyRead(mirror.nextRead(1000, 40),
                   {task(10, 1, 300), task(20, 2, 100), task(30, 3, 200), task(40, 4, 400)});
  EXPECT_EQ(mirror.head(2), (std::vector<std::int64_t>{20, 30}));
  EXPECT_EQ(mirror.head(10).size(), 4u);
}

TEST(QueueMirror, AddReplacesAndRemoveForgets) {
  QueueMirror mirror;
  mirror.add(task(10, 1, 100));
  mirror.add(task(10, 2, 50));  // the same revision read again, changed
  ASSERT_EQ(mirror.size(), 1u);
  EXPECT_EQ(mirror.view(10).front().rid, 2);
  mirror.remove(10);
  EXPECT_TRUE(mirror.empty());
  EXPECT_TRUE(mirror.view(10).empty());
}

}  // namespace
}  // namespace skynet::daemon
