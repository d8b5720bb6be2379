#include "common/task_threads.h"

#include <algorithm>
#include <utility>

namespace leadrelay {

TaskThreads::TaskThreads(int threads) {
  absl::MutexLock lock(&join_mu_);
  for (int i = 0; i < std::max(1, threads); ++i) {
    threads_.emplace_back([this] { Loop(); });
  }
}

TaskThreads::~TaskThreads() { Stop(); }

void TaskThreads::Post(Task task) {
  absl::MutexLock lock(&mu_);
  if (stopped_) return;
  queued_.push_back(std::move(task));
}

void TaskThreads::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  // Joined by the first caller; a second one returns at once.
  std::vector<std::thread> threads;
  {
    absl::MutexLock lock(&join_mu_);
    threads.swap(threads_);
  }
  for (std::thread& t : threads) t.join();
  absl::MutexLock lock(&mu_);
  stopped_ = true;
}

void TaskThreads::Loop() {
  for (;;) {
    Task task;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || !queued_.empty();
      };
      mu_.Await(absl::Condition(&ready));
      if (queued_.empty()) return;  // stopping, nothing left
      task = std::move(queued_.front());
      queued_.pop_front();
    }
    std::move(task)();
  }
}

}  // namespace leadrelay
