// Threads for the parts of callback-API calls that wait on PostgreSQL
// (authorizing a key with a rate limit or not yet cached, a platform
// identity, a monthly quota, a stream's start position). gRPC runs
// callback handlers on a few threads of its own; one of them waiting on a
// lock in the database stalled every call of every account on that server.
// Handlers post such work here instead, under the credential it is for: at
// most `per_key` tasks of one credential run at once, so calls stuck behind
// one key's lock leave the other threads to everyone else. Fewer threads
// than database connections, so that stuck work cannot hold every
// connection either.
#ifndef LEADRELAY_SERVER_SERVICES_BLOCKING_CALLS_H_
#define LEADRELAY_SERVER_SERVICES_BLOCKING_CALLS_H_

#include <cstdint>
#include <deque>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"

namespace leadrelay {

class BlockingCalls {
 public:
  using Task = absl::AnyInvocable<void() &&>;

  BlockingCalls(int threads, int per_key);
  // Runs what is queued, then joins: a posted call always finishes.
  ~BlockingCalls();
  BlockingCalls(const BlockingCalls&) = delete;
  BlockingCalls& operator=(const BlockingCalls&) = delete;

  // Runs `task` on one of the threads; the tasks of one key in the order
  // posted, keys taking turns.
  void Post(uint64_t key, Task task);
  // Runs `task` now when called from one of the threads, else posts it.
  void Run(uint64_t key, Task task);

 private:
  struct Key {
    std::deque<Task> queued;
    int running = 0;
    bool ready = false;  // in ready_
  };

  void MarkReady(uint64_t id, Key& key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Loop();

  const int per_key_;
  absl::Mutex mu_;
  absl::flat_hash_map<uint64_t, Key> keys_ ABSL_GUARDED_BY(mu_);
  std::deque<uint64_t> ready_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace leadrelay

#endif  // LEADRELAY_SERVER_SERVICES_BLOCKING_CALLS_H_
