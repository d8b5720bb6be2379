// A few threads running posted tasks, oldest first. LeadBatcher finishes
// the calls of a written batch here rather than on its writer: finishing a
// call costs ~40 us, mostly gRPC's send, and 16 of them held the account's
// next batch back by ~0.5 ms of a ~4 ms cycle. (Coalesced reads finish on
// their reading thread: there the extra wake-up per call cost more than it
// freed, 0.93-0.97x GetLeads/s.)
#ifndef LEADRELAY_SERVER_COMMON_TASK_THREADS_H_
#define LEADRELAY_SERVER_COMMON_TASK_THREADS_H_

#include <deque>
#include <thread>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"

namespace leadrelay {

class TaskThreads {
 public:
  using Task = absl::AnyInvocable<void() &&>;

  explicit TaskThreads(int threads);
  // Stops (below).
  ~TaskThreads();
  TaskThreads(const TaskThreads&) = delete;
  TaskThreads& operator=(const TaskThreads&) = delete;

  // Runs `task` on one of the threads, unless they have stopped.
  void Post(Task task);
  // Runs what is queued, then joins the threads: a task posted before
  // always runs; one posted after is dropped.
  void Stop();

 private:
  void Loop();

  absl::Mutex mu_;
  std::deque<Task> queued_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;  // drain, then end
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;   // joined: drop new tasks
  absl::Mutex join_mu_;
  // Last: started once the rest is ready.
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(join_mu_);
};

}  // namespace leadrelay

#endif  // LEADRELAY_SERVER_COMMON_TASK_THREADS_H_
