// The threads callback-API handlers hand database waits to: tasks run in
// the order posted, a task on one of the threads runs nested work at once,
// and what is queued when the pool goes still runs (a posted call always
// finishes).
#include "services/blocking_calls.h"

#include <memory>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace leadrelay {
namespace {

using ::testing::ElementsAre;

TEST(BlockingCallsTest, OneThreadRunsTasksInTheOrderPosted) {
  absl::Mutex mu;
  std::vector<int> order;
  absl::Notification release;
  {
    BlockingCalls calls(1);
    calls.Post([&] { release.WaitForNotification(); });
    for (int i = 0; i < 5; ++i) {
      calls.Post([&, i] {
        absl::MutexLock lock(&mu);
        order.push_back(i);
      });
    }
    release.Notify();
  }  // the destructor runs what is queued
  EXPECT_THAT(order, ElementsAre(0, 1, 2, 3, 4));
}

TEST(BlockingCallsTest, RunFromOneOfItsThreadsRunsAtOnce) {
  BlockingCalls calls(1);
  absl::Notification done;
  std::thread::id outer, inner;
  calls.Post([&] {
    outer = std::this_thread::get_id();
    // With one thread, a posted task could not start before this one ends.
    bool ran_now = false;
    calls.Run([&] {
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
  BlockingCalls calls(2);
  absl::Notification done;
  std::thread::id ran_on;
  calls.Run([&] {
    ran_on = std::this_thread::get_id();
    done.Notify();
  });
  done.WaitForNotification();
  EXPECT_NE(ran_on, std::this_thread::get_id());
}

TEST(BlockingCallsTest, AStuckTaskLeavesTheOtherThreadsWorking) {
  BlockingCalls calls(2);
  absl::Notification unstick, second_ran;
  calls.Post([&] { unstick.WaitForNotification(); });
  calls.Post([&] { second_ran.Notify(); });
  second_ran.WaitForNotification();  // would hang with one thread
  unstick.Notify();
}

}  // namespace
}  // namespace leadrelay
