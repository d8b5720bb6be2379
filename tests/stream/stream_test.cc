// StreamEvents over real gRPC against two leadrelay-server replicas on one
// database: live delivery, filters, resume, since, the replay-to-live switch
// under concurrent publishers, late commits, fan-out across replicas,
// account isolation and request validation.

#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "stream/stream_support.h"
#include "support/harness.h"
#include "support/postgres.h"

namespace leadrelay::itest {
namespace {

using ::grpc::StatusCode;

class StreamTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<Harness>> harness = Harness::Start(2);
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
    absl::StatusOr<Account> account = NewAccount();
    ASSERT_TRUE(account.ok()) << account.status();
    account_ = *account;
    key_ = account_.admin_key;
  }

  void TearDown() override {
    if (HasFailure() && harness_ != nullptr) {
      failed_ = true;
      std::cerr << harness_->LogTails() << std::flush;
    }
  }

  // An account without a rate limit and with credits to spare.
  absl::StatusOr<Account> NewAccount() {
    return harness_->BootstrapAccount(UniqueName("stream"), "internal",
                                      1000000);
  }

  v1::EventService::Stub& events(int server = 0) {
    return *harness_->api(server).events;
  }

  // Publishes a dm.sent tagged `tag` with key_ through `server`.
  v1::Event Dm(const std::string& tag, int server = 0) {
    absl::StatusOr<v1::Event> event =
        Publish(events(server), key_, DmSent(tag));
    EXPECT_TRUE(event.ok()) << event.status();
    return event.ok() ? *event : v1::Event();
  }

  // Creates a lead; its lead.new event is what streams see.
  v1::Lead CreateLead(const std::string& vertical, int score,
                      const std::string& key, int server = 0,
                      const std::string& suburb = "Sandton",
                      const std::string& province = "Gauteng") {
    v1::CreateLeadRequest request;
    v1::Lead* lead = request.mutable_lead();
    lead->set_vertical(vertical);
    lead->set_score(score);
    lead->set_first_name("Thandi");
    lead->set_suburb(suburb);
    lead->set_province(province);
    lead->set_external_id(UniqueName("ext"));
    grpc::ClientContext context;
    Authorize(&context, key);
    v1::Lead created;
    grpc::Status status =
        harness_->api(server).leads->CreateLead(&context, request, &created);
    EXPECT_TRUE(IsOk(status)) << "CreateLead " << vertical << " " << score;
    return created;
  }

  // Polls a count(*) query until it is above 0 or patience runs out;
  // returns the last count (-1 when the query failed).
  static int64_t AwaitCount(const std::string& sql) {
    const absl::Time give_up = absl::Now() + kPatience;
    int64_t count = 0;
    while (count == 0 && absl::Now() < give_up) {
      absl::StatusOr<int64_t> n = harness_->db().QueryInt(sql);
      EXPECT_TRUE(n.ok()) << n.status();
      if (!n.ok()) return -1;
      count = *n;
    }
    return count;
  }

  static v1::StreamEventsRequest After(const std::string& cursor) {
    v1::StreamEventsRequest request;
    request.set_after(cursor);
    return request;
  }

  // The events the account logged after `after`, in log order.
  std::vector<v1::Event> Logged(const std::string& after,
                                const std::string& key = "") {
    absl::StatusOr<std::vector<v1::Event>> all =
        ListAllEvents(events(), key.empty() ? key_ : key, after);
    EXPECT_TRUE(all.ok()) << all.status();
    return all.ok() ? *all : std::vector<v1::Event>();
  }

  // Checks that `got` is exactly `want` (ids in order), that each message
  // cursor equals its event's cursor, and that nothing is repeated.
  static void ExpectSameEvents(Subscription& sub,
                               const std::vector<v1::Event>& want,
                               const std::string& what) {
    std::vector<v1::StreamEventsResponse> messages = sub.Messages();
    std::vector<v1::Event> got;
    for (const v1::StreamEventsResponse& m : messages) {
      if (!m.has_event()) continue;
      EXPECT_EQ(m.cursor(), m.event().cursor())
          << what << ": message cursor differs from the event's";
      got.push_back(m.event());
    }
    EXPECT_EQ(FirstDuplicate(IdsOf(got)), "") << what << ": duplicate event";
    ASSERT_EQ(IdsOf(got), IdsOf(want)) << what << ": " << sub.Summary();
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].cursor(), want[i].cursor()) << what << " #" << i;
      EXPECT_EQ(got[i].type(), want[i].type()) << what << " #" << i;
    }
  }

  static std::unique_ptr<Harness> harness_;
  static std::string setup_error_;
  static bool failed_;
  Account account_;
  std::string key_;
};

std::unique_ptr<Harness> StreamTest::harness_;
std::string StreamTest::setup_error_;
bool StreamTest::failed_ = false;

// --- Live delivery ---------------------------------------------------------

TEST_F(StreamTest, FromNowDeliversNewEventsInOrderWithTheirCursors) {
  Dm("before-the-stream");
  Subscription sub(events(), key_, v1::StreamEventsRequest());
  // "From now" starts when the server opens the call; publish probes until
  // one arrives, then everything after it must follow.
  bool live = false;
  for (int i = 0; i < 120 && !live; ++i) {
    Dm(absl::StrCat("probe-", i));
    live = sub.WaitForEvents(1, absl::Milliseconds(500));
  }
  ASSERT_TRUE(live) << "no event within 60 s of publishing: " << sub.Summary();
  const v1::Event first = sub.Events().front();
  EXPECT_NE(first.type(), "") << first.ShortDebugString();
  EXPECT_NE(first.dm().message(), "before-the-stream")
      << "a stream from now must not replay older events";

  std::vector<std::string> tags;
  for (int i = 0; i < 25; ++i) {
    tags.push_back(Dm(absl::StrCat("live-", i)).id());
  }
  std::vector<v1::Event> want = Logged(first.cursor());
  ASSERT_GE(want.size(), tags.size());
  ASSERT_TRUE(sub.WaitForEvents(1 + static_cast<int>(want.size())))
      << sub.Summary();
  std::vector<v1::Event> got = sub.Events();
  got.erase(got.begin());
  std::vector<v1::Event> all = {first};
  all.insert(all.end(), want.begin(), want.end());
  ExpectSameEvents(sub, all, "from now");
  // The published events are among them, in publish order, as the tail.
  std::vector<std::string> got_ids = IdsOf(got);
  ASSERT_GE(got_ids.size(), tags.size());
  std::vector<std::string> tail(got_ids.end() - tags.size(), got_ids.end());
  EXPECT_EQ(tail, tags);
  for (const v1::Event& e : got) {
    EXPECT_EQ(e.account_id(), account_.id);
    EXPECT_EQ(e.type(), "dm.sent");
    EXPECT_TRUE(e.has_created_at());
    EXPECT_FALSE(e.cursor().empty());
  }
  EXPECT_FALSE(sub.End().has_value()) << sub.Summary();
}

TEST_F(StreamTest, CreateLeadReachesTheStreamAsLeadNew) {
  v1::Event marker = Dm("marker");
  Subscription sub(events(), key_, After(marker.cursor()));
  v1::Lead lead = CreateLead("solar", 91, key_);
  ASSERT_TRUE(sub.WaitForEvents(1)) << sub.Summary();
  v1::Event event = sub.Events()[0];
  EXPECT_EQ(event.type(), "lead.new");
  EXPECT_EQ(event.lead().lead().id(), lead.id());
  EXPECT_EQ(event.lead().lead().vertical(), "solar");
  EXPECT_EQ(event.lead().lead().score_tier(), "hot");
  ExpectSameEvents(sub, Logged(marker.cursor()), "lead.new");
}

// Concurrent CreateLeads are written in batches and their wake-ups are sent
// after commit, coalesced: every lead.new still reaches a live stream, once,
// in log order, on the server that wrote it and on another replica.
TEST_F(StreamTest, ConcurrentCreateLeadsReachStreamsOnceEachInLogOrder) {
  constexpr int kProducers = 8;
  constexpr int kPerProducer = 40;
  constexpr int kTotal = kProducers * kPerProducer;
  v1::Event marker = Dm("marker");
  Subscription here(events(0), key_, After(marker.cursor()));
  Subscription there(events(1), key_, After(marker.cursor()));
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      for (int i = 0; i < kPerProducer; ++i) CreateLead("solar", 50 + p, key_);
    });
  }
  for (std::thread& t : producers) t.join();

  std::vector<v1::Event> want = Logged(marker.cursor());
  ASSERT_EQ(static_cast<int>(want.size()), kTotal);
  for (Subscription* sub : {&here, &there}) {
    ASSERT_TRUE(sub->WaitForEvents(kTotal)) << sub->Summary();
  }
  ExpectSameEvents(here, want, "the writing server's stream");
  ExpectSameEvents(there, want, "another replica's stream");
}

// --- Filters ---------------------------------------------------------------

TEST_F(StreamTest, TypeFilterDeliversOnlyTheChosenTypes) {
  v1::Event marker = Dm("marker");
  v1::StreamEventsRequest request = After(marker.cursor());
  request.add_types("dm.sent");
  request.add_types("job.completed");
  Subscription sub(events(), key_, request);

  std::vector<v1::Event> want;
  for (const char* type :
       {"follower.gained", "dm.sent", "stats.updated", "job.completed",
        "dm.failed", "connection.completed", "follower.lost", "job.failed",
        "dm.sent", "stats.updated", "job.completed"}) {
    absl::StatusOr<v1::Event> e =
        Publish(events(), key_, EventOfType(type, UniqueName("t")));
    ASSERT_TRUE(e.ok()) << e.status();
    if (e->type() == "dm.sent" || e->type() == "job.completed") {
      want.push_back(*e);
    }
  }
  CreateLead("b2b", 70, key_);  // lead.new: filtered out too
  want.push_back(Dm("sentinel"));
  ASSERT_TRUE(sub.WaitForEvents(static_cast<int>(want.size())))
      << sub.Summary();
  ExpectSameEvents(sub, want, "types filter");
}

TEST_F(StreamTest, VerticalAndTierFiltersDeliverOnlyMatchingLeadEvents) {
  v1::Event marker = Dm("marker");
  v1::StreamEventsRequest solar_hot = After(marker.cursor());
  solar_hot.add_verticals("solar");
  solar_hot.add_score_tiers("hot");
  v1::StreamEventsRequest insurance = After(marker.cursor());
  insurance.add_verticals("Insurance");  // case-insensitive
  v1::StreamEventsRequest warm_new = After(marker.cursor());
  warm_new.add_score_tiers("warm");
  warm_new.add_types("lead.new");
  Subscription sub_solar_hot(events(), key_, solar_hot);
  Subscription sub_insurance(events(1), key_, insurance);
  Subscription sub_warm_new(events(), key_, warm_new);

  CreateLead("solar", 90, key_);                       // solar hot
  v1::Lead to_update = CreateLead("solar", 65, key_);  // solar warm
  CreateLead("insurance", 85, key_);                   // insurance hot
  Dm("not a lead");
  Publish(events(), key_, EventOfType("job.completed", "x")).IgnoreError();
  CreateLead("insurance", 40, key_);  // insurance qualified
  CreateLead("property", 70, key_);   // property warm
  {
    // solar warm -> hot: a lead.updated that now matches solar+hot.
    grpc::ClientContext context;
    Authorize(&context, key_);
    v1::UpdateLeadRequest update;
    update.set_id(to_update.id());
    update.set_score(95);
    v1::Lead updated;
    ASSERT_TRUE(
        IsOk(harness_->api(0).leads->UpdateLead(&context, update, &updated)));
    EXPECT_EQ(updated.score_tier(), "hot");
  }
  // Sentinels last, one per subscriber, each matching only its own filter.
  CreateLead("solar", 99, key_);
  CreateLead("insurance", 10, key_);
  CreateLead("financial", 61, key_);
  ASSERT_FALSE(HasFailure());

  std::vector<v1::Event> logged = Logged(marker.cursor());
  auto select = [&](const std::set<std::string>& verticals,
                    const std::set<std::string>& tiers,
                    const std::set<std::string>& types) {
    std::vector<v1::Event> out;
    for (const v1::Event& e : logged) {
      if (e.type() != "lead.new" && e.type() != "lead.updated") continue;
      if (!types.empty() && types.count(e.type()) == 0) continue;
      const v1::Lead& lead = e.lead().lead();
      if (!verticals.empty() && verticals.count(lead.vertical()) == 0) continue;
      if (!tiers.empty() && tiers.count(lead.score_tier()) == 0) continue;
      out.push_back(e);
    }
    return out;
  };
  std::vector<v1::Event> want_solar_hot = select({"solar"}, {"hot"}, {});
  std::vector<v1::Event> want_insurance = select({"insurance"}, {}, {});
  std::vector<v1::Event> want_warm_new = select({}, {"warm"}, {"lead.new"});
  ASSERT_EQ(want_solar_hot.size(), 3u) << "solar 90, updated to 95, solar 99";
  EXPECT_EQ(want_solar_hot[1].type(), "lead.updated");
  ASSERT_EQ(want_insurance.size(), 3u);
  ASSERT_EQ(want_warm_new.size(), 3u) << "solar 65, property 70, financial 61";

  ASSERT_TRUE(sub_solar_hot.WaitForEvents(3)) << sub_solar_hot.Summary();
  ASSERT_TRUE(sub_insurance.WaitForEvents(3)) << sub_insurance.Summary();
  ASSERT_TRUE(sub_warm_new.WaitForEvents(3)) << sub_warm_new.Summary();
  ExpectSameEvents(sub_solar_hot, want_solar_hot, "solar+hot");
  ExpectSameEvents(sub_insurance, want_insurance, "insurance");
  ExpectSameEvents(sub_warm_new, want_warm_new, "warm lead.new");
}

TEST_F(StreamTest, MinScoreFilterDeliversOnlyLeadEventsScoringAtLeastIt) {
  v1::Event marker = Dm("marker");
  v1::StreamEventsRequest request = After(marker.cursor());
  request.set_min_score(75);
  Subscription sub(events(), key_, request);
  CreateLead("solar", 74, key_);
  CreateLead("property", 75, key_);  // the bound is included
  Dm("not a lead");
  CreateLead("b2b", 100, key_);  // sentinel
  ASSERT_FALSE(HasFailure());

  std::vector<v1::Event> want;
  for (const v1::Event& e : Logged(marker.cursor())) {
    if (e.type() == "lead.new" && e.lead().lead().score() >= 75) {
      want.push_back(e);
    }
  }
  ASSERT_EQ(want.size(), 2u);
  ASSERT_TRUE(sub.WaitForEvents(2)) << sub.Summary();
  ExpectSameEvents(sub, want, "min_score 75");
}

TEST_F(StreamTest, PlaceFiltersDeliverOnlyLeadEventsOfThoseSuburbsOrProvinces) {
  v1::Event marker = Dm("marker");
  v1::StreamEventsRequest suburbs = After(marker.cursor());
  suburbs.add_suburbs(" Bondi  BEACH");  // compared as "bondi beach"
  suburbs.add_suburbs("Manly");
  v1::StreamEventsRequest province = After(marker.cursor());
  province.add_provinces("western cape");
  Subscription sub_suburbs(events(), key_, suburbs);
  Subscription sub_province(events(), key_, province);
  CreateLead("solar", 80, key_, 0, "bondi beach", "NSW");
  CreateLead("solar", 80, key_, 0, "Bondi", "NSW");
  CreateLead("solar", 80, key_, 0, "Camps Bay", "Western  Cape");
  CreateLead("solar", 80, key_, 0, "MANLY", "NSW");
  Dm("not a lead");
  CreateLead("solar", 80, key_, 0, "Sea Point", "WESTERN CAPE");
  ASSERT_FALSE(HasFailure());

  std::vector<v1::Event> want_suburbs, want_province;
  for (const v1::Event& e : Logged(marker.cursor())) {
    if (e.type() != "lead.new") continue;
    const std::string& suburb = e.lead().lead().suburb();
    if (suburb == "bondi beach" || suburb == "MANLY") want_suburbs.push_back(e);
    if (suburb == "Camps Bay" || suburb == "Sea Point") {
      want_province.push_back(e);
    }
  }
  ASSERT_EQ(want_suburbs.size(), 2u);
  ASSERT_EQ(want_province.size(), 2u);
  ASSERT_TRUE(sub_suburbs.WaitForEvents(2)) << sub_suburbs.Summary();
  ASSERT_TRUE(sub_province.WaitForEvents(2)) << sub_province.Summary();
  // A sentinel that both take: nothing else was on its way before it.
  v1::Lead sentinel = CreateLead("b2b", 10, key_, 0, "Manly", "Western Cape");
  ASSERT_TRUE(sub_suburbs.WaitForEvents(3)) << sub_suburbs.Summary();
  ASSERT_TRUE(sub_province.WaitForEvents(3)) << sub_province.Summary();
  for (const v1::Event& e : Logged(marker.cursor())) {
    if (e.type() == "lead.new" && e.lead().lead().id() == sentinel.id()) {
      want_suburbs.push_back(e);
      want_province.push_back(e);
    }
  }
  ExpectSameEvents(sub_suburbs, want_suburbs, "suburbs");
  ExpectSameEvents(sub_province, want_province, "province");
}

// --- Resume, since ---------------------------------------------------------

TEST_F(StreamTest, ResumeFromACursorAfterADisconnectHasNoGapAndNoDuplicate) {
  v1::Event marker = Dm("marker");
  std::vector<v1::Event> before;
  auto first =
      std::make_unique<Subscription>(events(), key_, After(marker.cursor()));
  for (int i = 0; i < 10; ++i) before.push_back(Dm(absl::StrCat("a", i)));
  ASSERT_TRUE(first->WaitForEvents(10)) << first->Summary();
  ExpectSameEvents(*first, before, "first connection");
  std::vector<v1::StreamEventsResponse> seen = first->Messages();
  const std::string last_cursor = seen.back().cursor();
  const std::string middle_cursor = seen[3].cursor();
  first->Cancel();
  EXPECT_EQ(first->End()->error_code(), StatusCode::CANCELLED);
  first.reset();

  // Published while nobody listens; some through the other replica.
  std::vector<v1::Event> missed;
  for (int i = 0; i < 10; ++i)
    missed.push_back(Dm(absl::StrCat("b", i), i % 2));

  Subscription resumed(events(1), key_, After(last_cursor));
  Subscription from_middle(events(0), key_, After(middle_cursor));
  std::vector<v1::Event> later;
  for (int i = 0; i < 5; ++i) later.push_back(Dm(absl::StrCat("c", i)));

  std::vector<v1::Event> want = missed;
  want.insert(want.end(), later.begin(), later.end());
  ASSERT_TRUE(resumed.WaitForEvents(static_cast<int>(want.size())))
      << resumed.Summary();
  ExpectSameEvents(resumed, want, "resumed at the last cursor");

  std::vector<v1::Event> want_middle(before.begin() + 4, before.end());
  want_middle.insert(want_middle.end(), want.begin(), want.end());
  ASSERT_TRUE(from_middle.WaitForEvents(static_cast<int>(want_middle.size())))
      << from_middle.Summary();
  ExpectSameEvents(from_middle, want_middle, "resumed at the 4th cursor");
}

TEST_F(StreamTest, SinceReplaysFromThatTimeThenGoesLive) {
  v1::Event e1 = Dm("e1");
  v1::Event e2 = Dm("e2");
  v1::Event e3 = Dm("e3");
  ASSERT_LT(absl::FromUnixSeconds(e1.created_at().seconds()) +
                absl::Nanoseconds(e1.created_at().nanos()),
            absl::FromUnixSeconds(e2.created_at().seconds()) +
                absl::Nanoseconds(e2.created_at().nanos()));
  v1::StreamEventsRequest request;
  *request.mutable_since() = e2.created_at();
  Subscription sub(events(1), key_, request);
  ASSERT_TRUE(sub.WaitForEvents(2)) << sub.Summary();
  v1::Event e4 = Dm("e4");
  v1::Event e5 = Dm("e5", 1);
  ASSERT_TRUE(sub.WaitForEvents(4)) << sub.Summary();
  ExpectSameEvents(sub, {e2, e3, e4, e5}, "since e2");

  // A time before every event replays the whole log.
  v1::StreamEventsRequest from_start;
  from_start.mutable_since()->set_seconds(e1.created_at().seconds() - 3600);
  Subscription all(events(), key_, from_start);
  ASSERT_TRUE(all.WaitForEvents(5)) << all.Summary();
  ExpectSameEvents(all, {e1, e2, e3, e4, e5}, "since an hour before");
}

// --- Replay-to-live switch under concurrent publishers ----------------------

TEST_F(StreamTest, ReplayToLiveSwitchUnderConcurrentPublishersMissesNothing) {
  constexpr int kPublishers = 8;
  constexpr int kPerPublisher = 500;
  constexpr int kTotal = kPublishers * kPerPublisher;
  // Two more replicas take the writes; the subscribers sit on the harness's.
  std::vector<std::unique_ptr<ExtraServer>> writers;
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<std::unique_ptr<ExtraServer>> s =
        ExtraServer::Start(*harness_, key_, {});
    ASSERT_TRUE(s.ok()) << s.status();
    writers.push_back(*std::move(s));
  }
  v1::Event marker = Dm("marker");
  Subscription before_start(events(0), key_, After(marker.cursor()));

  absl::Mutex mu;
  int published = 0;  // guarded by mu
  int failures = 0;   // guarded by mu
  std::vector<std::thread> threads;
  for (int t = 0; t < kPublishers; ++t) {
    threads.emplace_back([&, t] {
      grpc::ChannelArguments args;
      args.SetInt("leadrelay.test.publisher", t);  // a channel of its own
      auto channel = grpc::CreateCustomChannel(
          writers[t % 2]->address(), grpc::InsecureChannelCredentials(), args);
      auto stub = v1::EventService::NewStub(channel);
      for (int i = 0; i < kPerPublisher; ++i) {
        absl::StatusOr<v1::Event> e =
            Publish(*stub, key_, DmSent(absl::StrCat("p", t, "-", i)));
        absl::MutexLock lock(&mu);
        if (!e.ok()) {
          if (failures++ < 5) ADD_FAILURE() << e.status();
          continue;
        }
        ++published;
      }
    });
  }
  auto wait_published = [&](int n) {
    absl::MutexLock lock(&mu);
    auto reached = [&]() { return published >= n || failures > 0; };
    mu.AwaitWithTimeout(absl::Condition(&reached), absl::Minutes(5));
    return published >= n;
  };
  // EXPECT, not ASSERT: the publisher threads are joined below.
  EXPECT_TRUE(wait_published(400));
  Subscription early(events(0), key_, After(marker.cursor()));
  EXPECT_TRUE(wait_published(2000));
  Subscription late(events(1), key_, After(marker.cursor()));
  for (std::thread& t : threads) t.join();
  {
    absl::MutexLock lock(&mu);
    ASSERT_EQ(failures, 0);
    ASSERT_EQ(published, kTotal);
  }

  std::vector<v1::Event> want = Logged(marker.cursor());
  ASSERT_EQ(static_cast<int>(want.size()), kTotal);
  for (Subscription* sub : {&before_start, &early, &late}) {
    ASSERT_TRUE(sub->WaitForEvents(kTotal, absl::Minutes(4))) << sub->Summary();
  }
  ExpectSameEvents(before_start, want, "opened before publishing");
  ExpectSameEvents(early, want, "opened after 400 publishes");
  ExpectSameEvents(late, want, "opened after 2000 publishes (replica B)");
}

// --- Late commits ----------------------------------------------------------

TEST_F(StreamTest, AnEventThatCommitsLateIsNotSkipped) {
  v1::Event marker = Dm("marker");
  Subscription sub_a(events(0), key_, After(marker.cursor()));
  Subscription sub_b(events(1), key_, After(marker.cursor()));
  absl::StatusOr<Account> other = NewAccount();
  ASSERT_TRUE(other.ok()) << other.status();

  absl::StatusOr<std::unique_ptr<PgConnection>> sql =
      PgConnection::Open(harness_->database_url());
  ASSERT_TRUE(sql.ok()) << sql.status();
  PgConnection& tx = **sql;

  // Append an event in a transaction of our own that stays open, the way
  // the server does: the account's event gate (shared), then the next
  // sequence number.
  v1::Event late;
  late.set_id(UniqueName("evt_sql"));
  late.set_type("dm.sent");
  late.set_account_id(account_.id);
  late.mutable_created_at()->set_seconds(absl::ToUnixSeconds(absl::Now()));
  late.mutable_dm()->set_message("appended in an open transaction");
  ASSERT_TRUE(tx.Exec("BEGIN").ok());
  ASSERT_TRUE(tx.Exec("SELECT pg_advisory_xact_lock_shared("
                      "leadrelay_event_gate($1))",
                      {account_.id})
                  .ok());
  ASSERT_TRUE(
      tx.Exec(
            "INSERT INTO events (seq, id, account_id, type, body, created_at) "
            "VALUES (nextval('events_seq_seq'), $1, $2, 'dm.sent', "
            "decode($3, 'hex'), now())",
            {late.id(), account_.id,
             absl::BytesToHexString(late.SerializeAsString())})
          .ok());
  ASSERT_TRUE(
      tx.Exec("SELECT pg_notify('leadrelay_events', $1)", {account_.id}).ok());

  // A publisher of the same account does not wait for that transaction:
  // its event commits first, with a higher sequence number. Other accounts
  // publish too. Until the publisher is joined, failures are EXPECTs.
  absl::StatusOr<v1::Event> overtaking;
  absl::Notification published;
  std::thread publisher([&] {
    overtaking = Publish(events(1), key_, DmSent("committed first"));
    published.Notify();
  });
  EXPECT_TRUE(published.WaitForNotificationWithTimeout(kPatience))
      << "PublishEvent waited for another transaction of its account";
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(Publish(events(0), other->admin_key, DmSent("other")).ok());
  }
  // The streams' readers now wait at the gate for the open transaction
  // instead of reading past its sequence number.
  EXPECT_GT(AwaitCount("SELECT count(*) FROM pg_locks WHERE locktype = "
                       "'advisory' AND mode = 'ExclusiveLock' AND NOT granted"),
            0)
      << "no reader waited for the open transaction";
  EXPECT_TRUE(tx.Exec("COMMIT").ok());
  publisher.join();
  ASSERT_TRUE(overtaking.ok()) << overtaking.status();
  v1::Event after_late = Dm("after the late one", 0);

  std::vector<v1::Event> want = Logged(marker.cursor());
  ASSERT_EQ(want.size(), 3u);
  EXPECT_EQ(want[0].id(), late.id());
  EXPECT_EQ(want[1].id(), overtaking->id());
  EXPECT_EQ(want[2].id(), after_late.id());
  for (Subscription* sub : {&sub_a, &sub_b}) {
    ASSERT_TRUE(sub->WaitForEvents(3)) << sub->Summary();
    ExpectSameEvents(*sub, want, "late commit");
  }
}

// --- Replicas and isolation ------------------------------------------------

TEST_F(StreamTest, ASubscriberOnServerBReceivesEventsPublishedThroughA) {
  v1::Event marker = Dm("marker");
  Subscription on_b(events(1), key_, After(marker.cursor()));
  Subscription on_a(events(0), key_, After(marker.cursor()));
  std::vector<v1::Event> want;
  for (int i = 0; i < 20; ++i) want.push_back(Dm(absl::StrCat("x", i), 0));
  ASSERT_TRUE(on_b.WaitForEvents(20)) << on_b.Summary();
  for (int i = 0; i < 20; ++i) want.push_back(Dm(absl::StrCat("y", i), 1));
  ASSERT_TRUE(on_a.WaitForEvents(40)) << on_a.Summary();
  ASSERT_TRUE(on_b.WaitForEvents(40)) << on_b.Summary();
  ExpectSameEvents(on_b, want, "server B");
  ExpectSameEvents(on_a, want, "server A");
}

TEST_F(StreamTest, AnotherAccountsEventsAreNeverSeen) {
  absl::StatusOr<Account> other = NewAccount();
  ASSERT_TRUE(other.ok()) << other.status();
  v1::Event mine_marker = Dm("marker");
  absl::StatusOr<v1::Event> their_marker =
      Publish(events(), other->admin_key, DmSent("their marker"));
  ASSERT_TRUE(their_marker.ok()) << their_marker.status();

  Subscription mine(events(0), key_, After(mine_marker.cursor()));
  Subscription theirs(events(1), other->admin_key,
                      After(their_marker->cursor()));
  // Their cursor on my stream is refused.
  Subscription mine_from_their_cursor(events(1), key_,
                                      After(their_marker->cursor()));
  v1::StreamEventsRequest since;
  *since.mutable_since() = mine_marker.created_at();
  Subscription mine_since(events(0), key_, since);

  std::vector<v1::Event> my_events;
  std::vector<v1::Event> their_events;
  for (int i = 0; i < 10; ++i) {
    my_events.push_back(Dm(absl::StrCat("mine", i), i % 2));
    absl::StatusOr<v1::Event> e = Publish(events(1 - i % 2), other->admin_key,
                                          DmSent(absl::StrCat("theirs", i)));
    ASSERT_TRUE(e.ok()) << e.status();
    their_events.push_back(*e);
  }
  CreateLead("solar", 90, other->admin_key);
  my_events.push_back(Dm("my sentinel"));
  absl::StatusOr<v1::Event> their_sentinel =
      Publish(events(), other->admin_key, DmSent("their sentinel"));
  ASSERT_TRUE(their_sentinel.ok());

  std::vector<v1::Event> their_want =
      Logged(their_marker->cursor(), other->admin_key);
  ASSERT_EQ(their_want.size(), 12u);
  ASSERT_TRUE(mine.WaitForEvents(11)) << mine.Summary();
  ASSERT_TRUE(theirs.WaitForEvents(12)) << theirs.Summary();
  ASSERT_TRUE(mine_since.WaitForEvents(12)) << mine_since.Summary();
  ExpectSameEvents(mine, my_events, "mine");
  ExpectSameEvents(theirs, their_want, "theirs");
  std::vector<v1::Event> since_want = {mine_marker};
  since_want.insert(since_want.end(), my_events.begin(), my_events.end());
  ExpectSameEvents(mine_since, since_want, "mine since");
  // Their cursor is no cursor of mine (cursors are bound to an account):
  // refused, it positions nothing and shows nothing.
  ASSERT_TRUE(mine_from_their_cursor.WaitUntil([](const Subscription::View& v) {
    return v.end.has_value();
  })) << mine_from_their_cursor.Summary();
  EXPECT_EQ(mine_from_their_cursor.End()->error_code(),
            grpc::StatusCode::INVALID_ARGUMENT)
      << mine_from_their_cursor.Summary();
  EXPECT_TRUE(mine_from_their_cursor.Events().empty());
  for (Subscription* sub : {&mine, &mine_since, &mine_from_their_cursor}) {
    for (const v1::Event& e : sub->Events()) {
      EXPECT_EQ(e.account_id(), account_.id) << e.ShortDebugString();
    }
  }
  for (const v1::Event& e : theirs.Events()) {
    EXPECT_EQ(e.account_id(), other->id) << e.ShortDebugString();
  }
}

// --- Refusals --------------------------------------------------------------

// Opening a stream authorizes the key and reads the start position, off
// gRPC's threads. While a rate-limited key's count is stuck behind a lock,
// its stream opens wait (holding at most two of those threads) and another
// account's stream still opens and delivers; once the lock goes, the
// waiting opens complete and deliver too.
TEST_F(StreamTest, StreamOpensStuckInTheDatabaseDoNotStallOtherAccounts) {
  absl::StatusOr<Account> stuck = harness_->BootstrapAccount(
      UniqueName("stuck"), "enterprise", 1000);  // a rate limit: counted
  ASSERT_TRUE(stuck.ok()) << stuck.status();
  absl::StatusOr<v1::Event> stuck_marker =
      Publish(events(), stuck->admin_key, DmSent("stuck marker"));
  ASSERT_TRUE(stuck_marker.ok()) << stuck_marker.status();
  v1::Event marker = Dm("marker");  // key_: no rate limit, now cached

  absl::StatusOr<std::unique_ptr<PgConnection>> sql =
      PgConnection::Open(harness_->database_url());
  ASSERT_TRUE(sql.ok()) << sql.status();
  PgConnection& tx = **sql;
  ASSERT_TRUE(tx.Exec("BEGIN").ok());
  ASSERT_TRUE(tx.Exec("LOCK TABLE rate_limits IN EXCLUSIVE MODE").ok());

  constexpr int kStuckStreams = 8;
  std::vector<std::unique_ptr<Subscription>> stuck_subs;
  for (int i = 0; i < kStuckStreams; ++i) {
    stuck_subs.push_back(std::make_unique<Subscription>(
        events(), stuck->admin_key, After(stuck_marker->cursor())));
  }
  // Until the lock is released, failures are EXPECTs.
  EXPECT_GT(AwaitCount("SELECT count(*) FROM pg_stat_activity WHERE "
                       "wait_event_type = 'Lock' AND query LIKE "
                       "'%rate_limits%'"),
            0)
      << "the stuck key's opens did not reach the lock";

  Subscription other(events(), key_, After(marker.cursor()));
  v1::Event after = Dm("while the other key is stuck");
  EXPECT_TRUE(other.WaitForEvents(1)) << other.Summary();
  EXPECT_EQ(other.Events().empty() ? "" : other.Events()[0].id(), after.id());

  EXPECT_TRUE(tx.Exec("COMMIT").ok());
  absl::StatusOr<v1::Event> late =
      Publish(events(), stuck->admin_key, DmSent("after the lock"));
  ASSERT_TRUE(late.ok()) << late.status();
  for (int i = 0; i < kStuckStreams; ++i) {
    ASSERT_TRUE(stuck_subs[i]->WaitForEvents(1))
        << "stream " << i << ": " << stuck_subs[i]->Summary();
    EXPECT_EQ(stuck_subs[i]->Events()[0].id(), late->id());
  }
}

TEST_F(StreamTest, RefusesCallsWithoutAValidKeyOrReadScope) {
  {
    Subscription sub(events(), "", v1::StreamEventsRequest());
    std::optional<grpc::Status> end = sub.WaitForEnd();
    ASSERT_TRUE(end.has_value());
    EXPECT_TRUE(HasError(*end, StatusCode::UNAUTHENTICATED, "unauthorized"));
    EXPECT_EQ(sub.Messages().size(), 0u);
  }
  {
    Subscription sub(events(1), "lr_live_not-a-real-key",
                     v1::StreamEventsRequest());
    std::optional<grpc::Status> end = sub.WaitForEnd();
    ASSERT_TRUE(end.has_value());
    EXPECT_TRUE(HasError(*end, StatusCode::UNAUTHENTICATED, "unauthorized"));
  }
  absl::StatusOr<std::string> ingest_only =
      CreateKey(harness_->api(), key_, {"ingest"});
  ASSERT_TRUE(ingest_only.ok()) << ingest_only.status();
  {
    Subscription sub(events(), *ingest_only, v1::StreamEventsRequest());
    std::optional<grpc::Status> end = sub.WaitForEnd();
    ASSERT_TRUE(end.has_value());
    EXPECT_EQ(end->error_code(), StatusCode::PERMISSION_DENIED)
        << Describe(*end);
  }
  absl::StatusOr<std::string> read_only =
      CreateKey(harness_->api(), key_, {"read"});
  ASSERT_TRUE(read_only.ok()) << read_only.status();
  v1::Event marker = Dm("marker");
  Subscription sub(events(), *read_only, After(marker.cursor()));
  v1::Event e = Dm("for the read-only key");
  ASSERT_TRUE(sub.WaitForEvents(1)) << sub.Summary();
  ExpectSameEvents(sub, {e}, "read scope");
}

TEST_F(StreamTest, RefusesBadCursorsAndUnknownTypesVerticalsAndTiers) {
  struct Case {
    std::string name;
    v1::StreamEventsRequest request;
  };
  std::vector<Case> cases;
  for (const std::string& cursor :
       {std::string("not a cursor"), std::string("e1:5"),
        absl::WebSafeBase64Escape("e1:-3"), absl::WebSafeBase64Escape("e2:9"),
        absl::WebSafeBase64Escape("e1:12abc")}) {
    Case c{absl::StrCat("cursor '", cursor, "'"), {}};
    c.request.set_after(cursor);
    cases.push_back(c);
  }
  {
    Case c{"unknown type", {}};
    c.request.add_types("dm.sent");
    c.request.add_types("lead.exploded");
    cases.push_back(c);
  }
  {
    Case c{"unknown vertical", {}};
    c.request.add_verticals("cars");
    cases.push_back(c);
  }
  {
    Case c{"unknown tier", {}};
    c.request.add_score_tiers("lukewarm");
    cases.push_back(c);
  }
  {
    Case c{"min_score over 100", {}};
    c.request.set_min_score(101);
    cases.push_back(c);
  }
  {
    Case c{"blank suburb", {}};
    c.request.add_suburbs(" ");
    cases.push_back(c);
  }
  for (const Case& c : cases) {
    Subscription sub(events(), key_, c.request);
    std::optional<grpc::Status> end = sub.WaitForEnd();
    ASSERT_TRUE(end.has_value()) << c.name << ": " << sub.Summary();
    EXPECT_TRUE(HasError(*end, StatusCode::INVALID_ARGUMENT, "invalid_request"))
        << c.name;
    EXPECT_EQ(sub.Messages().size(), 0u) << c.name;
  }
}

}  // namespace
}  // namespace leadrelay::itest
