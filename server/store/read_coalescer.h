// Coalesced point reads. On this kind of read a round trip and a backend
// wake-up cost PostgreSQL more than the read itself, so concurrent reads of
// one kind (GetLead, GetMe; any accounts) are answered by one statement,
// each caller still getting its own outcome.
//
// No thread of its own, so an idle server adds no delay: a caller that finds
// no read in flight reads its own key and whatever is queued by then;
// callers arriving meanwhile queue. When a read ends, each of its callers is
// woken alone with its outcome, and the oldest queued caller is handed the
// turn to read the next batch.
#ifndef LEADRELAY_SERVER_STORE_READ_COALESCER_H_
#define LEADRELAY_SERVER_STORE_READ_COALESCER_H_

#include <algorithm>
#include <deque>
#include <functional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"

namespace leadrelay::store {

struct ReadCoalescerOptions {
  int max_batch = 64;  // keys per statement
  // Statements in flight at once. With one, the next batch grows while
  // this one runs: on the 2-core box GetLead/s at 32 callers was
  // 6048/5702/8358 with one against 4461/5875/7607 with two (alternating
  // runs on one cluster), and the p99 lower.
  int max_readers = 1;
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

  ReadCoalescer(ReadBatch read, Retryable retry_alone,
                ReadCoalescerOptions options = {})
      : read_(std::move(read)),
        retry_alone_(std::move(retry_alone)),
        options_(options) {}
  ReadCoalescer(const ReadCoalescer&) = delete;
  ReadCoalescer& operator=(const ReadCoalescer&) = delete;

  // The outcome for `key`; blocks until its batch has been read.
  absl::StatusOr<Value> Get(Key key) {
    Request self{std::move(key)};
    bool lead;
    {
      absl::MutexLock lock(&mu_);
      lead = readers_ < options_.max_readers;
      if (lead) {
        ++readers_;
      } else {
        queued_.push_back(&self);
      }
    }
    // A queued caller is woken alone, by its own notification: either its
    // key was read, or it is handed the reader's turn (no herd on mu_).
    if (!lead && self.AwaitTurn() == kDone) return std::move(self.result);

    // This caller reads its own key and the oldest queued ones.
    std::vector<Request*> batch{&self};
    {
      absl::MutexLock lock(&mu_);
      const size_t n =
          std::min(queued_.size(), static_cast<size_t>(options_.max_batch - 1));
      batch.insert(batch.end(), queued_.begin(), queued_.begin() + n);
      queued_.erase(queued_.begin(), queued_.begin() + n);
    }
    Read(batch);
    for (size_t i = 1; i < batch.size(); ++i) batch[i]->SetTurn(kDone);
    // The turn passes to the oldest queued caller, if any.
    Request* next = nullptr;
    {
      absl::MutexLock lock(&mu_);
      if (queued_.empty()) {
        --readers_;
      } else {
        next = queued_.front();
        queued_.pop_front();
      }
    }
    if (next != nullptr) next->SetTurn(kLead);
    return std::move(self.result);
  }

  // Callers waiting for a batch to take their key.
  size_t Queued() {
    absl::MutexLock lock(&mu_);
    return queued_.size();
  }

 private:
  enum Turn { kQueued, kDone, kLead };

  struct Request {
    explicit Request(Key k) : key(std::move(k)) {}

    // `turn` is written once, before `ready` is notified.
    void SetTurn(Turn t) {
      turn = t;
      ready.Notify();
    }
    Turn AwaitTurn() {
      ready.WaitForNotification();
      return turn;
    }

    Key key;
    absl::StatusOr<Value> result = absl::UnknownError("not read");
    Turn turn = kQueued;
    absl::Notification ready;
  };

  // Reads `batch` and sets each request's result (not its turn).
  void Read(const std::vector<Request*>& batch) {
    std::vector<Key> keys;
    keys.reserve(batch.size());
    for (const Request* r : batch) keys.push_back(r->key);
    absl::StatusOr<std::vector<absl::StatusOr<Value>>> read = read_(keys);
    if (read.ok() && read->size() == batch.size()) {
      for (size_t i = 0; i < batch.size(); ++i) {
        batch[i]->result = std::move((*read)[i]);
      }
      return;
    }
    absl::Status status =
        read.ok() ? absl::InternalError("a batch read lost track of its keys")
                  : read.status();
    // A statement of several keys that failed as a whole: read each alone,
    // so that one key the database refuses cannot fail the others.
    if (batch.size() == 1 || !retry_alone_(status)) {
      for (Request* r : batch) r->result = status;
      return;
    }
    for (Request* r : batch) Read({r});
  }

  const ReadBatch read_;
  const Retryable retry_alone_;
  const ReadCoalescerOptions options_;
  absl::Mutex mu_;
  std::deque<Request*> queued_ ABSL_GUARDED_BY(mu_);
  int readers_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace leadrelay::store

#endif  // LEADRELAY_SERVER_STORE_READ_COALESCER_H_
