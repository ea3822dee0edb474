#include "daemon/poll_probe.h"

#include "aegir/php_value.h"
#include "aegir/task_queue.h"

namespace skynet::daemon {

PollProbe readPollProbe(db::Connection& db, std::int64_t now, ProbeParts parts) {
  std::string sql =
      "SELECT (SELECT value FROM {variable} WHERE name = 'hosting_skynet_paused'),"
      " (SELECT COALESCE(MAX(vid), 0) FROM {node_revision})";
  if (parts.schedules) {
    sql += ", (SELECT MIN(schedule) FROM {skynet_run} WHERE kind = 'job' AND state = 'scheduled'),"
           " (SELECT MIN(cron_next) FROM {skynet_application} WHERE cron IS NOT NULL)";
  }
  std::vector<db::Value> params;
  if (parts.processingSites) {
    sql += std::string(", (") + aegir::TaskQueue::kProcessingSitesSubquery + ")";
    params.emplace_back(aegir::TaskQueue::processingSince(now));
  }
  const auto row = db.queryOne(sql, params);
  PollProbe probe;
  probe.paused = row->isNull(0) ? std::optional<bool>(false) : aegir::serializedTruth(row->text(0));
  probe.maxVid = row->integer(1);
  std::size_t column = 2;
  if (parts.schedules) {
    if (!row->isNull(column)) probe.nextJob = row->real(column);
    if (!row->isNull(column + 1)) probe.nextCron = row->real(column + 1);
    column += 2;
  }
  if (parts.processingSites) probe.processingSites = aegir::TaskQueue::sitesFrom(row->text(column));
  return probe;
}

}  // namespace skynet::daemon
