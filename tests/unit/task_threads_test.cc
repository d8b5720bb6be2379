// The threads LeadBatcher finishes calls on and the stream hub fetches on:
// tasks run on several threads at once, what is queued when the pool stops
// still runs (a written lead's call always finishes), and what is posted
// after it stopped is dropped.
#include "common/task_threads.h"

#include <atomic>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace leadrelay {
namespace {

TEST(TaskThreadsTest, EveryQueuedTaskRunsBeforeThePoolGoes) {
  std::atomic<int> ran{0};
  absl::Notification release;
  {
    TaskThreads threads(2);
    // Both threads are held, so the rest is still queued at destruction.
    for (int i = 0; i < 2; ++i) {
      threads.Post([&] { release.WaitForNotification(); });
    }
    for (int i = 0; i < 100; ++i) threads.Post([&] { ++ran; });
    release.Notify();
  }
  EXPECT_EQ(ran.load(), 100);
}

TEST(TaskThreadsTest, ABusyThreadLeavesTheNextTaskToAnother) {
  TaskThreads threads(2);
  absl::Notification release, second_ran;
  threads.Post([&] { release.WaitForNotification(); });
  threads.Post([&] { second_ran.Notify(); });
  second_ran.WaitForNotification();  // would hang on a single thread
  release.Notify();
}

TEST(TaskThreadsTest, ATaskMayPostAnother) {
  absl::Notification inner_ran;
  TaskThreads threads(1);
  threads.Post([&] { threads.Post([&] { inner_ran.Notify(); }); });
  inner_ran.WaitForNotification();
}

TEST(TaskThreadsTest, WhatIsPostedAfterStopIsDropped) {
  std::atomic<int> ran{0};
  TaskThreads threads(2);
  threads.Post([&] { ++ran; });
  threads.Stop();
  EXPECT_EQ(ran.load(), 1) << "queued before Stop: run";
  threads.Post([&] { ++ran; });
  threads.Stop();  // a second Stop is harmless
  EXPECT_EQ(ran.load(), 1) << "posted after Stop: dropped";
}

}  // namespace
}  // namespace leadrelay
