// What one poll asks the database first, in one statement: whether the queue is paused and the
// highest revision (where new tasks would be); when asked, when the next lackey job and cron
// slot are due and the sites other runners are processing. The poll reads more only where this
// says something changed (daemon/dispatcher.h), so an idle daemon costs the database one cheap
// statement per poll interval. Each subquery costs MariaDB about as much as a statement of its
// own, so the dispatcher asks for the parts it needs: the busy sites only when the queue holds
// tasks, the schedules after a wake-up, a change of its own and every few seconds; other
// daemons are counted by the recovery pass, which reads the workers anyway.
//
// Threading: a plain function of the connection it is given.
#pragma once

#include <cstdint>
#include <optional>
#include <set>

#include "db/connection.h"

namespace skynet::daemon {

struct PollProbe {
  // hosting_skynet_paused: false when absent, nullopt when not a serialized scalar.
  std::optional<bool> paused;
  // The highest revision of any node (0: none). Every new task revision takes its vid from
  // node_revision's AUTO_INCREMENT, so it is above this; read from node_revision rather than
  // hosting_task, so a stray hosting_task row with a far higher vid cannot raise it (and with it
  // the mirror's read window, which would hide new tasks until the audit came by).
  std::int64_t maxVid = 0;
  // The earliest schedule of a scheduled job and cron slot of an application; nullopt also
  // when ProbeParts::schedules was not asked for.
  std::optional<double> nextJob;
  std::optional<double> nextCron;
  // aegir::TaskQueue::kProcessingSitesSubquery, our own runs' among them; nullopt unless read.
  std::optional<std::set<std::int64_t>> processingSites;
};

// The optional parts of a probe.
struct ProbeParts {
  bool schedules = true;
  bool processingSites = true;
};

PollProbe readPollProbe(db::Connection& db, std::int64_t now, ProbeParts parts = {});

}  // namespace skynet::daemon
