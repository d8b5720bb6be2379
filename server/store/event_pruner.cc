#include "store/event_pruner.h"

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_util.h"
#include "store/event_retention_repo.h"

namespace leadrelay::store {

EventPruner::EventPruner(Pool& pool, EventPrunerOptions options)
    : pool_(pool), options_(options), thread_([this] { Loop(); }) {}

EventPruner::~EventPruner() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

void EventPruner::Loop() {
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&stopping_), options_.interval);
      if (stopping_) return;
    }
    // Bounded, so one pass cannot run forever behind a steady inflow.
    for (int round = 0; round < 1000; ++round) {
      int pruned = 0;
      absl::Status status = pool_.Run([&](Connection& conn) -> absl::Status {
        LR_ASSIGN_OR_RETURN(pruned, PruneExpiredEvents(conn, options_.retention,
                                                       options_.batch));
        return absl::OkStatus();
      });
      if (!status.ok()) {
        LogWarning(absl::StrCat("event retention: ", status.message()));
      }
      if (!status.ok() || pruned == 0) break;
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
    }
  }
}

}  // namespace leadrelay::store
