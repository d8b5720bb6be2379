// Live event streams of one server process.
//
// Per account with subscribers, a feed keeps a bounded ring of its newest
// events, refilled from the event log when NOTIFY says something committed
// (any replica's commit), with a slow poll as a safety net. Each subscriber has
// a position in the log: it is served from the ring when the ring covers
// its position, and from the log in bounded batches otherwise (replay, or a
// slow reader that fell behind), so memory stays bounded and nothing is
// skipped or sent twice.
//
// Memory is bounded by bytes as well as counts, per account: the ring keeps
// at most ring_max_bytes of serialized events, each subscriber's queue of
// events read from the log at most subscriber_max_bytes, and all of an
// account's rings and queues together at most account_max_bytes (plus one
// event per hub worker). The process as a whole holds at most
// total_max_bytes: all rings together at most half of it, all queues the
// other half, so accounts that keep their rings full cannot starve another
// account's readers. A subscriber that cannot get memory waits and is
// served from the log later, from its own position: events are delayed,
// never lost. Queues of subscribers blocked on a write are given up first.
// Streams are capped per key (max_streams_per_key) and per process
// (max_streams), since each costs the transport's buffers besides events.
// Streams use gRPC's callback API: no thread per stream.
#ifndef LEADRELAY_SERVER_STREAM_EVENT_HUB_H_
#define LEADRELAY_SERVER_STREAM_EVENT_HUB_H_

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "auth/authorizer.h"
#include "common/task_threads.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/server_callback.h"
#include "leadrelay/v1/event.pb.h"
#include "store/events_repo.h"
#include "store/notification_listener.h"
#include "store/pg.h"
#include "stream/event_filter.h"

namespace leadrelay::stream {

struct HubOptions {
  size_t ring_capacity = 4096;  // newest events kept per account
  int catch_up_batch = 256;     // events read from the log per subscriber
  // Byte budgets, serialized sizes (see the comment at the top).
  size_t ring_max_bytes = 8 << 20;
  size_t subscriber_max_bytes = 1 << 20;
  size_t account_max_bytes = 32 << 20;
  size_t total_max_bytes = 256 << 20;
  absl::Duration heartbeat_interval = absl::Seconds(15);
  absl::Duration poll_interval = absl::Milliseconds(200);
  int max_streams_per_key = 100;
  int max_streams = 10000;
  int worker_threads = 2;
};

class StreamReactor;  // gRPC's reactor of one stream (event_hub.cc)

class EventHub {
 public:
  EventHub(store::Pool& pool, HubOptions options);
  ~EventHub();  // Shutdown()
  EventHub(const EventHub&) = delete;
  EventHub& operator=(const EventHub&) = delete;

  void Start();
  // Ends every stream with UNAVAILABLE (clients resume from their cursor)
  // and refuses new ones.
  void Shutdown();

  // Wired to the NotificationListener.
  void OnNotification(const store::Notification& notification);

  // Streams are opened off gRPC's threads (opening reads the start position
  // from the database): NewPendingStream()'s `reactor` goes back to gRPC at
  // once (gRPC owns it); then, exactly once and from any thread, Attach()
  // validates and opens it (on an error nothing is attached) or
  // RefusePending() ends it with an error.
  struct PendingStream {
    StreamReactor* stream;
    grpc::ServerWriteReactor<grpc::ByteBuffer>* reactor;
  };
  PendingStream NewPendingStream();
  absl::Status Attach(StreamReactor* pending, const auth::Caller& caller,
                      const v1::StreamEventsRequest& request);
  static void RefusePending(StreamReactor* pending, grpc::Status status);

  int open_streams() const;
  // Bytes of events held for `account_id` (ring, queues, writes from
  // queues): what account_max_bytes bounds.
  size_t account_bytes(const std::string& account_id) const;
  // Bytes of events held for every account together: what total_max_bytes
  // bounds.
  size_t total_bytes() const;

  struct Feed;
  struct Stream;
  struct Entry;
  // Bytes held process-wide: all rings, all queues (and writes from them).
  struct Budget {
    std::atomic<size_t> rings{0};
    std::atomic<size_t> queues{0};
  };

 private:
  friend class StreamReactor;
  enum class Next { kFound, kNone, kBehind };

  absl::StatusOr<std::shared_ptr<Stream>> OpenStream(
      const auth::Caller& caller, const v1::StreamEventsRequest& request);
  void Release(const std::shared_ptr<Stream>& stream);
  Next NextAfter(Feed& feed, store::EventPosition position,
                 std::shared_ptr<const Entry>* out);
  void ScheduleFetch(const std::shared_ptr<Feed>& feed);
  void Fetch(const std::shared_ptr<Feed>& feed);
  void Pump(const std::shared_ptr<Stream>& stream);
  void CatchUp(const std::shared_ptr<Stream>& stream);
  size_t ReclaimQueues(Feed& feed, const Stream* except);
  size_t ReclaimQueuesEverywhere(const Stream* except);
  // Takes up to `want` bytes of the process's queue budget; returns them.
  size_t ReserveQueueBytes(size_t want);
  void Tick();
  void TimerLoop();

  store::Pool& pool_;
  HubOptions options_;
  Budget budget_;

  mutable absl::Mutex mu_;
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  std::map<std::string, std::shared_ptr<Feed>> feeds_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> streams_per_key_ ABSL_GUARDED_BY(mu_);
  int open_streams_ ABSL_GUARDED_BY(mu_) = 0;

  // Fetches, catch-ups and memory release, off gRPC's threads.
  TaskThreads workers_;
  absl::Mutex timer_mu_;
  bool stop_timer_ ABSL_GUARDED_BY(timer_mu_) = false;
  std::thread timer_;
};

// A reactor that finishes at once with `status`: for refused streams.
grpc::ServerWriteReactor<grpc::ByteBuffer>* RefuseStream(grpc::Status status);

}  // namespace leadrelay::stream

#endif  // LEADRELAY_SERVER_STREAM_EVENT_HUB_H_
