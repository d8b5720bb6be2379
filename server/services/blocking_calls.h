// Threads for the parts of callback-API calls that wait on PostgreSQL
// (authorizing a key with a rate limit or not yet cached, a platform
// identity, a monthly quota). gRPC runs callback handlers on a few threads
// of its own; one of them waiting on a lock in the database stalled every
// call of every account on that server. Handlers post such work here
// instead. Fewer threads than database connections, so that work stuck in
// the database cannot hold every connection either.
#ifndef LEADRELAY_SERVER_SERVICES_BLOCKING_CALLS_H_
#define LEADRELAY_SERVER_SERVICES_BLOCKING_CALLS_H_

#include <deque>
#include <thread>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"

namespace leadrelay {

class BlockingCalls {
 public:
  explicit BlockingCalls(int threads);
  // Runs what is queued, then joins: a posted call always finishes.
  ~BlockingCalls();
  BlockingCalls(const BlockingCalls&) = delete;
  BlockingCalls& operator=(const BlockingCalls&) = delete;

  // Runs `task` on one of the threads, in the order posted.
  void Post(absl::AnyInvocable<void() &&> task);
  // Runs `task` now when called from one of the threads, else posts it.
  void Run(absl::AnyInvocable<void() &&> task);

 private:
  void Loop();

  absl::Mutex mu_;
  std::deque<absl::AnyInvocable<void() &&>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace leadrelay

#endif  // LEADRELAY_SERVER_SERVICES_BLOCKING_CALLS_H_
