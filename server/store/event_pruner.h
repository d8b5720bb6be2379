// Runs event retention (PruneExpiredEvents) in the background: every
// `interval`, batches until nothing is left, like the delivery pruner.
#ifndef LEADRELAY_SERVER_STORE_EVENT_PRUNER_H_
#define LEADRELAY_SERVER_STORE_EVENT_PRUNER_H_

#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "store/pg.h"

namespace leadrelay::store {

struct EventPrunerOptions {
  // Of accounts whose plan sets none; zero keeps events forever.
  absl::Duration retention = absl::Hours(24 * 30);
  absl::Duration interval = absl::Minutes(10);
  int batch = 500;
};

class EventPruner {
 public:
  // Starts the background thread.
  EventPruner(Pool& pool, EventPrunerOptions options);
  // Stops it (a batch in progress finishes first).
  ~EventPruner();
  EventPruner(const EventPruner&) = delete;
  EventPruner& operator=(const EventPruner&) = delete;

 private:
  void Loop();

  Pool& pool_;
  const EventPrunerOptions options_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace leadrelay::store

#endif  // LEADRELAY_SERVER_STORE_EVENT_PRUNER_H_
