#include "services/blocking_calls.h"

#include <algorithm>
#include <utility>

namespace leadrelay {
namespace {

// The pool whose thread this is, if any.
thread_local const BlockingCalls* current_pool = nullptr;

}  // namespace

BlockingCalls::BlockingCalls(int threads, int per_key)
    : per_key_(std::max(1, per_key)) {
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

void BlockingCalls::Post(uint64_t id, Task task) {
  absl::MutexLock lock(&mu_);
  Key& key = keys_[id];
  key.queued.push_back(std::move(task));
  MarkReady(id, key);
}

void BlockingCalls::Run(uint64_t id, Task task) {
  if (current_pool == this) return std::move(task)();
  Post(id, std::move(task));
}

void BlockingCalls::MarkReady(uint64_t id, Key& key) {
  if (!key.ready && !key.queued.empty() && key.running < per_key_) {
    key.ready = true;
    ready_.push_back(id);
  }
}

void BlockingCalls::Loop() {
  current_pool = this;
  for (;;) {
    uint64_t id;
    Task task;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || !ready_.empty();
      };
      mu_.Await(absl::Condition(&ready));
      if (ready_.empty()) return;  // stopping, nothing left
      id = ready_.front();
      ready_.pop_front();
      Key& key = keys_[id];
      key.ready = false;
      task = std::move(key.queued.front());
      key.queued.pop_front();
      ++key.running;
      MarkReady(id, key);  // another thread may take the next one
    }
    std::move(task)();
    absl::MutexLock lock(&mu_);
    Key& key = keys_[id];
    --key.running;
    MarkReady(id, key);
    if (key.running == 0 && key.queued.empty()) keys_.erase(id);
  }
}

}  // namespace leadrelay
