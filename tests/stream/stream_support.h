// Helpers of the StreamEvents tests: a subscription read on a background
// thread whose messages the test waits for with bounded deadlines, event
// publishing shortcuts, and a leadrelay-server started with extra flags on
// the harness database.

#ifndef LEADRELAY_TESTS_STREAM_STREAM_SUPPORT_H_
#define LEADRELAY_TESTS_STREAM_STREAM_SUPPORT_H_

#include <grpcpp/grpcpp.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "leadrelay/v1/event.grpc.pb.h"
#include "support/harness.h"

namespace leadrelay::itest {

// How long a test waits for something the server should do promptly. Long,
// so a loaded machine does not fail a test; a correct server is far faster.
inline constexpr absl::Duration kPatience = absl::Seconds(60);

// One StreamEvents call, read on its own thread.
class Subscription {
 public:
  // What the reader saw so far: every message, and the final status once
  // the call ended.
  struct View {
    const std::vector<v1::StreamEventsResponse>& messages;
    int events;      // messages carrying an event
    int heartbeats;  // messages carrying a heartbeat
    const std::optional<grpc::Status>& end;
  };
  using Predicate = std::function<bool(const View&)>;

  // Starts the call with `key` (none when empty). The call itself has a
  // deadline of `call_deadline`; the destructor cancels it.
  Subscription(v1::EventService::Stub& stub, const std::string& key,
               const v1::StreamEventsRequest& request,
               absl::Duration call_deadline = absl::Minutes(9));
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;
  ~Subscription();

  // Waits until `done` holds (true) or `timeout` passes (false).
  bool WaitUntil(const Predicate& done, absl::Duration timeout = kPatience);
  // Waits for at least `count` event messages; false on timeout or when the
  // call ended first.
  bool WaitForEvents(int count, absl::Duration timeout = kPatience);
  // Waits for the end of the call; its status, or nullopt on timeout.
  std::optional<grpc::Status> WaitForEnd(absl::Duration timeout = kPatience);

  // Snapshots.
  std::vector<v1::StreamEventsResponse> Messages();
  std::vector<v1::Event> Events();
  std::optional<grpc::Status> End();
  // A one-line account of the state, for failure messages.
  std::string Summary();

  // Cancels the call (the reader then sees CANCELLED) and joins the reader.
  void Cancel();

 private:
  void ReadLoop();

  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<v1::StreamEventsResponse>> reader_;
  absl::Mutex mu_;
  std::vector<v1::StreamEventsResponse> messages_ ABSL_GUARDED_BY(mu_);
  int events_ ABSL_GUARDED_BY(mu_) = 0;
  int heartbeats_ ABSL_GUARDED_BY(mu_) = 0;
  std::optional<grpc::Status> end_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

// Ids of events, in order.
std::vector<std::string> IdsOf(const std::vector<v1::Event>& events);
// The first repeated id, or "" when all are distinct.
std::string FirstDuplicate(const std::vector<std::string>& ids);

// A dm.sent publish request whose message is `tag`.
v1::PublishEventRequest DmSent(const std::string& tag);
// A request of `type` with a small payload of the matching kind (the types
// internal services publish).
v1::PublishEventRequest EventOfType(const std::string& type,
                                    const std::string& tag);

// PublishEvent with `key`; the stored event.
absl::StatusOr<v1::Event> Publish(v1::EventService::Stub& stub,
                                  const std::string& key,
                                  const v1::PublishEventRequest& request);

// Every event of the account after `after` (from the start when empty),
// read through ListEvents pages.
absl::StatusOr<std::vector<v1::Event>> ListAllEvents(
    v1::EventService::Stub& stub, const std::string& key,
    const std::string& after = "");

// A new API key of the account with `scopes`.
absl::StatusOr<std::string> CreateKey(Api& api, const std::string& admin_key,
                                      const std::vector<std::string>& scopes);

// Resident set of process `pid` in KiB (VmRSS), or -1.
int64_t ResidentKib(pid_t pid);

// A leadrelay-server with extra flags on the harness database.
class ExtraServer {
 public:
  // `probe_key` is any valid key, used to wait until the server serves.
  static absl::StatusOr<std::unique_ptr<ExtraServer>> Start(
      const Harness& harness, const std::string& probe_key,
      const std::vector<std::string>& extra_flags);
  ExtraServer(const ExtraServer&) = delete;
  ExtraServer& operator=(const ExtraServer&) = delete;
  ~ExtraServer();

  Api& api() { return *api_; }
  const std::string& address() const { return address_; }
  ChildProcess& process() { return *process_; }
  pid_t pid() const { return process_->pid(); }
  std::string LogTail(int lines = 40) const;

 private:
  ExtraServer() = default;

  std::string address_;
  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<ChildProcess> process_;
  std::unique_ptr<Api> api_;
};

}  // namespace leadrelay::itest

#endif  // LEADRELAY_TESTS_STREAM_STREAM_SUPPORT_H_
