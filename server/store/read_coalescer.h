// Coalesced point reads. On this kind of read a round trip and a backend
// wake-up cost PostgreSQL more than the read itself, so concurrent reads of
// one kind (GetLead, GetMe; any accounts) are answered by one statement,
// each caller still getting its own outcome.
//
// No timer: the coalescer's reading thread reads whatever is queued as soon
// as the previous read ends, so an idle server adds only a thread wake-up.
// Callers only queue their key and a completion, which the reading thread
// runs (the gRPC callback handlers finish their calls there): no caller
// blocks, and no gRPC thread does database work for other calls. (When the
// first caller read inline and kept reading for those queued meanwhile, the
// calls that gRPC had queued on its thread waited for it: CreateLead's max
// latency rose from ~120 ms to 1-3 s.)
#ifndef LEADRELAY_SERVER_STORE_READ_COALESCER_H_
#define LEADRELAY_SERVER_STORE_READ_COALESCER_H_

#include <algorithm>
#include <deque>
#include <functional>
#include <iterator>
#include <thread>
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
        options_(options),
        reader_([this] { ReadLoop(); }) {}
  ReadCoalescer(const ReadCoalescer&) = delete;
  ReadCoalescer& operator=(const ReadCoalescer&) = delete;
  // Reads what is still queued, then stops.
  ~ReadCoalescer() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    reader_.join();
  }

  // Queues `key`; `done` gets its outcome on the reading thread.
  void Read(Key key, Done done) {
    absl::MutexLock lock(&mu_);
    queued_.push_back({std::move(key), std::move(done)});
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

  void ReadLoop() {
    for (;;) {
      std::vector<Request> batch;
      {
        absl::MutexLock lock(&mu_);
        auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return stopping_ || !queued_.empty();
        };
        mu_.Await(absl::Condition(&ready));
        if (queued_.empty()) return;  // stopping, nothing left
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
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread reader_;  // last: started once the rest is ready
};

}  // namespace leadrelay::store

#endif  // LEADRELAY_SERVER_STORE_READ_COALESCER_H_
