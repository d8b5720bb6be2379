#include "services/blocking_calls.h"

#include <algorithm>
#include <utility>

namespace leadrelay {
namespace {

// The pool whose thread this is, if any.
thread_local const BlockingCalls* current_pool = nullptr;

}  // namespace

BlockingCalls::BlockingCalls(int threads) {
  for (int i = 0; i < std::max(1, threads); ++i) {
    threads_.emplace_back([this] { Loop(); });
  }
}

BlockingCalls::~BlockingCalls() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (std::thread& t : threads_) t.join();
}

void BlockingCalls::Post(absl::AnyInvocable<void() &&> task) {
  absl::MutexLock lock(&mu_);
  queue_.push_back(std::move(task));
}

void BlockingCalls::Run(absl::AnyInvocable<void() &&> task) {
  if (current_pool == this) return std::move(task)();
  Post(std::move(task));
}

void BlockingCalls::Loop() {
  current_pool = this;
  for (;;) {
    absl::AnyInvocable<void() &&> task;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || !queue_.empty();
      };
      mu_.Await(absl::Condition(&ready));
      if (queue_.empty()) return;  // stopping, nothing left
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    std::move(task)();
  }
}

}  // namespace leadrelay
