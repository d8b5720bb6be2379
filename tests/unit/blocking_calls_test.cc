// The threads callback-API handlers hand database waits to: a key's tasks
// run in the order posted, one key's stuck tasks leave the other threads to
// other keys, a task on one of the threads runs nested work at once, and
// what is queued when the pool goes still runs (a posted call always
// finishes).
#include "services/blocking_calls.h"

#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace leadrelay {
namespace {

using ::testing::ElementsAre;

TEST(BlockingCallsTest, AKeysTasksRunInTheOrderPostedAndAllRunBeforeItGoes) {
  absl::Mutex mu;
  std::vector<int> order;
  absl::Notification release;
  {
    BlockingCalls calls(/*threads=*/3, /*per_key=*/1);
    calls.Post(7, [&] { release.WaitForNotification(); });
    for (int i = 0; i < 5; ++i) {
      calls.Post(7, [&, i] {
        absl::MutexLock lock(&mu);
        order.push_back(i);
      });
    }
    release.Notify();
  }  // the destructor runs what is queued
  EXPECT_THAT(order, ElementsAre(0, 1, 2, 3, 4));
}

TEST(BlockingCallsTest, AStuckKeyLeavesTheOtherThreadsToOtherKeys) {
  BlockingCalls calls(/*threads=*/2, /*per_key=*/1);
  absl::Notification unstick, other_ran;
  // Key 1 posts more than there are threads; its first task is stuck.
  for (int i = 0; i < 3; ++i) {
    calls.Post(1, [&] { unstick.WaitForNotification(); });
  }
  calls.Post(2, [&] { other_ran.Notify(); });
  other_ran.WaitForNotification();  // would hang if key 1 took both threads
  unstick.Notify();
}

TEST(BlockingCallsTest, AKeyMayRunAsManyTasksAtOnceAsAllowed) {
  BlockingCalls calls(/*threads=*/3, /*per_key=*/2);
  absl::Notification first_started, second_started, release;
  calls.Post(1, [&] {
    first_started.Notify();
    release.WaitForNotification();
  });
  calls.Post(1, [&] {
    second_started.Notify();
    release.WaitForNotification();
  });
  first_started.WaitForNotification();
  second_started.WaitForNotification();  // both at once
  release.Notify();
}

TEST(BlockingCallsTest, RunFromOneOfItsThreadsRunsAtOnce) {
  BlockingCalls calls(/*threads=*/1, /*per_key=*/1);
  absl::Notification done;
  std::thread::id outer, inner;
  calls.Post(1, [&] {
    outer = std::this_thread::get_id();
    // With one thread and one task per key, a posted task could not start
    // before this one ends.
    bool ran_now = false;
    calls.Run(1, [&] {
      inner = std::this_thread::get_id();
      ran_now = true;
    });
    EXPECT_TRUE(ran_now);
    done.Notify();
  });
  done.WaitForNotification();
  EXPECT_EQ(inner, outer);
}

TEST(BlockingCallsTest, RunFromAnotherThreadPosts) {
  BlockingCalls calls(/*threads=*/2, /*per_key=*/1);
  absl::Notification done;
  std::thread::id ran_on;
  calls.Run(1, [&] {
    ran_on = std::this_thread::get_id();
    done.Notify();
  });
  done.WaitForNotification();
  EXPECT_NE(ran_on, std::this_thread::get_id());
}

}  // namespace
}  // namespace leadrelay
