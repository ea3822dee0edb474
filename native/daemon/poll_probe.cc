#include "daemon/poll_probe.h"

#include "aegir/php_value.h"
#include "aegir/task_queue.h"

namespace skynet::daemon {

PollProbe readPollProbe(db::Connection& db, std::int64_t now, bool withProcessingSites) {
  const std::string sql =
      "SELECT (SELECT value FROM {variable} WHERE name = 'hosting_skynet_paused'),"
      " (SELECT COALESCE(MAX(vid), 0) FROM {node_revision}),"
      " (SELECT MIN(schedule) FROM {skynet_run} WHERE kind = 'job' AND state = 'scheduled'),"
      " (SELECT MIN(cron_next) FROM {skynet_application} WHERE cron IS NOT NULL)";
  const auto row = withProcessingSites
                       ? db.queryOne(sql + ", (" + aegir::TaskQueue::kProcessingSitesSubquery + ")",
                                     {aegir::TaskQueue::processingSince(now)})
                       : db.queryOne(sql);
  PollProbe probe;
  probe.paused = row->isNull(0) ? std::optional<bool>(false) : aegir::serializedTruth(row->text(0));
  probe.maxVid = row->integer(1);
  if (!row->isNull(2)) probe.nextJob = row->real(2);
  if (!row->isNull(3)) probe.nextCron = row->real(3);
  if (withProcessingSites) probe.processingSites = aegir::TaskQueue::sitesFrom(row->text(4));
  return probe;
}

}  // namespace skynet::daemon
