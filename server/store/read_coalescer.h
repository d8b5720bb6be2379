// Coalesced point reads. On this kind of read a round trip and a backend
// wake-up cost PostgreSQL more than the read itself, so concurrent reads of
// one kind (GetLead, GetMe; any accounts) are answered by one statement,
// each caller still getting its own outcome.
//
// No thread of its own, so an idle server adds no delay, and no caller
// blocks on another: a caller that finds no read in flight reads its own key
// and whatever is queued by then, then keeps reading what queued meanwhile
// until the queue is empty; callers arriving while a read is in flight only
// queue their key and a completion. The completions run on the reading
// thread (the gRPC handlers finish their reactors there), so a callback
// handler never waits for another call's read.
#ifndef LEADRELAY_SERVER_STORE_READ_COALESCER_H_
#define LEADRELAY_SERVER_STORE_READ_COALESCER_H_

#include <algorithm>
#include <deque>
#include <functional>
#include <iterator>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"

namespace leadrelay::store {

struct ReadCoalescerOptions {
  // Keys per statement. One statement is in flight at a time, so the next
  // batch grows while this one runs: on the 2-core box GetLead/s at 32
  // callers was 6048/5702/8358 with one against 4461/5875/7607 with two
  // (alternating runs on one cluster), and the p99 lower.
  int max_batch = 64;
};

template <typename Key, typename Value>
class ReadCoalescer {
 public:
  // Reads every key of a batch: one outcome per key, in order. A failed
  // outer status means nothing was read.
  using ReadBatch =
      std::function<absl::StatusOr<std::vector<absl::StatusOr<Value>>>(
          const std::vector<Key>&)>;
  // Whether a failed batch is worth reading key by key (false for a lost
  // database connection, which would fail each key alike).
  using Retryable = std::function<bool(const absl::Status&)>;
  // Receives one key's outcome, exactly once.
  using Done = absl::AnyInvocable<void(absl::StatusOr<Value>) &&>;

  ReadCoalescer(ReadBatch read, Retryable retry_alone,
                ReadCoalescerOptions options = {})
      : read_(std::move(read)),
        retry_alone_(std::move(retry_alone)),
        options_(options) {}
  ReadCoalescer(const ReadCoalescer&) = delete;
  ReadCoalescer& operator=(const ReadCoalescer&) = delete;

  // Reads `key` and gives its outcome to `done`: on this thread before
  // returning if no read was in flight (this thread then also reads for the
  // callers queued meanwhile), else on the reading thread, later.
  void Read(Key key, Done done) {
    {
      absl::MutexLock lock(&mu_);
      queued_.push_back({std::move(key), std::move(done)});
      if (reading_) return;
      reading_ = true;
    }
    for (;;) {
      std::vector<Request> batch;
      {
        absl::MutexLock lock(&mu_);
        if (queued_.empty()) {
          reading_ = false;
          return;
        }
        const size_t n =
            std::min(queued_.size(), static_cast<size_t>(options_.max_batch));
        batch.assign(std::make_move_iterator(queued_.begin()),
                     std::make_move_iterator(queued_.begin() + n));
        queued_.erase(queued_.begin(), queued_.begin() + n);
      }
      std::vector<absl::StatusOr<Value>> outcomes = ReadAll(batch);
      for (size_t i = 0; i < batch.size(); ++i) {
        std::move(batch[i].done)(std::move(outcomes[i]));
      }
    }
  }

  // The outcome for `key`; blocks until it has been read.
  absl::StatusOr<Value> Get(Key key) {
    absl::StatusOr<Value> outcome = absl::UnknownError("not read");
    absl::Notification ready;
    Read(std::move(key), [&](absl::StatusOr<Value> read) {
      outcome = std::move(read);
      ready.Notify();
    });
    ready.WaitForNotification();
    return outcome;
  }

  // Keys waiting for a batch to take them.
  size_t Queued() {
    absl::MutexLock lock(&mu_);
    return queued_.size();
  }

 private:
  struct Request {
    Key key;
    Done done;
  };

  // One outcome per request of `batch`, in order.
  std::vector<absl::StatusOr<Value>> ReadAll(
      const std::vector<Request>& batch) {
    std::vector<Key> keys;
    keys.reserve(batch.size());
    for (const Request& r : batch) keys.push_back(r.key);
    return ReadKeys(keys);
  }

  std::vector<absl::StatusOr<Value>> ReadKeys(const std::vector<Key>& keys) {
    absl::StatusOr<std::vector<absl::StatusOr<Value>>> read = read_(keys);
    if (read.ok() && read->size() == keys.size()) return *std::move(read);
    absl::Status status =
        read.ok() ? absl::InternalError("a batch read lost track of its keys")
                  : read.status();
    // A statement of several keys that failed as a whole: read each alone,
    // so that one key the database refuses cannot fail the others.
    if (keys.size() == 1 || !retry_alone_(status)) {
      return std::vector<absl::StatusOr<Value>>(keys.size(), status);
    }
    std::vector<absl::StatusOr<Value>> out;
    out.reserve(keys.size());
    for (const Key& k : keys) out.push_back(std::move(ReadKeys({k})[0]));
    return out;
  }

  const ReadBatch read_;
  const Retryable retry_alone_;
  const ReadCoalescerOptions options_;
  absl::Mutex mu_;
  std::deque<Request> queued_ ABSL_GUARDED_BY(mu_);
  bool reading_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace leadrelay::store

#endif  // LEADRELAY_SERVER_STORE_READ_COALESCER_H_
