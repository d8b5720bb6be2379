#include "stream/event_hub.h"

#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/status_util.h"
#include "grpcpp/impl/codegen/proto_utils.h"
#include "grpcpp/support/proto_buffer_writer.h"
#include "ops/server_metrics.h"
#include "store/event_retention_repo.h"
#include "store/proto_time.h"

namespace leadrelay::stream {

// An event as streamed: its position, what filters look at, and the
// serialized StreamEventsResponse shared by every subscriber (ByteBuffer
// copies share the underlying slices). The payload is kept only in `wire`.
struct EventHub::Entry {
  store::EventPosition position;
  v1::Event key;  // type, and the lead fields a LeadFilter reads
  grpc::ByteBuffer wire;
  size_t bytes = 0;  // what the entry costs its account's budget
};

using Event = std::shared_ptr<const EventHub::Entry>;

// gperftools' call, present when the binary links tcmalloc (the servers do).
extern "C" void MallocExtension_ReleaseFreeMemory(void) __attribute__((weak));

namespace {

// Streams end when their clients go: a refused one may try again soon.
constexpr int kServerStreamsRetrySeconds = 5;

// Adds up to `want` bytes to `counter` without taking it past `limit`;
// returns what was added.
size_t TakeBudget(std::atomic<size_t>& counter, size_t limit, size_t want) {
  size_t used = counter.load();
  for (;;) {
    size_t take = used >= limit ? 0 : std::min(want, limit - used);
    if (take == 0) return 0;
    if (counter.compare_exchange_weak(used, used + take)) return take;
  }
}

// Adds all of `bytes` to `counter` if that stays within `limit`.
bool TakeAllOrNothing(std::atomic<size_t>& counter, size_t limit,
                      size_t bytes) {
  size_t used = counter.load();
  while (used <= limit && bytes <= limit - used) {
    if (counter.compare_exchange_weak(used, used + bytes)) return true;
  }
  return false;
}

// Hands the allocator's free memory back to the system: tcmalloc's, or
// glibc's in builds without it (sanitizers, tests).
void ReleaseFreeMemory() {
  if (MallocExtension_ReleaseFreeMemory != nullptr) {
    MallocExtension_ReleaseFreeMemory();
  } else {
    malloc_trim(0);
  }
}

grpc::ByteBuffer Serialize(const v1::StreamEventsResponse& message) {
  grpc::ByteBuffer out;
  bool own = false;
  (void)grpc::SerializationTraits<v1::StreamEventsResponse>::Serialize(
      message, &out, &own);
  return out;
}

Event MakeEntry(store::StoredEvent stored) {
  auto entry = std::make_shared<EventHub::Entry>();
  entry->position = stored.position;
  const v1::Event& event = stored.event;
  entry->key.set_type(event.type());
  if (event.data_case() == v1::Event::kLead) {
    v1::Lead* lead = entry->key.mutable_lead()->mutable_lead();
    lead->set_vertical(event.lead().lead().vertical());
    lead->set_score_tier(event.lead().lead().score_tier());
    lead->set_score(event.lead().lead().score());
    lead->set_suburb(event.lead().lead().suburb());
    lead->set_province(event.lead().lead().province());
  }
  v1::StreamEventsResponse message;
  message.set_cursor(event.cursor());
  *message.mutable_event() = std::move(stored.event);
  entry->wire = Serialize(message);
  entry->bytes = entry->wire.Length() + sizeof(EventHub::Entry);
  return entry;
}

enum class EndReason { kNone, kCancelled, kClientGone, kShutdown, kLogDown };

const char* EndReasonLabel(EndReason reason) {
  switch (reason) {
    case EndReason::kCancelled:
      return "cancelled";
    case EndReason::kClientGone:
      return "client_gone";
    case EndReason::kShutdown:
      return "shutdown";
    case EndReason::kLogDown:
      return "log_down";
    default:
      return "other";
  }
}

}  // namespace

struct EventHub::Feed {
  // The ring's bytes go back to the process's budget with the feed.
  ~Feed() ABSL_NO_THREAD_SAFETY_ANALYSIS { budget->rings -= ring_bytes; }

  EventHub::Budget* budget = nullptr;
  std::string account_id;
  int subscribers = 0;  // guarded by EventHub::mu_
  absl::Mutex mu;
  // Every event in (base, head], in log order.
  std::deque<Event> ring ABSL_GUARDED_BY(mu);
  size_t ring_bytes ABSL_GUARDED_BY(mu) = 0;
  // Bytes of the account's subscriber queues and of writes from them.
  std::atomic<size_t> queued_bytes{0};
  store::EventPosition base ABSL_GUARDED_BY(mu);
  store::EventPosition head ABSL_GUARDED_BY(mu);
  std::vector<std::weak_ptr<Stream>> streams ABSL_GUARDED_BY(mu);
  bool fetching ABSL_GUARDED_BY(mu) = false;
  bool refetch ABSL_GUARDED_BY(mu) = false;
  absl::Time last_fetch ABSL_GUARDED_BY(mu) = absl::InfinitePast();
};

struct EventHub::Stream {
  EventHub* hub = nullptr;
  std::shared_ptr<Feed> feed;
  EventFilter filter;
  std::string key_id;
  std::string account_id;

  absl::Mutex mu;
  StreamReactor* reactor ABSL_GUARDED_BY(mu) = nullptr;
  store::EventPosition position ABSL_GUARDED_BY(mu);
  store::EventPosition pending ABSL_GUARDED_BY(mu);
  bool writing ABSL_GUARDED_BY(mu) = false;
  bool catching_up ABSL_GUARDED_BY(mu) = false;
  bool done ABSL_GUARDED_BY(mu) = false;
  bool finish_called ABSL_GUARDED_BY(mu) = false;
  EndReason end ABSL_GUARDED_BY(mu) = EndReason::kNone;
  // Events read from the log for this subscriber (replay / catch-up).
  std::deque<Event> backlog ABSL_GUARDED_BY(mu);
  // Bytes charged to the feed for the backlog and the write in flight
  // (`out_charge` of them, when that write came from the backlog).
  size_t queued_bytes ABSL_GUARDED_BY(mu) = 0;
  size_t out_charge ABSL_GUARDED_BY(mu) = 0;
  // Refused a catch-up for lack of memory; the timer pumps it again.
  bool waiting_for_memory ABSL_GUARDED_BY(mu) = false;
  absl::Time last_sent ABSL_GUARDED_BY(mu);
  // The message being written; untouched until OnWriteDone.
  grpc::ByteBuffer out;
};

namespace {

void Charge(EventHub::Stream& s, size_t bytes)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(s.mu) {
  s.queued_bytes += bytes;
  s.feed->queued_bytes += bytes;
  s.feed->budget->queues += bytes;
}

void Uncharge(EventHub::Stream& s, size_t bytes)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(s.mu) {
  s.queued_bytes -= bytes;
  s.feed->queued_bytes -= bytes;
  s.feed->budget->queues -= bytes;
}

// Drops the subscriber's queue (it is re-read from the log when needed).
size_t DropBacklog(EventHub::Stream& s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s.mu) {
  size_t freed = 0;
  for (const Event& e : s.backlog) freed += e->bytes;
  s.backlog.clear();
  Uncharge(s, freed);
  return freed;
}

}  // namespace

class StreamReactor : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  // Pending: returned to gRPC before the stream is opened (see
  // EventHub::NewPendingStream); Start() or Refuse() follows, once.
  StreamReactor() = default;

  void Start(std::shared_ptr<EventHub::Stream> stream) {
    {
      absl::MutexLock lock(&stream->mu);
      stream->reactor = this;
    }
    bool cancelled;
    {
      absl::MutexLock lock(&pending_mu_);
      stream_ = stream;
      cancelled = cancelled_while_pending_;
    }
    if (cancelled) {
      absl::MutexLock lock(&stream->mu);
      stream->done = true;
      stream->end = EndReason::kCancelled;
    }
    // Headers now, so that a client (and the REST gateway) knows the stream
    // is open before the first event or heartbeat.
    StartSendInitialMetadata();
    stream->hub->Pump(stream);
  }

  void Refuse(grpc::Status status) { Finish(std::move(status)); }

  void OnWriteDone(bool ok) override {
    {
      absl::MutexLock lock(&stream_->mu);
      stream_->writing = false;
      Uncharge(*stream_, stream_->out_charge);
      stream_->out_charge = 0;
      if (ok) {
        stream_->position = stream_->pending;
        stream_->last_sent = absl::Now();
      } else if (!stream_->done) {
        stream_->done = true;
        stream_->end = EndReason::kClientGone;
      }
    }
    stream_->hub->Pump(stream_);
  }

  void OnCancel() override {
    {
      absl::MutexLock lock(&pending_mu_);
      if (stream_ == nullptr) {  // Start() ends it at once
        cancelled_while_pending_ = true;
        return;
      }
    }
    {
      absl::MutexLock lock(&stream_->mu);
      if (!stream_->done) {
        stream_->done = true;
        stream_->end = EndReason::kCancelled;
      }
    }
    stream_->hub->Pump(stream_);
  }

  void OnDone() override {
    if (stream_ != nullptr) {  // not refused while pending
      {
        absl::MutexLock lock(&stream_->mu);
        stream_->reactor = nullptr;
        ops::RecordStreamEnded(EndReasonLabel(stream_->end));
      }
      stream_->hub->Release(stream_);
    }
    delete this;
  }

 private:
  // Set once, by Start(); read unlocked after that (gRPC's reactions to
  // writes and the end come only after Start()).
  std::shared_ptr<EventHub::Stream> stream_;
  absl::Mutex pending_mu_;
  bool cancelled_while_pending_ ABSL_GUARDED_BY(pending_mu_) = false;
};

namespace {

// Finishes at once with an error: for streams refused before they start.
class RefusedStream : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  explicit RefusedStream(grpc::Status status) { Finish(std::move(status)); }
  void OnDone() override { delete this; }
};

}  // namespace

grpc::ServerWriteReactor<grpc::ByteBuffer>* RefuseStream(grpc::Status status) {
  return new RefusedStream(std::move(status));
}

EventHub::EventHub(store::Pool& pool, HubOptions options)
    : pool_(pool),
      options_(std::move(options)),
      workers_(options_.worker_threads) {}

EventHub::~EventHub() { Shutdown(); }

void EventHub::Start() {
  timer_ = std::thread([this] { TimerLoop(); });
}

void EventHub::Shutdown() {
  std::vector<std::shared_ptr<Stream>> streams;
  {
    absl::MutexLock lock(&mu_);
    if (shutting_down_) return;
    shutting_down_ = true;
    for (auto& [account, feed] : feeds_) {
      absl::MutexLock feed_lock(&feed->mu);
      for (auto& weak : feed->streams) {
        if (auto s = weak.lock()) streams.push_back(std::move(s));
      }
    }
  }
  for (auto& s : streams) {
    {
      absl::MutexLock lock(&s->mu);
      if (!s->done) {
        s->done = true;
        s->end = EndReason::kShutdown;
      }
    }
    Pump(s);
  }
  {
    absl::MutexLock lock(&timer_mu_);
    stop_timer_ = true;
  }
  if (timer_.joinable()) timer_.join();
  workers_.Stop();  // after the timer, whose ticks post work
}

int EventHub::open_streams() const {
  absl::MutexLock lock(&mu_);
  return open_streams_;
}

size_t EventHub::account_bytes(const std::string& account_id) const {
  std::shared_ptr<Feed> feed;
  {
    absl::MutexLock lock(&mu_);
    auto it = feeds_.find(account_id);
    if (it == feeds_.end()) return 0;
    feed = it->second;
  }
  absl::MutexLock lock(&feed->mu);
  return feed->ring_bytes + feed->queued_bytes.load();
}

size_t EventHub::total_bytes() const {
  return budget_.rings.load() + budget_.queues.load();
}

size_t EventHub::ReserveQueueBytes(size_t want) {
  return TakeBudget(budget_.queues, options_.total_max_bytes / 2, want);
}

void EventHub::TimerLoop() {
  for (;;) {
    {
      absl::MutexLock lock(&timer_mu_);
      timer_mu_.AwaitWithTimeout(absl::Condition(&stop_timer_),
                                 options_.poll_interval);
      if (stop_timer_) return;
    }
    Tick();
  }
}

void EventHub::Tick() {
  absl::Time now = absl::Now();
  std::vector<std::shared_ptr<Feed>> to_fetch;
  std::vector<std::shared_ptr<Stream>> streams;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [account, feed] : feeds_) {
      absl::MutexLock feed_lock(&feed->mu);
      // A safety net for lost notifications.
      if (now - feed->last_fetch >= absl::Seconds(2)) {
        to_fetch.push_back(feed);
      }
      for (auto& weak : feed->streams) {
        if (auto s = weak.lock()) streams.push_back(std::move(s));
      }
    }
  }
  for (auto& feed : to_fetch) ScheduleFetch(feed);
  for (auto& s : streams) {
    StreamReactor* reactor = nullptr;
    bool retry = false;
    {
      absl::MutexLock lock(&s->mu);
      retry = std::exchange(s->waiting_for_memory, false);
    }
    if (retry) Pump(s);
    {
      absl::MutexLock lock(&s->mu);
      if (s->reactor == nullptr || s->writing || s->done ||
          now - s->last_sent < options_.heartbeat_interval) {
        continue;
      }
      ops::RecordStreamHeartbeat();
      v1::StreamEventsResponse heartbeat;
      SetTimestamp(now, heartbeat.mutable_heartbeat()->mutable_time());
      heartbeat.set_cursor(store::EncodeCursor(s->account_id, s->position));
      s->out = Serialize(heartbeat);
      s->pending = s->position;
      s->writing = true;
      reactor = s->reactor;
    }
    reactor->StartWrite(&s->out);
  }
}

void EventHub::OnNotification(const store::Notification& n) {
  std::vector<std::shared_ptr<Feed>> feeds;
  {
    absl::MutexLock lock(&mu_);
    if (n.channel.empty()) {
      for (auto& [account, feed] : feeds_) feeds.push_back(feed);
    } else if (n.channel == store::kEventsChannel) {
      auto it = feeds_.find(n.payload);
      if (it != feeds_.end()) feeds.push_back(it->second);
    }
  }
  for (auto& feed : feeds) ScheduleFetch(feed);
}

void EventHub::ScheduleFetch(const std::shared_ptr<Feed>& feed) {
  {
    absl::MutexLock lock(&feed->mu);
    if (feed->fetching) {
      feed->refetch = true;
      return;
    }
    feed->fetching = true;
  }
  workers_.Post([this, feed] { Fetch(feed); });
}

void EventHub::Fetch(const std::shared_ptr<Feed>& feed) {
  constexpr int kBatch = 1000;
  for (;;) {
    store::EventPosition head;
    {
      absl::MutexLock lock(&feed->mu);
      head = feed->head;
      feed->last_fetch = absl::Now();
    }
    std::vector<store::StoredEvent> events;
    absl::Status status =
        pool_.Run([&](store::Connection& conn) -> absl::Status {
          LR_ASSIGN_OR_RETURN(
              events, store::ReadEvents(conn, feed->account_id, head, {},
                                        kBatch, options_.ring_max_bytes));
          return absl::OkStatus();
        });
    std::vector<std::shared_ptr<Stream>> streams;
    size_t read_bytes = 0;
    {
      absl::MutexLock lock(&feed->mu);
      auto drop_oldest = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(feed->mu) {
        feed->base = feed->ring.front()->position;
        feed->ring_bytes -= feed->ring.front()->bytes;
        budget_.rings -= feed->ring.front()->bytes;
        feed->ring.pop_front();
      };
      // The rings of all accounts share half the process's budget: an
      // event makes room by pushing out this account's oldest, and one that
      // still does not fit is left to the log (its subscribers catch up).
      const size_t ring_share = options_.total_max_bytes / 2;
      auto make_room =
          [&](size_t bytes) ABSL_EXCLUSIVE_LOCKS_REQUIRED(feed->mu) {
            while (!TakeAllOrNothing(budget_.rings, ring_share, bytes)) {
              if (feed->ring.empty()) return false;
              drop_oldest();
            }
            return true;
          };
      for (auto& e : events) {
        if (!(feed->head < e.position)) continue;
        // An erasure rewrote events the ring may hold: drop them, so
        // subscribers behind read the rewritten ones from the log.
        if (e.event.type() == "lead.erased") {
          while (!feed->ring.empty()) drop_oldest();
        }
        feed->head = e.position;
        Event entry = MakeEntry(std::move(e));
        read_bytes += entry->bytes;
        if (!make_room(entry->bytes)) {
          feed->base = feed->head;
          continue;
        }
        feed->ring_bytes += entry->bytes;
        feed->ring.push_back(std::move(entry));
      }
      // Subscribers behind the new base catch up from the log.
      while (!feed->ring.empty() &&
             (feed->ring.size() > options_.ring_capacity ||
              feed->ring_bytes > options_.ring_max_bytes)) {
        drop_oldest();
      }
      if (!events.empty()) {
        auto& subs = feed->streams;
        subs.erase(std::remove_if(subs.begin(), subs.end(),
                                  [](auto& w) { return w.expired(); }),
                   subs.end());
        for (auto& weak : subs) {
          if (auto s = weak.lock()) streams.push_back(std::move(s));
        }
      }
    }
    for (auto& s : streams) Pump(s);
    if (!status.ok()) {
      LogWarning(absl::StrCat("event stream fetch failed: ", status.message()));
    }
    bool cut_short = static_cast<int>(events.size()) == kBatch ||
                     (!events.empty() && read_bytes >= options_.ring_max_bytes);
    if (status.ok() && cut_short) continue;
    absl::MutexLock lock(&feed->mu);
    if (feed->refetch) {
      feed->refetch = false;
      continue;
    }
    feed->fetching = false;
    return;
  }
}

EventHub::Next EventHub::NextAfter(Feed& feed, store::EventPosition position,
                                   Event* out) {
  absl::MutexLock lock(&feed.mu);
  if (position < feed.base) return Next::kBehind;
  auto it = std::upper_bound(feed.ring.begin(), feed.ring.end(), position,
                             [](const store::EventPosition& p, const Event& e) {
                               return p < e->position;
                             });
  if (it == feed.ring.end()) return Next::kNone;
  *out = *it;
  return Next::kFound;
}

void EventHub::Pump(const std::shared_ptr<Stream>& s) {
  StreamReactor* reactor = nullptr;
  bool finish = false;
  grpc::Status status;
  {
    absl::MutexLock lock(&s->mu);
    if (s->reactor == nullptr || s->writing || s->finish_called) return;
    if (s->done) {
      s->finish_called = true;
      finish = true;
      // Built now, not when the end was decided: a write in flight then has
      // completed, so the cursor is that of the last message delivered.
      std::string resume =
          absl::StrCat("; reconnect with after=",
                       store::EncodeCursor(s->account_id, s->position));
      switch (s->end) {
        case EndReason::kShutdown:
          status = grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                "server shutting down" + resume);
          break;
        case EndReason::kLogDown:
          status = grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                "the event log is unavailable" + resume);
          break;
        default:
          status = grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
      }
      reactor = s->reactor;
    } else {
      for (;;) {
        while (!s->backlog.empty() &&
               !(s->position < s->backlog.front()->position)) {
          Uncharge(*s, s->backlog.front()->bytes);
          s->backlog.pop_front();
        }
        Event event;
        size_t charge = 0;
        if (!s->backlog.empty()) {
          event = std::move(s->backlog.front());
          s->backlog.pop_front();
          charge = event->bytes;
        } else {
          Next next = NextAfter(*s->feed, s->position, &event);
          if (next == Next::kNone) return;
          if (next == Next::kBehind) {
            if (!s->catching_up) {
              s->catching_up = true;
              workers_.Post([this, s] { CatchUp(s); });
            }
            return;
          }
        }
        if (!s->filter.Matches(event->key)) {
          Uncharge(*s, charge);
          s->position = event->position;
          continue;
        }
        ops::RecordStreamMessages(1);
        s->out_charge = charge;
        s->out = event->wire;
        s->pending = event->position;
        s->writing = true;
        reactor = s->reactor;
        break;
      }
    }
  }
  if (finish) {
    reactor->Finish(status);
  } else {
    reactor->StartWrite(&s->out);
  }
}

size_t EventHub::ReclaimQueues(Feed& feed, const Stream* except) {
  std::vector<std::shared_ptr<Stream>> streams;
  {
    absl::MutexLock lock(&feed.mu);
    for (auto& weak : feed.streams) {
      if (auto s = weak.lock(); s != nullptr && s.get() != except) {
        streams.push_back(std::move(s));
      }
    }
  }
  size_t freed = 0;
  for (auto& s : streams) {
    absl::MutexLock lock(&s->mu);
    // A queue is only kept while its head is being written: that reader is
    // the slow one, and re-reads from its position later.
    if (s->writing) freed += DropBacklog(*s);
  }
  return freed;
}

size_t EventHub::ReclaimQueuesEverywhere(const Stream* except) {
  std::vector<std::shared_ptr<Feed>> feeds;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [account, feed] : feeds_) feeds.push_back(feed);
  }
  size_t freed = 0;
  for (auto& feed : feeds) freed += ReclaimQueues(*feed, except);
  return freed;
}

void EventHub::CatchUp(const std::shared_ptr<Stream>& s) {
  ops::RecordStreamOpened(/*catch_up=*/true);
  store::EventPosition from;
  size_t own = 0;
  {
    absl::MutexLock lock(&s->mu);
    from = s->position;
    own = s->queued_bytes;
  }
  Feed& feed = *s->feed;
  // What this subscriber may read now: within its own budget and what its
  // account has left.
  auto allowance = [&] {
    size_t used;
    {
      absl::MutexLock lock(&feed.mu);
      used = feed.ring_bytes + feed.queued_bytes.load();
    }
    size_t account_left = used >= options_.account_max_bytes
                              ? 0
                              : options_.account_max_bytes - used;
    size_t own_left = own >= options_.subscriber_max_bytes
                          ? 0
                          : options_.subscriber_max_bytes - own;
    return std::min(account_left, own_left);
  };
  size_t budget = allowance();
  if (budget == 0 && ReclaimQueues(feed, s.get()) > 0) budget = allowance();
  // The queues of all accounts share the other half of the process's
  // budget, taken before reading so concurrent catch-ups cannot overdraw it.
  size_t reserved = budget == 0 ? 0 : ReserveQueueBytes(budget);
  if (budget > 0 && reserved == 0 && ReclaimQueuesEverywhere(s.get()) > 0) {
    reserved = ReserveQueueBytes(budget);
  }
  if (reserved == 0) {
    absl::MutexLock lock(&s->mu);
    s->catching_up = false;
    s->waiting_for_memory = true;
    return;
  }
  std::vector<store::StoredEvent> events;
  absl::Status status = pool_.Run([&](store::Connection& conn) -> absl::Status {
    LR_ASSIGN_OR_RETURN(events,
                        store::ReadEvents(conn, s->account_id, from, {},
                                          options_.catch_up_batch, reserved));
    return absl::OkStatus();
  });
  {
    absl::MutexLock lock(&s->mu);
    budget_.queues -= reserved;  // what was read is charged below
    s->catching_up = false;
    if (!status.ok()) {
      if (!s->done) {
        s->done = true;
        s->end = EndReason::kLogDown;
      }
    } else if (!s->done) {
      for (auto& e : events) {
        Event entry = MakeEntry(std::move(e));
        Charge(*s, entry->bytes);
        s->backlog.push_back(std::move(entry));
      }
    }
  }
  // With nothing new in the log yet, the next tick or fetch pumps again.
  if (!status.ok() || !events.empty()) Pump(s);
}

void EventHub::Release(const std::shared_ptr<Stream>& s) {
  {
    absl::MutexLock lock(&s->mu);
    DropBacklog(*s);
    Uncharge(*s, s->out_charge);
    s->out_charge = 0;
  }
  bool feed_dropped = false;
  {
    absl::MutexLock lock(&mu_);
    --open_streams_;
    if (--streams_per_key_[s->key_id] <= 0) streams_per_key_.erase(s->key_id);
    if (--s->feed->subscribers == 0) {
      auto it = feeds_.find(s->account_id);
      if (it != feeds_.end() && it->second == s->feed) {
        feeds_.erase(it);
        feed_dropped = true;
      }
    }
  }
  // The ring's memory goes back to the system, not just to the allocator.
  if (feed_dropped) workers_.Post([] { ReleaseFreeMemory(); });
}

EventHub::PendingStream EventHub::NewPendingStream() {
  auto* reactor = new StreamReactor();
  return {reactor, reactor};
}

absl::Status EventHub::Attach(StreamReactor* pending,
                              const auth::Caller& caller,
                              const v1::StreamEventsRequest& request) {
  LR_ASSIGN_OR_RETURN(std::shared_ptr<Stream> stream,
                      OpenStream(caller, request));
  pending->Start(std::move(stream));
  return absl::OkStatus();
}

void EventHub::RefusePending(StreamReactor* pending, grpc::Status status) {
  pending->Refuse(std::move(status));
}

absl::StatusOr<std::shared_ptr<EventHub::Stream>> EventHub::OpenStream(
    const auth::Caller& caller, const v1::StreamEventsRequest& request) {
  LR_ASSIGN_OR_RETURN(EventFilter filter, FilterFromRequest(request));
  std::optional<store::EventPosition> after;
  if (!request.after().empty()) {
    LR_ASSIGN_OR_RETURN(
        after, store::DecodeCursor(caller.account_id, request.after()));
  }
  {
    absl::MutexLock lock(&mu_);
    if (shutting_down_) {
      return Unavailable("server shutting down; reconnect to another server");
    }
    if (open_streams_ >= options_.max_streams) {
      return LimitReached(
          kReasonTooManyServerStreams,
          absl::StrCat("this server already serves ", options_.max_streams,
                       " streams; retry later or on another replica"),
          kServerStreamsRetrySeconds);
    }
    if (streams_per_key_[caller.key_id] >= options_.max_streams_per_key) {
      return TooManyStreams(absl::StrCat("this API key already has ",
                                         options_.max_streams_per_key,
                                         " open streams; close one first"));
    }
    ++streams_per_key_[caller.key_id];
    ++open_streams_;
  }
  auto stream = std::make_shared<Stream>();
  stream->hub = this;
  stream->filter = std::move(filter);
  stream->key_id = caller.key_id;
  stream->account_id = caller.account_id;
  store::EventPosition latest;
  store::EventPosition start;
  absl::Status status = pool_.Run([&](store::Connection& conn) -> absl::Status {
    // From now unless a cursor or a time says otherwise.
    absl::Time since = request.has_since() && !after.has_value()
                           ? FromTimestamp(request.since())
                           : absl::InfiniteFuture();
    LR_ASSIGN_OR_RETURN(store::StartPositions positions,
                        store::PositionsAt(conn, caller.account_id, since));
    latest = positions.latest;
    start = after.has_value() ? *after : positions.at_time;
    // A resume into what retention removed is refused, not replayed with
    // a gap.
    LR_RETURN_IF_ERROR(store::CheckResumable(
        conn, caller.account_id, after,
        since == absl::InfiniteFuture() ? std::nullopt
                                        : std::optional<absl::Time>(since)));
    // A cursor past every event, kept or pruned, was not issued by this
    // API; accepting it would leave the stream silent until the log caught
    // up.
    if (latest < start) {
      return store::CheckNotAheadOfLog(conn, caller.account_id, start);
    }
    return absl::OkStatus();
  });
  {
    absl::MutexLock lock(&stream->mu);
    stream->position = start;
    stream->last_sent = absl::Now();
  }
  // Registered under the hub lock, so Shutdown() either sees this stream or
  // happened before, in which case the stream ends at once.
  bool shutting_down;
  {
    absl::MutexLock lock(&mu_);
    shutting_down = shutting_down_;
    std::shared_ptr<Feed>& feed = feeds_[caller.account_id];
    if (feed == nullptr) {
      feed = std::make_shared<Feed>();
      feed->budget = &budget_;
      feed->account_id = caller.account_id;
      absl::MutexLock feed_lock(&feed->mu);
      feed->base = latest;
      feed->head = latest;
    }
    ++feed->subscribers;
    stream->feed = feed;
    absl::MutexLock feed_lock(&feed->mu);
    feed->streams.push_back(stream);
  }
  if (!status.ok()) {
    Release(stream);
    return status;
  }
  if (shutting_down) {
    absl::MutexLock lock(&stream->mu);
    stream->done = true;
    stream->end = EndReason::kShutdown;
  }
  ops::RecordStreamOpened(/*catch_up=*/false);
  return stream;
}

}  // namespace leadrelay::stream
