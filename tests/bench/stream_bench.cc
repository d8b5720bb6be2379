// StreamEvents fan-out benchmark against a running leadrelay-server.
//
// Opens --subscribers streams with the callback client API (a few channels,
// --subscribers_per_channel streams each), publishes dm.sent events at a
// fixed --rate for --seconds with the publish time and the event's number
// in the message, and prints publish-to-receive latency percentiles (from
// before the PublishEvent call), the PublishEvent round trip, the
// commit-to-receive latency (from PublishEvent's return: what the stream
// itself adds), messages/s delivered and the server's VmRSS (--server_pid).
// With --rate=0 the subscribers stay idle and only the RSS is reported.

#include <grpcpp/grpcpp.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "leadrelay/v1/event.grpc.pb.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "leadrelay-server address");
ABSL_FLAG(std::string, api_key, "", "key of the account to stream");
ABSL_FLAG(int, subscribers, 1000, "concurrent StreamEvents calls");
ABSL_FLAG(int, subscribers_per_channel, 100, "streams per gRPC channel");
ABSL_FLAG(double, rate, 100, "events published per second (0: idle)");
ABSL_FLAG(int, seconds, 10, "publishing time");
ABSL_FLAG(int, publishers, 4, "publishing threads sharing --rate");
ABSL_FLAG(int, server_pid, 0, "pid of the server, for VmRSS");
ABSL_FLAG(std::string, label, "", "scenario name for the report");
ABSL_FLAG(int, event_bytes, 0,
          "approximate size of each published event: 0 publishes small "
          "dm.sent events, more publishes lead.enriched events padded with "
          "posts of maximum-length text (--event_bytes=250000 for events near "
          "the 256 KiB limit)");

namespace leadrelay::bench {
namespace {

using v1::StreamEventsResponse;

constexpr char kTag[] = "bench t=";

int64_t NowNanos() { return absl::GetCurrentTimeNanos(); }

int64_t ResidentKib(int pid) {
  if (pid <= 0) return -1;
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    absl::string_view rest = line;
    if (absl::ConsumePrefix(&rest, "VmRSS:")) {
      rest = absl::StripSuffix(absl::StripAsciiWhitespace(rest), "kB");
      int64_t kib = -1;
      if (absl::SimpleAtoi(absl::StripAsciiWhitespace(rest), &kib)) return kib;
    }
  }
  return -1;
}

// Latencies in 10 µs buckets up to 60 s.
class Histogram {
 public:
  static constexpr int64_t kBucketNanos = 10'000;
  static constexpr size_t kBuckets = 6'000'000;

  Histogram() : buckets_(kBuckets) {}
  void Add(int64_t nanos) {
    size_t b = std::min<size_t>(std::max<int64_t>(nanos, 0) / kBucketNanos,
                                kBuckets - 1);
    buckets_[b].fetch_add(1, std::memory_order_relaxed);
    count_.fetch_add(1, std::memory_order_relaxed);
  }
  int64_t count() const { return count_.load(); }
  // Upper edge of the bucket holding quantile q, in milliseconds.
  double QuantileMs(double q) const {
    int64_t total = count_.load();
    if (total == 0) return 0;
    int64_t want = std::min<int64_t>(
        total - 1, static_cast<int64_t>(q * static_cast<double>(total)));
    int64_t seen = 0;
    for (size_t b = 0; b < kBuckets; ++b) {
      seen += buckets_[b].load(std::memory_order_relaxed);
      if (seen > want) return (b + 1) * kBucketNanos / 1e6;
    }
    return kBuckets * kBucketNanos / 1e6;
  }
  void Reset() {
    for (auto& b : buckets_) b.store(0);
    count_.store(0);
  }

 private:
  std::vector<std::atomic<int64_t>> buckets_;
  std::atomic<int64_t> count_{0};
};

struct Shared {
  Histogram latency;
  std::atomic<int64_t> delivered{0};
  std::atomic<int64_t> heartbeats{0};
  std::atomic<int> ended{0};
  std::atomic<int> failed{0};
  absl::Mutex mu;
  std::string first_error ABSL_GUARDED_BY(mu);
};

class Subscriber : public grpc::ClientReadReactor<StreamEventsResponse> {
 public:
  Subscriber(v1::EventService::Stub* stub, const std::string& key,
             const std::string& after, Shared* shared)
      : shared_(shared) {
    context_.AddMetadata("authorization", absl::StrCat("Bearer ", key));
    v1::StreamEventsRequest request;
    request.set_after(after);
    stub->async()->StreamEvents(&context_, &request, this);
    StartRead(&message_);
    StartCall();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // OnDone follows
    if (message_.has_event()) {
      absl::string_view text =
          message_.event().has_lead_enriched() &&
                  message_.event().lead_enriched().posts_size() > 0
              ? message_.event().lead_enriched().posts(0).text()
              : message_.event().dm().message();
      const int64_t now = NowNanos();
      int64_t sent = 0;
      std::pair<absl::string_view, absl::string_view> parts =
          absl::StrSplit(text, absl::MaxSplits('/', 1));
      if (absl::ConsumePrefix(&parts.first, kTag) &&
          absl::SimpleAtoi(parts.first, &sent)) {
        shared_->latency.Add(now - sent);
      }
      int64_t number = -1;
      if (absl::SimpleAtoi(parts.second, &number) && number >= 0) {
        received_.push_back({number, now});
      }
      shared_->delivered.fetch_add(1, std::memory_order_relaxed);
    } else {
      shared_->heartbeats.fetch_add(1, std::memory_order_relaxed);
    }
    StartRead(&message_);
  }

  void OnDone(const grpc::Status& status) override {
    if (!status.ok() && status.error_code() != grpc::StatusCode::CANCELLED) {
      shared_->failed.fetch_add(1);
      absl::MutexLock lock(&shared_->mu);
      if (shared_->first_error.empty()) {
        shared_->first_error =
            absl::StrCat(status.error_code(), ": ", status.error_message());
      }
    }
    shared_->ended.fetch_add(1);
  }

  void Cancel() { context_.TryCancel(); }

  // (event number, arrival) of each numbered event; read only once the
  // stream has ended (OnDone ran), as gRPC's threads append to it.
  const std::vector<std::pair<int64_t, int64_t>>& received() const {
    return received_;
  }

 private:
  std::vector<std::pair<int64_t, int64_t>> received_;
  Shared* shared_;
  grpc::ClientContext context_;
  StreamEventsResponse message_;
};

bool PublishAt(v1::EventService::Stub& stub, const std::string& key,
               const std::string& tag, std::string* cursor) {
  grpc::ClientContext context;
  context.AddMetadata("authorization", absl::StrCat("Bearer ", key));
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  v1::PublishEventRequest request;
  if (int bytes = absl::GetFlag(FLAGS_event_bytes); bytes > 0) {
    constexpr int kPostText = 16 * 1024;  // the free-text limit
    request.set_type("lead.enriched");
    auto* data = request.mutable_lead_enriched();
    data->add_posts()->set_text(tag);
    for (int used = 64; used + kPostText + 32 <= bytes;
         used += kPostText + 32) {
      data->add_posts()->set_text(std::string(kPostText, 'p'));
    }
  } else {
    request.set_type("dm.sent");
    request.mutable_dm()->set_platform("bench");
    request.mutable_dm()->set_message(tag);
  }
  v1::PublishEventResponse response;
  grpc::Status status = stub.PublishEvent(&context, request, &response);
  if (!status.ok()) {
    std::fprintf(stderr, "PublishEvent: %d %s\n", status.error_code(),
                 status.error_message().c_str());
    return false;
  }
  if (cursor != nullptr) *cursor = response.event().cursor();
  return true;
}

void RaiseFileLimit(int wanted) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  rlim_t target = std::min<rlim_t>(limit.rlim_max, wanted);
  if (limit.rlim_cur < target) {
    limit.rlim_cur = target;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

// Waits until `done` holds or `timeout` passes; polls a counter.
bool WaitFor(const std::function<bool()>& done, absl::Duration timeout) {
  const absl::Time give_up = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() > give_up) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

int Run() {
  const std::string target = absl::GetFlag(FLAGS_target);
  const std::string key = absl::GetFlag(FLAGS_api_key);
  const int n = absl::GetFlag(FLAGS_subscribers);
  const int per_channel =
      std::max(1, absl::GetFlag(FLAGS_subscribers_per_channel));
  const double rate = absl::GetFlag(FLAGS_rate);
  const int seconds = absl::GetFlag(FLAGS_seconds);
  const int pid = absl::GetFlag(FLAGS_server_pid);
  const std::string label = absl::GetFlag(FLAGS_label);
  if (key.empty()) {
    std::fprintf(stderr, "--api_key is required\n");
    return 2;
  }
  RaiseFileLimit(n / per_channel + 4096);

  auto control = v1::EventService::NewStub(
      grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
  std::string start_cursor;
  if (!PublishAt(*control, key, "bench start", &start_cursor)) return 1;

  const int64_t rss_start = ResidentKib(pid);
  auto shared = std::make_unique<Shared>();
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  std::vector<std::unique_ptr<v1::EventService::Stub>> stubs;
  for (int c = 0; c * per_channel < n; ++c) {
    grpc::ChannelArguments args;
    args.SetInt("leadrelay.bench.channel", c);
    channels.push_back(grpc::CreateCustomChannel(
        target, grpc::InsecureChannelCredentials(), args));
    stubs.push_back(v1::EventService::NewStub(channels.back()));
  }
  const absl::Time open_start = absl::Now();
  std::vector<std::unique_ptr<Subscriber>> subs;
  subs.reserve(n);
  for (int i = 0; i < n; ++i) {
    subs.push_back(std::make_unique<Subscriber>(
        stubs[i / per_channel].get(), key, start_cursor, shared.get()));
  }
  // A warm-up event reaching every subscriber proves every stream is open.
  if (!PublishAt(*control, key, absl::StrCat(kTag, NowNanos()), nullptr)) {
    return 1;
  }
  // Cancels every stream and waits until all have ended; true when they
  // did. Calling it again is harmless (cancelling an ended stream is a
  // no-op).
  auto end_streams = [&] {
    for (auto& s : subs) s->Cancel();
    return WaitFor([&] { return shared->ended.load() >= n; },
                   absl::Seconds(60));
  };
  bool warm = WaitFor(
      [&] { return shared->delivered.load() + shared->failed.load() >= n; },
      absl::Seconds(120));
  const absl::Duration open_time = absl::Now() - open_start;
  const int64_t rss_open = ResidentKib(pid);
  std::printf(
      "[%s] %d subscribers on %zu channels open in %.2f s (warm-up %s, %d "
      "failed%s%s); server VmRSS %.1f MiB before, %.1f MiB with streams open "
      "(%.1f KiB per stream)\n",
      label.c_str(), n, channels.size(), absl::ToDoubleSeconds(open_time),
      warm ? "delivered to all" : "INCOMPLETE", shared->failed.load(),
      shared->failed.load() > 0 ? ", first error " : "",
      [&] {
        absl::MutexLock lock(&shared->mu);
        return shared->first_error;
      }()
          .c_str(),
      rss_start / 1024.0, rss_open / 1024.0,
      n > 0 ? static_cast<double>(rss_open - rss_start) / n : 0.0);

  if (rate > 0 && warm) {
    shared->latency.Reset();
    shared->delivered.store(0);
    const int publishers = std::max(1, absl::GetFlag(FLAGS_publishers));
    const int64_t total = static_cast<int64_t>(rate * seconds);
    const absl::Duration interval = absl::Seconds(1) / rate;
    const absl::Time t0 = absl::Now() + absl::Milliseconds(100);
    std::atomic<int64_t> published{0};
    std::atomic<int64_t> late{0};
    // When each event's PublishEvent returned (0: it failed).
    std::vector<std::atomic<int64_t>> committed(total);
    Histogram round_trip;
    std::vector<std::thread> threads;
    for (int p = 0; p < publishers; ++p) {
      threads.emplace_back([&, p] {
        grpc::ChannelArguments args;
        args.SetInt("leadrelay.bench.publisher", p);
        auto stub = v1::EventService::NewStub(grpc::CreateCustomChannel(
            target, grpc::InsecureChannelCredentials(), args));
        for (int64_t i = p; i < total; i += publishers) {
          absl::Time due = t0 + interval * i;
          absl::Duration wait = due - absl::Now();
          if (wait > absl::ZeroDuration()) {
            absl::SleepFor(wait);
          } else if (wait < -interval) {
            late.fetch_add(1);
          }
          const int64_t start = NowNanos();
          if (PublishAt(*stub, key, absl::StrCat(kTag, start, "/", i),
                        nullptr)) {
            const int64_t end = NowNanos();
            committed[i].store(end);
            round_trip.Add(end - start);
            published.fetch_add(1);
          }
        }
      });
    }
    for (auto& t : threads) t.join();
    const absl::Time published_at = absl::Now();
    int64_t rss_peak = ResidentKib(pid);
    const int64_t want = published.load() * n;
    bool all = WaitFor([&] { return shared->delivered.load() >= want; },
                       absl::Seconds(60));
    const absl::Time done_at = absl::Now();
    rss_peak = std::max(rss_peak, ResidentKib(pid));
    const double elapsed = absl::ToDoubleSeconds(done_at - t0);
    std::printf(
        "[%s] published %lld events in %.2f s (target %.0f/s, %lld behind "
        "schedule); delivered %lld of %lld (%s) in %.2f s = %.0f messages/s\n",
        label.c_str(), static_cast<long long>(published.load()),
        absl::ToDoubleSeconds(published_at - t0), rate,
        static_cast<long long>(late.load()),
        static_cast<long long>(shared->delivered.load()),
        static_cast<long long>(want), all ? "all" : "INCOMPLETE", elapsed,
        shared->delivered.load() / elapsed);
    std::printf(
        "[%s] publish-to-receive latency: p50 %.2f ms, p90 %.2f ms, p99 %.2f "
        "ms, p99.9 %.2f ms, max %.2f ms (%lld samples); server VmRSS peak "
        "%.1f MiB\n",
        label.c_str(), shared->latency.QuantileMs(0.50),
        shared->latency.QuantileMs(0.90), shared->latency.QuantileMs(0.99),
        shared->latency.QuantileMs(0.999), shared->latency.QuantileMs(1.0),
        static_cast<long long>(shared->latency.count()), rss_peak / 1024.0);
    // The stream's own part: from the commit (PublishEvent returned) to
    // arrival. An event can arrive before its publisher sees the reply: 0.
    // Read once every stream has ended, so no callback still appends.
    const bool ended = end_streams();
    Histogram after_commit;
    if (all && ended) {
      for (const auto& sub : subs) {
        for (const auto& [number, arrived] : sub->received()) {
          if (number >= total) continue;
          const int64_t at = committed[number].load();
          if (at > 0) after_commit.Add(arrived - at);
        }
      }
    }
    std::printf(
        "[%s] PublishEvent round trip: p50 %.2f ms, p99 %.2f ms; "
        "commit-to-receive (from PublishEvent's return): p50 %.2f ms, p90 "
        "%.2f ms, p99 %.2f ms, max %.2f ms (%lld samples)\n",
        label.c_str(), round_trip.QuantileMs(0.50), round_trip.QuantileMs(0.99),
        after_commit.QuantileMs(0.50), after_commit.QuantileMs(0.90),
        after_commit.QuantileMs(0.99), after_commit.QuantileMs(1.0),
        static_cast<long long>(after_commit.count()));
  }
  end_streams();
  std::printf("[%s] after closing the streams: server VmRSS %.1f MiB\n",
              label.c_str(), ResidentKib(pid) / 1024.0);
  std::fflush(stdout);
  return warm ? 0 : 1;
}

}  // namespace
}  // namespace leadrelay::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "StreamEvents fan-out benchmark: many subscribers, fixed publish rate");
  absl::ParseCommandLine(argc, argv);
  absl::SetMutexDeadlockDetectionMode(
      absl::OnDeadlockCycle::kIgnore);  // see grpc_bench.cc
  return leadrelay::bench::Run();
}
