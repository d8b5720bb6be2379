// The live event stream as a callback that survives disconnects, UNAVAILABLE,
// server restarts and switching replicas. After a failure it reconnects with
// backoff and `after=<cursor of the last message it handed over>`, so the
// consumer sees every event exactly once and in order. The cursor (an opaque
// string) can be checkpointed to a callback or a file so a restarted consumer
// resumes where it stopped.
//
//   leadrelay::SubscriptionOptions options;
//   options.request.add_types("lead.new");
//   options.checkpoint_file = "/var/lib/crm/leadrelay.cursor";
//   auto sub = leadrelay::Subscription::Start(client, options,
//       [](const v1::Event& event) { ... });
//   ...
//   sub->Stop();
#ifndef LEADRELAY_CLIENT_SUBSCRIPTION_H_
#define LEADRELAY_CLIENT_SUBSCRIPTION_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "leadrelay/client.h"
#include "leadrelay/retry_policy.h"
#include "leadrelay/v1/event.pb.h"

namespace leadrelay {

// 200 ms doubling to 5 s, +-20 %.
RetryPolicy DefaultStreamBackoff();

struct SubscriptionOptions {
  // Filters and the start position (`after` or `since`) of the first
  // connection; reconnections replace the position with the last cursor.
  v1::StreamEventsRequest request;
  // Backoff between reconnections; max_attempts is ignored (a subscription
  // retries for as long as it runs), and the backoff starts over once a
  // connection delivers a message.
  RetryPolicy backoff = DefaultStreamBackoff();
  // Called with the new cursor after each event was handled, and when a
  // heartbeat moves the cursor past filtered-out events.
  std::function<void(const std::string& cursor)> on_checkpoint;
  // When set, the cursor is read from this file at start (if it exists and
  // `request` has no position) and rewritten (atomically) at each checkpoint.
  std::string checkpoint_file;
  // Told about each lost connection and the wait before the next one.
  std::function<void(const absl::Status& error, absl::Duration wait)>
      on_reconnect;
};

class Subscription {
 public:
  using EventHandler = std::function<void(const v1::Event& event)>;

  // Starts reading on a background thread; `on_event` is called on it, one
  // event at a time. `client` must outlive the subscription.
  static absl::StatusOr<std::unique_ptr<Subscription>> Start(
      Client& client, SubscriptionOptions options, EventHandler on_event);

  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;
  ~Subscription();  // Stop()

  // Ends the subscription (cancels the call, joins the thread). The cursor
  // then names the position after the last event handed over.
  void Stop();
  // Waits until the subscription ends by itself: a failure that retrying
  // cannot fix (unauthorized, invalid cursor, ...). OK after Stop().
  absl::Status Wait();
  // Waits at most `timeout`; nullopt when still running.
  std::optional<absl::Status> WaitFor(absl::Duration timeout);

  // The cursor to resume from ("" before the first message).
  std::string cursor() const;
  // Connections made so far (1 + reconnections).
  int connections() const;

 private:
  Subscription(Client& client, SubscriptionOptions options,
               EventHandler on_event);
  void Run();
  // One connection: reads until it ends; the status it ended with, and
  // whether it delivered anything.
  absl::Status ReadOnce(bool* progressed);
  void Advance(const std::string& cursor);

  Client& client_;
  SubscriptionOptions options_;
  EventHandler on_event_;
  std::thread thread_;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<absl::Status> result_ ABSL_GUARDED_BY(mu_);
  grpc::ClientContext* live_context_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::string cursor_ ABSL_GUARDED_BY(mu_);
  int connections_ ABSL_GUARDED_BY(mu_) = 0;
};

// Reads a cursor saved by WriteCursorFile ("" when the file does not exist).
absl::StatusOr<std::string> ReadCursorFile(const std::string& path);
// Writes `cursor` to `path` through a temporary file and a rename.
absl::Status WriteCursorFile(const std::string& path,
                             const std::string& cursor);

}  // namespace leadrelay

#endif  // LEADRELAY_CLIENT_SUBSCRIPTION_H_
