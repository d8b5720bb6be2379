#include "common/task_threads.h"

#include <algorithm>
#include <utility>

namespace leadrelay {

TaskThreads::TaskThreads(int threads) {
  for (int i = 0; i < std::max(1, threads); ++i) {
    threads_.emplace_back([this] { Loop(); });
  }
}

TaskThreads::~TaskThreads() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (std::thread& t : threads_) t.join();
}

void TaskThreads::Post(Task task) {
  absl::MutexLock lock(&mu_);
  queued_.push_back(std::move(task));
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
