// StreamEvents behaviour that depends on server flags or on the server
// process itself: heartbeats, the per-key stream limit, shutdown, and slow
// readers against the server's memory. Each test starts its own
// leadrelay-server (with the flags it needs) on the harness database.

#include <signal.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "http_client.h"
#include "stream/stream_support.h"
#include "support/harness.h"

namespace leadrelay::itest {
namespace {

using ::grpc::StatusCode;

class StreamServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<Harness>> harness = Harness::Start(1);
    if (!harness.ok()) {
      setup_error_ = std::string(harness.status().message());
      return;
    }
    harness_ = *std::move(harness);
  }

  static void TearDownTestSuite() {
    if (harness_ != nullptr && failed_) harness_->KeepLogs();
    harness_.reset();
  }

  void SetUp() override {
    ASSERT_NE(harness_, nullptr) << "set-up failed: " << setup_error_;
    absl::StatusOr<Account> account =
        harness_->BootstrapAccount(UniqueName("stream"), "internal", 1000000);
    ASSERT_TRUE(account.ok()) << account.status();
    account_ = *account;
    key_ = account_.admin_key;
  }

  void TearDown() override {
    if (HasFailure() && harness_ != nullptr) {
      failed_ = true;
      std::cerr << harness_->LogTails() << std::flush;
      if (server_ != nullptr) {
        std::cerr << "---- extra server log:\n" << server_->LogTail(60);
      }
    }
    server_.reset();
  }

  // Starts server_ with `flags`.
  ::testing::AssertionResult StartServer(
      const std::vector<std::string>& flags) {
    absl::StatusOr<std::unique_ptr<ExtraServer>> server =
        ExtraServer::Start(*harness_, key_, flags);
    if (!server.ok()) {
      return ::testing::AssertionFailure() << server.status();
    }
    server_ = *std::move(server);
    return ::testing::AssertionSuccess();
  }

  v1::EventService::Stub& harness_events() { return *harness_->api().events; }
  v1::EventService::Stub& server_events() { return *server_->api().events; }

  v1::Event Publish(const v1::PublishEventRequest& request,
                    const std::string& key = "") {
    absl::StatusOr<v1::Event> event =
        itest::Publish(harness_events(), key.empty() ? key_ : key, request);
    EXPECT_TRUE(event.ok()) << event.status();
    return event.ok() ? *event : v1::Event();
  }

  static v1::StreamEventsRequest After(const std::string& cursor) {
    v1::StreamEventsRequest request;
    request.set_after(cursor);
    return request;
  }

  // Waits for a heartbeat whose cursor is `cursor`.
  static bool WaitForHeartbeatAt(Subscription& sub, const std::string& cursor) {
    return sub.WaitUntil([&](const Subscription::View& v) {
      if (v.end.has_value()) return true;
      for (const v1::StreamEventsResponse& m : v.messages) {
        if (m.has_heartbeat() && m.cursor() == cursor) return true;
      }
      return false;
    }) && !sub.End().has_value();
  }

  // The stream gets its first heartbeat (the server took it) and is open.
  static bool IsOpen(Subscription& sub) {
    return sub.WaitUntil([](const Subscription::View& v) {
      return v.heartbeats >= 1 || v.end.has_value();
    }) && !sub.End().has_value();
  }

  // Opens streams with `key` until one stays open (the server has seen a
  // cancellation that freed a slot); every refusal before must be
  // RESOURCE_EXHAUSTED `reason`.
  ::testing::AssertionResult OpensOnceASlotFrees(const std::string& key,
                                                 const std::string& reason) {
    std::string last;
    const absl::Time give_up = absl::Now() + kPatience;
    while (absl::Now() < give_up) {
      Subscription again(server_events(), key, v1::StreamEventsRequest());
      if (IsOpen(again)) return ::testing::AssertionSuccess();
      last = again.Summary();
      if (!HasError(*again.End(), StatusCode::RESOURCE_EXHAUSTED, reason)) {
        return ::testing::AssertionFailure() << "refused otherwise: " << last;
      }
    }
    return ::testing::AssertionFailure() << "never reopened: " << last;
  }

  static std::unique_ptr<Harness> harness_;
  static std::string setup_error_;
  static bool failed_;
  Account account_;
  std::string key_;
  std::unique_ptr<ExtraServer> server_;
};

std::unique_ptr<Harness> StreamServerTest::harness_;
std::string StreamServerTest::setup_error_;
bool StreamServerTest::failed_ = false;

// The cursor after "after=" in a status message, or "".
std::string ResumeCursorIn(const std::string& message) {
  size_t at = message.find("after=");
  if (at == std::string::npos) return "";
  size_t begin = at + 6;
  size_t end = begin;
  while (end < message.size() &&
         (std::isalnum(static_cast<unsigned char>(message[end])) ||
          message[end] == '-' || message[end] == '_' || message[end] == '=')) {
    ++end;
  }
  return message.substr(begin, end - begin);
}

// --- Heartbeats ------------------------------------------------------------

TEST_F(StreamServerTest, IdleStreamsGetHeartbeatsWithTheCurrentCursor) {
  ASSERT_TRUE(StartServer({"--stream_heartbeat_interval=1s"}));
  v1::Event marker = Publish(DmSent("marker"));
  Subscription sub(server_events(), key_, After(marker.cursor()));
  ASSERT_TRUE(sub.WaitUntil([](const Subscription::View& v) {
    return v.heartbeats >= 2 || v.end.has_value();
  })) << sub.Summary();
  ASSERT_FALSE(sub.End().has_value()) << sub.Summary();
  for (const v1::StreamEventsResponse& m : sub.Messages()) {
    ASSERT_TRUE(m.has_heartbeat()) << m.ShortDebugString();
    EXPECT_EQ(m.cursor(), marker.cursor());
    EXPECT_GT(m.heartbeat().time().seconds(), 0);
  }

  v1::Event event = Publish(DmSent("wakes the stream"));
  ASSERT_TRUE(sub.WaitForEvents(1)) << sub.Summary();
  EXPECT_EQ(sub.Events()[0].id(), event.id());
  EXPECT_TRUE(WaitForHeartbeatAt(sub, event.cursor())) << sub.Summary();

  // A stream from now on an account without events has a usable cursor too.
  absl::StatusOr<Account> empty =
      harness_->BootstrapAccount(UniqueName("empty"), "internal", 10);
  ASSERT_TRUE(empty.ok()) << empty.status();
  Subscription idle(server_events(), empty->admin_key,
                    v1::StreamEventsRequest());
  ASSERT_TRUE(idle.WaitUntil([](const Subscription::View& v) {
    return v.heartbeats >= 1 || v.end.has_value();
  })) << idle.Summary();
  const std::string start = idle.Messages().at(0).cursor();
  ASSERT_FALSE(start.empty());
  v1::Event first = Publish(DmSent("first ever"), empty->admin_key);
  Subscription resumed(harness_events(), empty->admin_key, After(start));
  ASSERT_TRUE(resumed.WaitForEvents(1)) << resumed.Summary();
  EXPECT_EQ(resumed.Events()[0].id(), first.id());
  ASSERT_TRUE(idle.WaitForEvents(1)) << idle.Summary();
  EXPECT_EQ(idle.Events()[0].id(), first.id());
}

TEST_F(StreamServerTest, FilteredStreamsHeartbeatCursorMovesPastSkippedEvents) {
  ASSERT_TRUE(StartServer({"--stream_heartbeat_interval=1s"}));
  v1::Event marker = Publish(DmSent("marker"));
  v1::StreamEventsRequest jobs = After(marker.cursor());
  jobs.add_types("job.completed");
  v1::StreamEventsRequest solar = After(marker.cursor());
  solar.add_verticals("solar");
  Subscription jobs_sub(server_events(), key_, jobs);
  Subscription solar_sub(server_events(), key_, solar);

  Publish(DmSent("skipped 1"));
  v1::Event last_skipped = Publish(EventOfType("follower.gained", "skipped 2"));
  EXPECT_TRUE(WaitForHeartbeatAt(jobs_sub, last_skipped.cursor()))
      << jobs_sub.Summary();
  EXPECT_TRUE(WaitForHeartbeatAt(solar_sub, last_skipped.cursor()))
      << solar_sub.Summary();
  EXPECT_EQ(jobs_sub.Events().size(), 0u) << jobs_sub.Summary();
  EXPECT_EQ(solar_sub.Events().size(), 0u) << solar_sub.Summary();

  // Resuming from the heartbeat's cursor continues right after the skipped
  // events: the next matching event is the first thing received.
  v1::Event job = Publish(EventOfType("job.completed", "matches"));
  v1::StreamEventsRequest resume = jobs;
  resume.set_after(last_skipped.cursor());
  Subscription resumed(harness_events(), key_, resume);
  ASSERT_TRUE(resumed.WaitForEvents(1)) << resumed.Summary();
  EXPECT_EQ(resumed.Events()[0].id(), job.id());
  ASSERT_TRUE(jobs_sub.WaitForEvents(1)) << jobs_sub.Summary();
  EXPECT_EQ(jobs_sub.Events()[0].id(), job.id());
  EXPECT_TRUE(WaitForHeartbeatAt(solar_sub, job.cursor()))
      << solar_sub.Summary();
  EXPECT_EQ(solar_sub.Events().size(), 0u) << solar_sub.Summary();
}

// --- Per-key limit ---------------------------------------------------------

TEST_F(StreamServerTest, MoreStreamsThanTheKeyLimitAreResourceExhausted) {
  ASSERT_TRUE(StartServer(
      {"--max_streams_per_key=3", "--stream_heartbeat_interval=1s"}));
  std::vector<std::unique_ptr<Subscription>> open;
  for (int i = 0; i < 3; ++i) {
    open.push_back(std::make_unique<Subscription>(server_events(), key_,
                                                  v1::StreamEventsRequest()));
    ASSERT_TRUE(IsOpen(*open.back())) << i << ": " << open.back()->Summary();
  }
  {
    Subscription fourth(server_events(), key_, v1::StreamEventsRequest());
    std::optional<grpc::Status> end = fourth.WaitForEnd();
    ASSERT_TRUE(end.has_value()) << fourth.Summary();
    EXPECT_TRUE(
        HasError(*end, StatusCode::RESOURCE_EXHAUSTED, "too_many_streams"));
    EXPECT_FALSE(RetryInfoOf(*end).has_value());
  }
  // The limit is per key: another key of the account still streams.
  absl::StatusOr<std::string> other_key =
      CreateKey(harness_->api(), key_, {"read"});
  ASSERT_TRUE(other_key.ok()) << other_key.status();
  Subscription other(server_events(), *other_key, v1::StreamEventsRequest());
  EXPECT_TRUE(IsOpen(other)) << other.Summary();

  // Closing one frees a slot (once the server has seen the cancellation).
  open.front()->Cancel();
  EXPECT_TRUE(OpensOnceASlotFrees(key_, "too_many_streams"));
}

TEST_F(StreamServerTest, TheServerWideStreamLimitRefusesAnyKeyWithRetryAfter) {
  ASSERT_TRUE(StartServer({"--max_streams=3", "--max_streams_per_key=10",
                           "--stream_heartbeat_interval=1s"}));
  absl::StatusOr<Account> other =
      harness_->BootstrapAccount(UniqueName("stream-other"), "internal", 1000);
  ASSERT_TRUE(other.ok()) << other.status();
  // Three streams over two accounts fill the server.
  std::vector<std::unique_ptr<Subscription>> open;
  for (const std::string& key : {key_, key_, other->admin_key}) {
    open.push_back(std::make_unique<Subscription>(server_events(), key,
                                                  v1::StreamEventsRequest()));
    ASSERT_TRUE(IsOpen(*open.back())) << open.back()->Summary();
  }
  {
    // A key with no stream of its own is refused too, with a retry delay.
    Subscription fourth(server_events(), other->admin_key,
                        v1::StreamEventsRequest());
    std::optional<grpc::Status> end = fourth.WaitForEnd();
    ASSERT_TRUE(end.has_value()) << fourth.Summary();
    EXPECT_TRUE(HasError(*end, StatusCode::RESOURCE_EXHAUSTED,
                         "too_many_server_streams"));
    std::optional<google::rpc::RetryInfo> retry = RetryInfoOf(*end);
    ASSERT_TRUE(retry.has_value()) << Describe(*end);
    EXPECT_GT(retry->retry_delay().seconds(), 0);
  }
  // The open streams were not disturbed.
  for (auto& sub : open) EXPECT_FALSE(sub->End().has_value()) << sub->Summary();

  // Any stream's end frees a slot for any key.
  open.front()->Cancel();
  EXPECT_TRUE(OpensOnceASlotFrees(other->admin_key, "too_many_server_streams"));
}

// --- Shutdown --------------------------------------------------------------

TEST_F(StreamServerTest, ShutdownEndsStreamsWithUnavailableAndAResumeCursor) {
  ASSERT_TRUE(StartServer({}));
  v1::Event marker = Publish(DmSent("marker"));
  Subscription all(server_events(), key_, After(marker.cursor()));
  v1::StreamEventsRequest jobs = After(marker.cursor());
  jobs.add_types("job.completed");
  Subscription jobs_only(server_events(), key_, jobs);
  std::vector<v1::Event> seen;
  for (int i = 0; i < 5; ++i) seen.push_back(Publish(DmSent("before")));
  ASSERT_TRUE(all.WaitForEvents(5)) << all.Summary();

  ASSERT_EQ(kill(server_->pid(), SIGTERM), 0);
  std::optional<grpc::Status> end = all.WaitForEnd();
  std::optional<grpc::Status> jobs_end = jobs_only.WaitForEnd();
  ASSERT_TRUE(end.has_value()) << all.Summary();
  ASSERT_TRUE(jobs_end.has_value()) << jobs_only.Summary();
  std::cout << "SIGTERM ended the streams with: " << Describe(*end)
            << " / filtered: " << Describe(*jobs_end) << "\n"
            << "server: " << server_->process().Stop() << std::endl;
  EXPECT_EQ(end->error_code(), StatusCode::UNAVAILABLE) << Describe(*end);
  EXPECT_EQ(jobs_end->error_code(), StatusCode::UNAVAILABLE)
      << Describe(*jobs_end);
  EXPECT_EQ(all.Events().size(), 5u) << all.Summary();
  const std::string cursor = ResumeCursorIn(end->error_message());
  const std::string jobs_cursor = ResumeCursorIn(jobs_end->error_message());
  ASSERT_FALSE(cursor.empty()) << "no after=<cursor> in: " << Describe(*end);
  // The stream delivered every event: resuming from anything older than
  // the last delivered cursor would send an event twice.
  EXPECT_EQ(cursor, all.Messages().back().cursor())
      << "the shutdown status names an older cursor than the last event "
         "the client received: "
      << Describe(*end) << "; " << all.Summary();
  EXPECT_FALSE(jobs_cursor.empty())
      << "no after=<cursor> in: " << Describe(*jobs_end);

  // Resuming elsewhere from those cursors: no gap, no duplicate.
  std::vector<v1::Event> later;
  later.push_back(Publish(DmSent("after shutdown")));
  later.push_back(Publish(EventOfType("job.completed", "after shutdown")));
  later.push_back(Publish(DmSent("after shutdown")));
  Subscription resumed(harness_events(), key_, After(cursor));
  const std::string last_id = later.back().id();
  ASSERT_TRUE(resumed.WaitUntil([&](const Subscription::View& v) {
    return v.end.has_value() ||
           (!v.messages.empty() && v.messages.back().event().id() == last_id);
  })) << resumed.Summary();
  EXPECT_EQ(FirstDuplicate([&] {
              std::vector<std::string> ids = IdsOf(all.Events());
              for (const v1::Event& e : resumed.Events()) ids.push_back(e.id());
              return ids;
            }()),
            "")
      << "resuming from the shutdown cursor repeats an event";
  std::vector<v1::Event> resumed_events = resumed.Events();
  std::vector<std::string> tail_ids = IdsOf(resumed_events);
  tail_ids.erase(tail_ids.begin(), tail_ids.end() - later.size());
  EXPECT_EQ(tail_ids, IdsOf(later));
  EXPECT_EQ(resumed_events.size(), later.size()) << resumed.Summary();
  if (jobs_cursor.empty()) return;
  jobs.set_after(jobs_cursor);
  Subscription jobs_resumed(harness_events(), key_, jobs);
  ASSERT_TRUE(jobs_resumed.WaitForEvents(1)) << jobs_resumed.Summary();
  EXPECT_EQ(jobs_resumed.Events()[0].id(), later[1].id());
}

// SIGTERM right after an event reached the client: the status must not
// name a cursor before that event (resuming from it would repeat it).
TEST_F(StreamServerTest, ShutdownCursorIsNotBehindAnEventJustDelivered) {
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(StartServer({}));
    v1::Event marker = Publish(DmSent("marker"));
    Subscription sub(server_events(), key_, After(marker.cursor()));
    v1::StreamEventsRequest jobs = After(marker.cursor());
    jobs.add_types("job.completed");
    Subscription filtered(server_events(), key_, jobs);
    v1::Event event = Publish(DmSent("just delivered"));
    ASSERT_TRUE(sub.WaitForEvents(1)) << sub.Summary();
    ASSERT_EQ(kill(server_->pid(), SIGTERM), 0);
    std::optional<grpc::Status> end = sub.WaitForEnd();
    ASSERT_TRUE(end.has_value()) << sub.Summary();
    EXPECT_EQ(end->error_code(), StatusCode::UNAVAILABLE) << Describe(*end);
    EXPECT_EQ(ResumeCursorIn(end->error_message()), event.cursor())
        << "round " << round << ": the client received " << event.cursor()
        << " (" << sub.Summary() << ") but the status says " << Describe(*end);
    std::optional<grpc::Status> filtered_end = filtered.WaitForEnd();
    ASSERT_TRUE(filtered_end.has_value());
    EXPECT_EQ(filtered_end->error_code(), StatusCode::UNAVAILABLE)
        << Describe(*filtered_end);
    EXPECT_FALSE(ResumeCursorIn(filtered_end->error_message()).empty())
        << Describe(*filtered_end);
    server_->process().Stop();
    server_.reset();
  }
}

// --- Slow readers ----------------------------------------------------------

// Readers that open their streams first and read nothing until `events`
// events have been published (by 4 concurrent publishers, each event
// carrying ~1 KiB), then read everything; checks the server's RSS growth.
void RunSlowReaders(ExtraServer& server, const std::string& key, int readers,
                    int events) {
  absl::StatusOr<v1::Event> marker =
      Publish(*server.api().events, key, DmSent("marker"));
  ASSERT_TRUE(marker.ok()) << marker.status();
  struct Reader {
    ~Reader() { context.TryCancel(); }
    grpc::ClientContext context;
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<v1::EventService::Stub> stub;
    std::unique_ptr<grpc::ClientReader<v1::StreamEventsResponse>> stream;
  };
  std::vector<std::unique_ptr<Reader>> slow;
  for (int i = 0; i < readers; ++i) {
    auto r = std::make_unique<Reader>();
    grpc::ChannelArguments args;
    args.SetInt("leadrelay.test.reader", i);
    r->channel = grpc::CreateCustomChannel(
        server.address(), grpc::InsecureChannelCredentials(), args);
    r->stub = v1::EventService::NewStub(r->channel);
    r->context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Minutes(8)));
    r->context.AddMetadata("authorization", absl::StrCat("Bearer ", key));
    v1::StreamEventsRequest request;
    request.set_after(marker->cursor());
    r->stream = r->stub->StreamEvents(&r->context, request);
    slow.push_back(std::move(r));
  }
  const int64_t rss_before = ResidentKib(server.pid());

  constexpr int kPublishers = 4;
  const std::string filler(1024, 'x');
  std::vector<std::thread> threads;
  std::vector<int> failures(kPublishers, 0);
  for (int t = 0; t < kPublishers; ++t) {
    threads.emplace_back([&, t] {
      grpc::ChannelArguments args;
      args.SetInt("leadrelay.test.publisher", t);
      auto stub = v1::EventService::NewStub(grpc::CreateCustomChannel(
          server.address(), grpc::InsecureChannelCredentials(), args));
      for (int i = t; i < events; i += kPublishers) {
        if (!Publish(*stub, key, DmSent(absl::StrCat(i, filler))).ok()) {
          ++failures[t];
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  const int64_t rss_published = ResidentKib(server.pid());
  for (int f : failures) ASSERT_EQ(f, 0) << "publishes failed";

  absl::StatusOr<std::vector<v1::Event>> want =
      ListAllEvents(*server.api().events, key, marker->cursor());
  ASSERT_TRUE(want.ok()) << want.status();
  ASSERT_EQ(static_cast<int>(want->size()), events);
  int64_t rss_peak = rss_published;
  for (size_t r = 0; r < slow.size(); ++r) {
    std::vector<std::string> got;
    v1::StreamEventsResponse message;
    while (static_cast<int>(got.size()) < events &&
           slow[r]->stream->Read(&message)) {
      if (!message.has_event()) continue;
      EXPECT_EQ(message.cursor(), message.event().cursor());
      got.push_back(message.event().id());
      if (got.size() % 1000 == 0) {
        rss_peak = std::max(rss_peak, ResidentKib(server.pid()));
      }
    }
    slow[r]->context.TryCancel();
    grpc::Status end = slow[r]->stream->Finish();
    ASSERT_EQ(static_cast<int>(got.size()), events)
        << "reader " << r << " ended early: " << Describe(end);
    EXPECT_EQ(FirstDuplicate(got), "") << "reader " << r;
    EXPECT_EQ(got, IdsOf(*want)) << "reader " << r << ": wrong order or ids";
  }
  const int64_t rss_after = ResidentKib(server.pid());
  const int64_t growth = std::max(rss_published, rss_peak) - rss_before;
  std::cout << "slow readers=" << readers << " events=" << events
            << " server VmRSS KiB: before=" << rss_before
            << " after publishing=" << rss_published
            << " peak while reading=" << rss_peak << " after=" << rss_after
            << " growth=" << growth << " KiB (" << growth / 1024 << " MiB)"
            << std::endl;
  ::testing::Test::RecordProperty(
      absl::StrCat("rss_growth_kib_", readers, "_readers"),
      static_cast<int>(growth));
  ASSERT_GT(rss_before, 0);
  EXPECT_LT(growth, 200 * 1024)
      << "server memory grew by " << growth << " KiB with slow readers";
}

TEST_F(StreamServerTest, SlowReadersReceiveEverythingInOrderInBoundedMemory) {
  ASSERT_TRUE(StartServer({}));
  RunSlowReaders(*server_, key_, 4, 5000);
}

TEST_F(StreamServerTest, SlowReaderBeyondASmallRingCatchesUpFromTheLog) {
  ASSERT_TRUE(StartServer({"--stream_ring_capacity=64"}));
  RunSlowReaders(*server_, key_, 2, 3000);
}

// The value of leadrelay_stream_buffered_bytes on the admin server at
// `admin_port`, or -1 when the scrape fails.
double BufferedBytes(int admin_port) {
  gateway::testing::HttpResponse response =
      gateway::testing::Fetch(admin_port, "GET", "/metrics");
  if (response.status != 200) return -1;
  constexpr absl::string_view kName = "leadrelay_stream_buffered_bytes ";
  for (absl::string_view line : absl::StrSplit(response.body, '\n')) {
    double value = 0;
    if (absl::ConsumePrefix(&line, kName) &&
        absl::SimpleAtod(absl::StripAsciiWhitespace(line), &value)) {
      return value;
    }
  }
  return -1;
}

TEST_F(StreamServerTest, AccountsShareTheServersStreamMemoryAndLoseNothing) {
  // 1 MiB for every account's streams together (rings 512 KiB, queues
  // 512 KiB) while two accounts each publish ~2 MiB to two stalled readers.
  constexpr int64_t kTotal = 1 << 20;
  constexpr int kEvents = 2000;
  constexpr int kReadersPerAccount = 2;
  absl::StatusOr<int> admin_port = PickFreePort();
  ASSERT_TRUE(admin_port.ok()) << admin_port.status();
  ASSERT_TRUE(
      StartServer({absl::StrCat("--stream_total_bytes=", kTotal),
                   absl::StrCat("--admin_address=127.0.0.1:", *admin_port)}));
  absl::StatusOr<Account> other =
      harness_->BootstrapAccount(UniqueName("stream-other"), "internal", 1000);
  ASSERT_TRUE(other.ok()) << other.status();
  const std::vector<std::string> keys = {key_, other->admin_key};

  struct Reader {
    ~Reader() { context.TryCancel(); }
    size_t account = 0;
    grpc::ClientContext context;
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<v1::EventService::Stub> stub;
    std::unique_ptr<grpc::ClientReader<v1::StreamEventsResponse>> stream;
    std::vector<std::string> got;
  };
  std::vector<std::string> markers;
  std::vector<std::unique_ptr<Reader>> readers;
  for (size_t a = 0; a < keys.size(); ++a) {
    absl::StatusOr<v1::Event> marker =
        itest::Publish(server_events(), keys[a], DmSent("marker"));
    ASSERT_TRUE(marker.ok()) << marker.status();
    markers.push_back(marker->cursor());
    for (int i = 0; i < kReadersPerAccount; ++i) {
      auto r = std::make_unique<Reader>();
      r->account = a;
      grpc::ChannelArguments args;
      args.SetInt("leadrelay.test.reader", static_cast<int>(readers.size()));
      r->channel = grpc::CreateCustomChannel(
          server_->address(), grpc::InsecureChannelCredentials(), args);
      r->stub = v1::EventService::NewStub(r->channel);
      r->context.set_deadline(
          absl::ToChronoTime(absl::Now() + absl::Minutes(8)));
      r->context.AddMetadata("authorization", absl::StrCat("Bearer ", keys[a]));
      r->stream = r->stub->StreamEvents(&r->context, After(marker->cursor()));
      readers.push_back(std::move(r));
    }
  }

  // The gauge, sampled from another thread while events flow.
  std::atomic<bool> sampling{true};
  std::atomic<double> peak{-1};
  std::atomic<int> samples{0};
  std::thread sampler([&] {
    while (sampling.load()) {
      double v = BufferedBytes(*admin_port);
      if (v >= 0) {
        samples.fetch_add(1);
        if (v > peak.load()) peak.store(v);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });

  const std::string filler(1024, 'x');
  std::vector<std::thread> publishers;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    publishers.emplace_back([&, t] {
      const std::string& key = keys[t % 2];
      grpc::ChannelArguments args;
      args.SetInt("leadrelay.test.publisher", t);
      auto stub = v1::EventService::NewStub(grpc::CreateCustomChannel(
          server_->address(), grpc::InsecureChannelCredentials(), args));
      for (int i = t / 2; i < kEvents; i += 2) {
        if (!itest::Publish(*stub, key, DmSent(absl::StrCat(i, filler))).ok()) {
          ++failures[t];
        }
      }
    });
  }
  for (std::thread& t : publishers) t.join();
  for (int f : failures) ASSERT_EQ(f, 0) << "publishes failed";

  // Every reader, all reading at once now, gets its own account's events,
  // each once, in log order.
  std::vector<std::thread> reading;
  for (auto& r : readers) {
    reading.emplace_back([&r] {
      v1::StreamEventsResponse message;
      while (static_cast<int>(r->got.size()) < kEvents &&
             r->stream->Read(&message)) {
        if (message.has_event()) r->got.push_back(message.event().id());
      }
    });
  }
  for (std::thread& t : reading) t.join();
  sampling.store(false);
  sampler.join();
  for (size_t a = 0; a < keys.size(); ++a) {
    absl::StatusOr<std::vector<v1::Event>> want =
        ListAllEvents(server_events(), keys[a], markers[a]);
    ASSERT_TRUE(want.ok()) << want.status();
    ASSERT_EQ(static_cast<int>(want->size()), kEvents);
    for (auto& r : readers) {
      if (r->account != a) continue;
      EXPECT_EQ(FirstDuplicate(r->got), "");
      EXPECT_EQ(r->got, IdsOf(*want))
          << "account " << a << ": " << r->got.size() << " events";
    }
  }
  // Within the budget, give or take one event per hub worker.
  ASSERT_GT(samples.load(), 0);
  EXPECT_GT(peak.load(), 0);
  EXPECT_LE(peak.load(), kTotal + 16 * 1024);
  std::cout << "stream buffered bytes: peak " << peak.load() << " of " << kTotal
            << " (" << samples.load() << " samples)" << std::endl;

  // Once the streams are gone, nothing stays charged.
  for (auto& r : readers) r->context.TryCancel();
  for (auto& r : readers) (void)r->stream->Finish();
  readers.clear();
  double left = BufferedBytes(*admin_port);
  const absl::Time give_up = absl::Now() + kPatience;
  while (left != 0 && absl::Now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    left = BufferedBytes(*admin_port);
  }
  EXPECT_EQ(left, 0);
}

}  // namespace
}  // namespace leadrelay::itest
