// The daemon's copy of Aegir's queue (the current revisions at task_status 0), kept between polls
// so that a poll reads only what is new: its cost stays flat in the depth of the queue and in the
// size of the history, where re-reading the queue sorted every queued row and, on a big site,
// half a million revisions left behind at status 0 by the tasks that ran.
//
// What keeps the copy true:
// - New revisions: a newly queued task always gets a vid above every existing one, so a poll
//   reads the queued revisions above the highest vid it saw (`readFrom`), less a lag: one above
//   the highest vid the probe saw at least kLagSeconds ago, so a node_save() transaction that took
//   its vid before a poll and commits after it is still found by the next ones. Such a read
//   examines every revision of the last kLagSeconds still at status 0 (the claimed revisions
//   Skynet returned to 0 are among them: one per task run), so it is made at most every
//   kLaggedReadEvery; the polls in between (wake-ups, a short poll interval) read only above
//   what was seen. A late commit is then found within kLaggedReadEvery of it.
// - Claims: a task claimed (by us, or by anyone when our claim affects no row) leaves the copy.
//   A task that someone else took or cancelled stays until our claim of it affects no row; that
//   costs one statement, never a wrong start; and every poll checks that the first tasks in
//   queue order are still queued, as an exclusive task there holds back everything behind it.
// - Skynet's own hand-backs (a task hosting-task never took) are read again by vid.
// - Everything else (an administrator setting an old revision back to 0 by hand, a transaction
//   slower than the lag) is found by the audit: every kAuditEverySeconds a poll re-reads one
//   chunk of kAuditChunk vids below the read window, from the top down (right after a start, the
//   chunks just below the first read come first), wrapping around; a chunk's reading is the
//   truth for its range. A hostmaster with 50,000 revisions is walked in under a minute, one
//   with a million in 17 minutes. A walk starts again from the top no sooner than
//   kAuditCycleInPolls poll intervals after the last one started: a small history is not
//   re-read every kAuditEverySeconds (on the benchmark's idle database, a tenth of what the
//   daemon's connection cost the server). A chunk whose reading found nothing queued is
//   remembered with the digest of its revisions at status 0 (aegir::VidDigest); the next walk
//   reads its lists again only when that digest changed (a revision set back to 0, a late
//   commit, a task queued or taken there), else it costs one aggregate, a third to half of
//   what the lists cost. What the digest does not see is a node's current revision moved by hand to an older
//   revision already at 0: Drupal never does that (a revert saves a new revision).
// - At most kCapacity tasks are held (memory stays bounded under a huge backlog): beyond it the
//   read window stops advancing until room frees, so nothing is lost, only read later.
//
// Pure and single-threaded: owned by the database thread (daemon/dispatcher.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <utility>
#include <vector>

#include "aegir/task_queue.h"

namespace skynet::daemon {

class QueueMirror {
 public:
  static constexpr double kLagSeconds = 10;
  static constexpr double kLaggedReadEvery = 1;
  static constexpr std::int64_t kAuditChunk = 5000;
  static constexpr double kAuditEverySeconds = 5;
  static constexpr double kAuditCycleInPolls = 60;
  static constexpr std::size_t kCapacity = 5000;

  // A read of new revisions: vid > from, in vid order, at most limit rows (0: no read, the copy
  // is full).
  struct Read {
    std::int64_t from = 0;
    std::size_t limit = 0;
  };
  // Before the read: `maxVid` is the highest vid in node_revision, probed just now. The read
  // starts below the lag when the last such read was kLaggedReadEvery or more before `now`, else
  // above what was read. No read (limit 0) when the copy is full or nothing lies above its start.
  Read nextRead(double now, std::int64_t maxVid);
  // The rows the read returned (vid order).
  void applyRead(const Read& read, const std::vector<aegir::QueuedTask>& rows);

  // The vid range [first, second) the audit re-reads this poll; empty when there is no history,
  // the last audit was less than kAuditEverySeconds before `now`, or a walk would start again
  // from the top less than `cycleAtLeast` seconds (kAuditCycleInPolls poll intervals) after the
  // last one started.
  std::pair<std::int64_t, std::int64_t> auditRange(double now, double cycleAtLeast) const;
  // The digest a chunk's last reading found (its revisions at status 0) if nothing was queued
  // there; nullopt when it was not read yet or held queued tasks.
  std::optional<aegir::VidDigest> quietDigest(std::pair<std::int64_t, std::int64_t> range) const;
  // Every queued current revision of that range, as read after the new revisions, and the digest
  // of the range's revisions at status 0 that reading saw.
  void applyAudit(double now, std::pair<std::int64_t, std::int64_t> range, const std::vector<aegir::QueuedTask>& rows,
                  const aegir::VidDigest& atZero);
  // The range's digest still equals quietDigest(range): nothing there to read again.
  void auditUnchanged(double now, std::pair<std::int64_t, std::int64_t> range);

  void add(const aegir::QueuedTask& task);  // also replaces a known vid
  void remove(std::int64_t vid);
  bool contains(std::int64_t vid) const { return byVid_.count(vid) > 0; }
  std::size_t size() const { return byVid_.size(); }
  bool empty() const { return byVid_.empty(); }
  // Forget everything and read from vid 0 again (another database, a start).
  void reset() { *this = QueueMirror(); }

  // The vids of the first `count` tasks in queue order: what the poll checks are still queued,
  // since a stale task there (run by another daemon meanwhile) could hold back the rest.
  std::vector<std::int64_t> head(std::size_t count) const;
  // What the scheduling policy is shown: the `oldest` first in queue order (changed, nid) and the
  // first of every site, in queue order.
  std::vector<aegir::QueuedTask> view(std::size_t oldest) const;

 private:
  using Key = std::tuple<std::int64_t, std::int64_t, std::int64_t>;  // changed, nid, vid
  static Key keyOf(const aegir::QueuedTask& task) { return {task.changed, task.nid, task.vid}; }

  std::map<std::int64_t, aegir::QueuedTask> byVid_;
  std::set<Key> order_;
  std::map<std::int64_t, std::set<Key>> bySite_;
  std::int64_t readTo_ = 0;  // every queued revision at or below it was read (less the lag)
  std::deque<std::pair<double, std::int64_t>> maxima_;  // (when, probed maxVid), oldest first
  std::int64_t lagFloor_ = 0;                           // the last lagged read's start
  double lastLaggedRead_ = -1e18;
  std::int64_t pendingMax_ = 0;                         // the last read's probed maxVid
  // Whether the next chunk starts a walk from the top.
  bool auditStartsAWalk() const { return auditTop_ < 1 || auditTop_ > lagFloor_ + 1; }
  void passAudit(double now, std::pair<std::int64_t, std::int64_t> range);  // the walk moves on past it
  std::int64_t auditTop_ = -1;                          // the next chunk ends here; -1: not started
  // Chunks whose last reading found nothing queued: first vid -> (end, digest at status 0 then).
  std::map<std::int64_t, std::pair<std::int64_t, aegir::VidDigest>> quietChunks_;
  double lastAudit_ = -1e18;
  double lastWalkStart_ = -1e18;
};

}  // namespace skynet::daemon
