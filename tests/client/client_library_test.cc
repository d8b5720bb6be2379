// The client library against real leadrelay-server processes and
// PostgreSQL: retries that honour the rate limiter's delay and never
// duplicate a lead, and a Subscription that survives a server being killed
// and restarted while events keep being published elsewhere.
#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "delivery/delivery_env.h"
#include "gtest/gtest.h"
#include "leadrelay/client.h"
#include "leadrelay/subscription.h"

namespace leadrelay {
namespace {

using dtest::DeliveryEnv;

constexpr absl::Duration kPatience = absl::Seconds(90);

// With `mu` held: waits (bounded) until `ids` has at least `n` entries.
bool AwaitCount(absl::Mutex& mu, const std::vector<std::string>& ids,
                size_t n) {
  auto enough = [&ids, n] { return ids.size() >= n; };
  return mu.AwaitWithTimeout(absl::Condition(&enough), kPatience);
}

class ClientLibraryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto env = DeliveryEnv::Create();
    if (!env.ok()) {
      setup_error_ = std::string(env.status().message());
      return;
    }
    env_ = std::move(*env).release();
    for (int i = 0; i < 2; ++i) {
      auto started = env_->StartServer({});
      if (!started.ok()) {
        setup_error_ = std::string(started.status().message());
        return;
      }
    }
  }
  static void TearDownTestSuite() {
    delete env_;
    env_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(setup_error_.empty()) << setup_error_; }
  void TearDown() override {
    if (HasFailure()) std::cerr << env_->LogTails();
  }

  static std::unique_ptr<Client> ClientFor(const std::string& key,
                                           int server = 0) {
    ClientOptions options;
    options.target = env_->address(server);
    options.api_key = key;
    options.default_deadline = absl::Seconds(60);
    options.retry.max_attempts = 30;
    options.retry.max_backoff = absl::Seconds(1);
    auto client = Client::Create(options);
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? *std::move(client) : nullptr;
  }

  int64_t LeadsWithExternalId(const std::string& account_id,
                              const std::string& external_id) {
    auto n = env_->db().QueryInt(
        "SELECT count(*) FROM leads WHERE account_id = $1 AND external_id = $2",
        {account_id, external_id});
    EXPECT_TRUE(n.ok()) << n.status();
    return n.ok() ? *n : -1;
  }

  static v1::CreateLeadRequest LeadRequest(const std::string& external_id) {
    v1::CreateLeadRequest request;
    v1::Lead* lead = request.mutable_lead();
    lead->set_vertical("solar");
    lead->set_first_name("Retry");
    lead->set_suburb("Sandton");
    lead->set_phone("+27821234567");
    lead->set_score(60);
    lead->set_external_id(external_id);
    return request;
  }

  static inline DeliveryEnv* env_ = nullptr;
  static inline std::string setup_error_;
};

TEST_F(ClientLibraryTest, ErrorsCarryThePublicReason) {
  auto client = ClientFor("lr_not_a_key");
  ASSERT_NE(client, nullptr);
  absl::StatusOr<v1::GetMeResponse> me = client->GetMe();
  ASSERT_FALSE(me.ok());
  EXPECT_EQ(me.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(ErrorReason(me.status()), "unauthorized");

  auto account = env_->Bootstrap("errors", "enterprise");
  ASSERT_TRUE(account.ok()) << account.status();
  auto owner = ClientFor(account->admin_key);
  v1::GetLeadRequest get;
  get.set_id("lead_missing");
  auto lead = owner->GetLead(get);
  EXPECT_EQ(ErrorReason(lead.status()), "not_found");
}

// A rate-limited create is retried after the server's delay, and the lead
// exists once; the credit is debited once.
TEST_F(ClientLibraryTest, RetriesHonourTheRateLimitWithoutDuplicates) {
  auto account = env_->Bootstrap("ratelimited", "pro");  // 60 calls/min
  ASSERT_TRUE(account.ok()) << account.status();
  auto client = ClientFor(account->admin_key);
  ASSERT_NE(client, nullptr);
  auto me = client->GetMe();
  ASSERT_TRUE(me.ok()) << me.status();
  const int credits_before = me->account().credits();

  // Use up the window without retries.
  CallOptions no_retry;
  no_retry.retry = false;
  absl::Status limited;
  for (int i = 0; i < 100 && limited.ok(); ++i) {
    limited = client->GetCredits(no_retry).status();
  }
  ASSERT_EQ(ErrorReason(limited), "rate_limited") << limited;
  // Move the window back so it reopens in about three seconds, not sixty.
  ASSERT_TRUE(env_->db()
                  .Exec("UPDATE rate_limits SET window_start = now() - "
                        "interval '57 seconds' WHERE key_id = $1",
                        {me->api_key().id()})
                  .ok());
  absl::Status probe = client->GetCredits(no_retry).status();
  ASSERT_EQ(ErrorReason(probe), "rate_limited") << probe;
  std::optional<absl::Duration> delay = RetryDelay(probe);
  ASSERT_TRUE(delay.has_value());
  EXPECT_LE(*delay, absl::Seconds(10));
  const absl::Time window_reopens = absl::Now() + *delay - absl::Seconds(1);

  const std::string external_id =
      absl::StrCat("retry-", absl::ToUnixNanos(absl::Now()));
  absl::StatusOr<CreatedLead> created =
      client->CreateLeadDetailed(LeadRequest(external_id));
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_TRUE(created->created);
  // It did not get through before the server said it could.
  EXPECT_GE(absl::Now(), window_reopens);
  EXPECT_EQ(LeadsWithExternalId(account->id, external_id), 1);

  // The same logical create again: the same lead, nothing new, no charge.
  absl::StatusOr<CreatedLead> again =
      client->CreateLeadDetailed(LeadRequest(external_id));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->lead.id(), created->lead.id());
  EXPECT_EQ(LeadsWithExternalId(account->id, external_id), 1);
  auto credits = client->GetCredits();
  ASSERT_TRUE(credits.ok()) << credits.status();
  EXPECT_EQ(credits->credits(), credits_before - 1);
}

// A create sent while the server is down is retried until it is back, and
// makes one lead; a create without external_id gets one generated.
TEST_F(ClientLibraryTest, CreateRetriedAcrossARestartMakesOneLead) {
  auto account = env_->Bootstrap("restart-create", "enterprise");
  ASSERT_TRUE(account.ok()) << account.status();
  auto client = ClientFor(account->admin_key, 1);
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->GetMe().ok());

  env_->KillServer(1);
  std::atomic<bool> done{false};
  absl::StatusOr<CreatedLead> created;
  v1::CreateLeadRequest request = LeadRequest("");  // generated per call
  std::thread caller([&] {
    created = client->CreateLeadDetailed(request);
    done = true;
  });
  // The call is failing and backing off while the server is down.
  absl::SleepFor(absl::Milliseconds(500));
  EXPECT_FALSE(done.load());
  ASSERT_TRUE(env_->RestartServer(1).ok());
  caller.join();
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_TRUE(created->created);
  const std::string external_id = created->lead.external_id();
  EXPECT_EQ(external_id.rfind("lrc_", 0), 0u) << external_id;
  EXPECT_EQ(LeadsWithExternalId(account->id, external_id), 1);
}

// Unsafe calls are not repeated: PublishEvent to a dead server fails once.
TEST_F(ClientLibraryTest, UnsafeCallsAreNotRetried) {
  ClientOptions options;
  options.target = "127.0.0.1:1";  // nothing listens there
  options.api_key = "lr_x";
  options.retry.max_attempts = 5;
  options.retry.initial_backoff = absl::Seconds(20);
  options.default_deadline = absl::Seconds(60);
  auto client = Client::Create(options);
  ASSERT_TRUE(client.ok());
  const absl::Time start = absl::Now();
  v1::PublishEventRequest publish;
  publish.set_type("dm.sent");
  auto published = (*client)->PublishEvent(publish);
  EXPECT_EQ(published.status().code(), absl::StatusCode::kUnavailable);
  // One attempt: no 20 s backoff.
  EXPECT_LT(absl::Now() - start, absl::Seconds(15));
}

// The consumer sees every event once and in order while the server it
// streams from is killed and restarted and events are published elsewhere.
TEST_F(ClientLibraryTest, SubscriptionSurvivesAServerRestart) {
  auto account = env_->Bootstrap("subscriber", "enterprise");
  ASSERT_TRUE(account.ok()) << account.status();
  auto subscriber = ClientFor(account->admin_key, 0);
  auto publisher = ClientFor(account->admin_key, 1);
  ASSERT_NE(subscriber, nullptr);
  ASSERT_NE(publisher, nullptr);

  auto publish = [&](int n) -> std::string {
    v1::PublishEventRequest request;
    request.set_type("dm.sent");
    request.mutable_dm()->set_message(absl::StrCat("m", n));
    auto published = publisher->PublishEvent(request);
    EXPECT_TRUE(published.ok()) << published.status();
    return published.ok() ? published->event().id() : "";
  };
  // A first event fixes the start position (cursor after it).
  const std::string first = publish(0);
  v1::ListEventsRequest list;
  auto page = publisher->ListEvents(list);
  ASSERT_TRUE(page.ok() && page->events_size() == 1);
  const std::string start_cursor = page->events(0).cursor();

  absl::Mutex mu;
  std::vector<std::string> seen;
  std::vector<std::string> checkpoints;
  SubscriptionOptions options;
  options.request.set_after(start_cursor);
  options.backoff.initial_backoff = absl::Milliseconds(50);
  options.backoff.max_backoff = absl::Milliseconds(500);
  options.on_checkpoint = [&](const std::string& cursor) {
    absl::MutexLock lock(&mu);
    checkpoints.push_back(cursor);
  };
  auto sub =
      Subscription::Start(*subscriber, options, [&](const v1::Event& event) {
        absl::MutexLock lock(&mu);
        seen.push_back(event.id());
      });
  ASSERT_TRUE(sub.ok()) << sub.status();
  auto wait_for = [&](size_t n) {
    absl::MutexLock lock(&mu);
    return AwaitCount(mu, seen, n);
  };

  std::vector<std::string> published;
  for (int i = 1; i <= 10; ++i) published.push_back(publish(i));
  ASSERT_TRUE(wait_for(10));

  env_->KillServer(0);
  for (int i = 11; i <= 30; ++i) published.push_back(publish(i));
  ASSERT_TRUE(env_->RestartServer(0).ok());
  for (int i = 31; i <= 40; ++i) published.push_back(publish(i));
  ASSERT_TRUE(wait_for(40)) << "saw " << seen.size();
  (*sub)->Stop();

  absl::MutexLock lock(&mu);
  EXPECT_EQ(seen, published);  // each once, in order, the first excluded
  EXPECT_GE((*sub)->connections(), 2);
  ASSERT_FALSE(checkpoints.empty());
  EXPECT_EQ(checkpoints.back(), (*sub)->cursor());
}

// A consumer that restarts resumes from its checkpoint file.
TEST_F(ClientLibraryTest, CheckpointFileResumesANewSubscription) {
  auto account = env_->Bootstrap("checkpoint", "enterprise");
  ASSERT_TRUE(account.ok()) << account.status();
  auto client = ClientFor(account->admin_key);
  const std::string file =
      absl::StrCat(::testing::TempDir(), "/cursor-", getpid());
  std::remove(file.c_str());
  auto publish = [&](const std::string& tag) {
    v1::PublishEventRequest request;
    request.set_type("dm.sent");
    request.mutable_dm()->set_message(tag);
    auto published = client->PublishEvent(request);
    EXPECT_TRUE(published.ok()) << published.status();
    return published.ok() ? published->event().id() : "";
  };
  auto consume = [&](size_t want, std::vector<std::string>* ids) {
    absl::Mutex mu;
    SubscriptionOptions options;
    options.checkpoint_file = file;
    // First run: from the beginning of the log.
    options.request.mutable_since()->set_seconds(1);
    auto sub = Subscription::Start(*client, options, [&](const v1::Event& e) {
      absl::MutexLock lock(&mu);
      ids->push_back(e.id());
    });
    ASSERT_TRUE(sub.ok());
    {
      absl::MutexLock lock(&mu);
      AwaitCount(mu, *ids, want);
    }
    (*sub)->Stop();
  };
  std::vector<std::string> first_run, second_run;
  const std::string a = publish("a");
  consume(1, &first_run);
  EXPECT_EQ(first_run, std::vector<std::string>{a});
  auto saved = ReadCursorFile(file);
  ASSERT_TRUE(saved.ok());
  EXPECT_FALSE(saved->empty());
  const std::string b = publish("b");
  // No position given: the second run starts from the file alone.
  SubscriptionOptions options;
  options.checkpoint_file = file;
  absl::Mutex mu;
  auto sub = Subscription::Start(*client, options, [&](const v1::Event& e) {
    absl::MutexLock lock(&mu);
    second_run.push_back(e.id());
  });
  ASSERT_TRUE(sub.ok());
  {
    absl::MutexLock lock(&mu);
    AwaitCount(mu, second_run, 1);
  }
  (*sub)->Stop();
  EXPECT_EQ(second_run, std::vector<std::string>{b});
  std::remove(file.c_str());
}

}  // namespace
}  // namespace leadrelay
