// ReadCoalescer: concurrent reads share a batch, each caller gets its own
// outcome, a batch that fails as a whole is read key by key, one batch runs
// at a time, and a caller behind a read does not wait for it. The batch
// function stands in for the database; the coalescing is what is under test.
#include "store/read_coalescer.h"

#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace leadrelay::store {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAreArray;
using Reader = ReadCoalescer<std::string, std::string>;
using Batch = absl::StatusOr<std::vector<absl::StatusOr<std::string>>>;

// A fake store: records each batch and answers "value of <key>"; the first
// batch waits for `release` so that later callers queue behind it.
class FakeStore {
 public:
  Batch Read(const std::vector<std::string>& keys) {
    {
      absl::MutexLock lock(&mu_);
      batches_.push_back(keys);
      ++in_flight_;
      max_in_flight_ = std::max(max_in_flight_, in_flight_);
    }
    if (!first_started_.HasBeenNotified()) {
      first_started_.Notify();
      release_.WaitForNotification();
    }
    Batch out = Answer(keys);
    absl::MutexLock lock(&mu_);
    --in_flight_;
    return out;
  }

  // Keys starting with "bad" make the whole batch fail, as a value the
  // database refuses would; alone, such a key gets that failure.
  static Batch Answer(const std::vector<std::string>& keys) {
    std::vector<absl::StatusOr<std::string>> out;
    for (const std::string& k : keys) {
      if (k.rfind("bad", 0) == 0) {
        return absl::InvalidArgumentError("refused " + k);
      }
      if (k.rfind("missing", 0) == 0) {
        out.push_back(absl::NotFoundError(k));
      } else {
        out.push_back("value of " + k);
      }
    }
    return out;
  }

  void WaitForFirstBatch() { first_started_.WaitForNotification(); }
  void Release() { release_.Notify(); }

  std::vector<std::vector<std::string>> batches() {
    absl::MutexLock lock(&mu_);
    return batches_;
  }
  int max_in_flight() {
    absl::MutexLock lock(&mu_);
    return max_in_flight_;
  }

 private:
  absl::Notification first_started_, release_;
  absl::Mutex mu_;
  std::vector<std::vector<std::string>> batches_;
  int in_flight_ = 0, max_in_flight_ = 0;
};

Reader::ReadBatch ReadsOn(FakeStore& store) {
  return [&store](const std::vector<std::string>& keys) {
    return store.Read(keys);
  };
}

bool Always(const absl::Status&) { return true; }
bool Never(const absl::Status&) { return false; }

// Starts `keys.size()` callers of `reader` while the first batch (key
// "first") is held, waits until they are all queued, then releases it.
std::vector<absl::StatusOr<std::string>> GetWhileFirstBatchIsHeld(
    Reader& reader, FakeStore& store, const std::vector<std::string>& keys,
    absl::StatusOr<std::string>* first) {
  std::thread first_caller([&] { *first = reader.Get("first"); });
  store.WaitForFirstBatch();
  std::vector<absl::StatusOr<std::string>> got(
      keys.size(), absl::UnknownError("not called"));
  std::vector<std::thread> callers;
  for (size_t i = 0; i < keys.size(); ++i) {
    callers.emplace_back([&, i] { got[i] = reader.Get(keys[i]); });
  }
  // The first batch is held, so every caller stays queued until released.
  while (reader.Queued() < keys.size()) std::this_thread::yield();
  store.Release();
  first_caller.join();
  for (std::thread& t : callers) t.join();
  return got;
}

TEST(ReadCoalescerTest, CallersQueuedBehindABatchAreReadTogether) {
  FakeStore store;
  Reader reader(ReadsOn(store), Always);
  std::vector<std::string> keys;
  for (int i = 0; i < 10; ++i) keys.push_back("k" + std::to_string(i));
  absl::StatusOr<std::string> first;
  std::vector<absl::StatusOr<std::string>> got =
      GetWhileFirstBatchIsHeld(reader, store, keys, &first);

  EXPECT_EQ(first.value_or("error"), "value of first");
  for (size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(got[i].value_or("error"), "value of " + keys[i]);
  }
  std::vector<std::vector<std::string>> batches = store.batches();
  ASSERT_EQ(batches.size(), 2u) << "one batch for the ten queued callers";
  EXPECT_THAT(batches[0], ElementsAre("first"));
  EXPECT_THAT(batches[1], UnorderedElementsAreArray(keys));
  EXPECT_EQ(store.max_in_flight(), 1);
}

TEST(ReadCoalescerTest, EachCallerGetsItsOwnErrorInASharedBatch) {
  FakeStore store;
  Reader reader(ReadsOn(store), Always);
  absl::StatusOr<std::string> first;
  std::vector<absl::StatusOr<std::string>> got =
      GetWhileFirstBatchIsHeld(reader, store, {"a", "missing-b", "c"}, &first);
  EXPECT_EQ(got[0].value_or("error"), "value of a");
  EXPECT_TRUE(absl::IsNotFound(got[1].status())) << got[1].status();
  EXPECT_EQ(got[2].value_or("error"), "value of c");
  EXPECT_EQ(store.batches().size(), 2u);
}

TEST(ReadCoalescerTest, ABatchThatFailsAsAWholeIsReadKeyByKey) {
  FakeStore store;
  Reader reader(ReadsOn(store), Always);
  absl::StatusOr<std::string> first;
  std::vector<absl::StatusOr<std::string>> got =
      GetWhileFirstBatchIsHeld(reader, store, {"a", "bad-b", "c"}, &first);
  EXPECT_EQ(got[0].value_or("error"), "value of a");
  EXPECT_TRUE(absl::IsInvalidArgument(got[1].status())) << got[1].status();
  EXPECT_EQ(got[2].value_or("error"), "value of c");
  // The first batch, the shared one that failed, then one per key.
  EXPECT_EQ(store.batches().size(), 5u);
}

TEST(ReadCoalescerTest, AFailureNotWorthRetryingFailsTheWholeBatch) {
  FakeStore store;
  Reader reader(ReadsOn(store), Never);
  absl::StatusOr<std::string> first;
  std::vector<absl::StatusOr<std::string>> got =
      GetWhileFirstBatchIsHeld(reader, store, {"a", "bad-b", "c"}, &first);
  for (const auto& g : got) {
    EXPECT_TRUE(absl::IsInvalidArgument(g.status())) << g.status();
  }
  EXPECT_EQ(store.batches().size(), 2u);
}

TEST(ReadCoalescerTest, BatchesAreCutAtTheMaximumAndRunOneAtATime) {
  FakeStore store;
  Reader reader(ReadsOn(store), Always, {/*max_batch=*/4});
  std::vector<std::string> keys;
  for (int i = 0; i < 10; ++i) keys.push_back("k" + std::to_string(i));
  absl::StatusOr<std::string> first;
  std::vector<absl::StatusOr<std::string>> got =
      GetWhileFirstBatchIsHeld(reader, store, keys, &first);
  for (size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(got[i].value_or("error"), "value of " + keys[i]);
  }
  std::vector<size_t> sizes;
  for (const auto& b : store.batches()) sizes.push_back(b.size());
  EXPECT_THAT(sizes, ElementsAre(1, 4, 4, 2));
  EXPECT_EQ(store.max_in_flight(), 1);
}

TEST(ReadCoalescerTest, CallersOnlyQueueAndTheReadingThreadCompletesThem) {
  FakeStore store;
  Reader reader(ReadsOn(store), Always);
  absl::Notification first_completed, second_completed;
  absl::StatusOr<std::string> first = absl::UnknownError("not called");
  absl::StatusOr<std::string> second = absl::UnknownError("not called");
  std::thread::id first_on, second_on;
  reader.Read("first", [&](absl::StatusOr<std::string> outcome) {
    first = std::move(outcome);
    first_on = std::this_thread::get_id();
    first_completed.Notify();
  });
  // Read returned; the store holds the first batch on the reading thread.
  store.WaitForFirstBatch();
  reader.Read("k", [&](absl::StatusOr<std::string> outcome) {
    second = std::move(outcome);
    second_on = std::this_thread::get_id();
    second_completed.Notify();
  });
  EXPECT_FALSE(first_completed.HasBeenNotified());
  EXPECT_EQ(reader.Queued(), 1u);

  store.Release();
  first_completed.WaitForNotification();
  second_completed.WaitForNotification();
  EXPECT_EQ(first.value_or("error"), "value of first");
  EXPECT_EQ(second.value_or("error"), "value of k");
  EXPECT_NE(first_on, std::this_thread::get_id()) << "not on the caller";
  EXPECT_EQ(second_on, first_on) << "both on the reading thread";
}

TEST(ReadCoalescerTest, WhatIsQueuedIsStillReadWhenTheCoalescerStops) {
  FakeStore store;
  std::vector<absl::StatusOr<std::string>> got;
  {
    Reader reader(ReadsOn(store), Always);
    reader.Read("first", [&](absl::StatusOr<std::string> o) {
      got.push_back(std::move(o));
    });
    store.WaitForFirstBatch();
    reader.Read("k", [&](absl::StatusOr<std::string> o) {
      got.push_back(std::move(o));
    });
    store.Release();
  }  // the destructor waits for both
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].value_or("error"), "value of first");
  EXPECT_EQ(got[1].value_or("error"), "value of k");
}

}  // namespace
}  // namespace leadrelay::store
