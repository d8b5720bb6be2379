// Event retention end to end: a leadrelay-server pruning every 100 ms with
// the default 30-day retention, events made old by moving their creation
// time back in the database, and resumes (ListEvents over gRPC and REST,
// StreamEvents) from positions that pruning removed.

#include <cctype>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "delivery/rest_world.h"
#include "gtest/gtest.h"

namespace leadrelay::dtest {
namespace {

using gateway::testing::HttpResponse;
using ::grpc::StatusCode;
using itest::Authorize;
using itest::HasError;
using itest::IsOk;

constexpr absl::Duration kWait = absl::Seconds(30);

// Percent-encodes a cursor for a query string.
std::string UrlEncode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += absl::StrFormat("%%%02X", c);
    }
  }
  return out;
}

class EventRetentionTest : public RestServerSuite {
 protected:
  static void SetUpTestSuite() {
    // No dispatcher: deliveries stay pending (see
    // EventsAPendingDeliveryNeedsAreKept).
    StartSuite({"--event_retention=720h", "--event_prune_interval=100ms",
                "--dispatch_webhooks=false",
                "--allow_webhook_hosts=127.0.0.1"});
    if (env_ == nullptr) return;
    // A plan that keeps events forever, and one that keeps them a day.
    absl::Status plans = env_->db().Exec(
        "INSERT INTO plans (name, rate_limit_per_minute, monthly_quota, "
        "event_retention_days) VALUES ('archive', 0, 0, 0), "
        "('short', 0, 0, 1)");
    if (!plans.ok()) {
      setup_error_ = plans.ToString();
      env_.reset();
    }
  }

  Account NewAccount(const std::string& plan = "enterprise") {
    absl::StatusOr<Account> account =
        env_->Bootstrap(itest::UniqueName("acct"), plan);
    EXPECT_TRUE(account.ok()) << account.status();
    return account.ok() ? *account : Account{};
  }

  v1::Event PublishOk(const Account& account, const std::string& target) {
    v1::PublishEventResponse response;
    EXPECT_TRUE(IsOk(
        Publish(api(), account.admin_key, FollowerGained(target), &response)));
    return response.event();
  }

  // Moves an event's creation back by `days`.
  void Age(const v1::Event& event, int days) {
    ASSERT_TRUE(db().Exec("UPDATE events SET created_at = created_at - "
                          "$2::int * interval '1 day' WHERE id = $1",
                          {event.id(), absl::StrCat(days)})
                    .ok());
  }

  // Waits until the pruner has removed `event`.
  bool WaitForPruned(const v1::Event& event) {
    return WaitForSqlInt(db(), "SELECT count(*) FROM events WHERE id = $1",
                         {event.id()}, 0, kWait) == 0;
  }

  bool Exists(const v1::Event& event) {
    return Count("SELECT count(*) FROM events WHERE id = $1", {event.id()}) ==
           1;
  }

  grpc::Status ListAfter(const Account& account, const std::string& after,
                         v1::ListEventsResponse* response) {
    grpc::ClientContext context;
    Authorize(&context, account.admin_key);
    v1::ListEventsRequest request;
    request.set_after(after);
    return api().events->ListEvents(&context, request, response);
  }

  // The first message of a stream, or its end status.
  grpc::Status StreamFirst(const Account& account,
                           const v1::StreamEventsRequest& request,
                           v1::StreamEventsResponse* first) {
    grpc::ClientContext context;
    Authorize(&context, account.admin_key);
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(60));
    auto reader = api().events->StreamEvents(&context, request);
    if (reader->Read(first)) {
      context.TryCancel();
      reader->Finish().ok();
      return grpc::Status::OK;
    }
    return reader->Finish();
  }
};

TEST_F(EventRetentionTest, ResumeFromAPrunedCursorGetsTheOldestCursor) {
  Account account = NewAccount();
  v1::ListEventsResponse start;
  ASSERT_TRUE(IsOk(ListAfter(account, "", &start)));
  v1::Event e1 = PublishOk(account, "one");
  v1::Event e2 = PublishOk(account, "two");
  v1::Event e3 = PublishOk(account, "three");
  Age(e1, 40);
  Age(e2, 31);
  ASSERT_TRUE(WaitForPruned(e1));
  ASSERT_TRUE(WaitForPruned(e2));
  EXPECT_TRUE(Exists(e3));

  // Resuming before the pruned events: refused, with where to go instead.
  for (const std::string& cursor : {start.next_cursor(), e1.cursor()}) {
    v1::ListEventsResponse page;
    grpc::Status status = ListAfter(account, cursor, &page);
    ASSERT_TRUE(
        HasError(status, StatusCode::FAILED_PRECONDITION, "cursor_expired"));
    EXPECT_TRUE(page.events().empty());
  }
  v1::ListEventsResponse refused;
  std::optional<itest::ErrorInfo> info =
      itest::ErrorInfoOf(ListAfter(account, e1.cursor(), &refused));
  ASSERT_TRUE(info.has_value());
  std::string oldest = info->metadata["oldest_cursor"];
  ASSERT_FALSE(oldest.empty());

  // The oldest cursor resumes at the oldest event kept.
  v1::ListEventsResponse resumed;
  ASSERT_TRUE(IsOk(ListAfter(account, oldest, &resumed)));
  ASSERT_EQ(resumed.events_size(), 1);
  EXPECT_EQ(resumed.events(0).id(), e3.id());
  // Nothing was pruned after e2: its own cursor still works.
  v1::ListEventsResponse after_e2;
  ASSERT_TRUE(IsOk(ListAfter(account, e2.cursor(), &after_e2)));
  EXPECT_EQ(after_e2.events_size(), 1);

  // REST: 400 with the reason and the oldest cursor as a field.
  HttpResponse rest = Rest(account.admin_key, "GET",
                           "/v1/events?after=" + UrlEncode(e1.cursor()));
  EXPECT_EQ(rest.status, 400);
  EXPECT_TRUE(absl::StrContains(rest.body, "\"code\":\"cursor_expired\""))
      << rest.body;
  EXPECT_TRUE(absl::StrContains(rest.body, "\"oldest_cursor\":\"" + oldest))
      << rest.body;

  // Streams: from a pruned cursor or time, refused; from the oldest, served.
  v1::StreamEventsRequest from_cursor;
  from_cursor.set_after(e1.cursor());
  v1::StreamEventsResponse first;
  EXPECT_TRUE(HasError(StreamFirst(account, from_cursor, &first),
                       StatusCode::FAILED_PRECONDITION, "cursor_expired"));
  v1::StreamEventsRequest from_time;
  from_time.mutable_since()->set_seconds(0);
  EXPECT_TRUE(HasError(StreamFirst(account, from_time, &first),
                       StatusCode::FAILED_PRECONDITION, "cursor_expired"));
  v1::StreamEventsRequest from_oldest;
  from_oldest.set_after(oldest);
  ASSERT_TRUE(IsOk(StreamFirst(account, from_oldest, &first)));
  EXPECT_EQ(first.event().id(), e3.id());
}

// A quiet account can lose every event to retention; its subscribers'
// last cursors must keep working (an empty page, a stream that waits),
// while a cursor past every event it ever had is refused.
TEST_F(EventRetentionTest, AfterEveryEventIsPrunedTheLastCursorStillResumes) {
  Account account = NewAccount();
  v1::Event only = PublishOk(account, "only");
  Age(only, 40);
  ASSERT_TRUE(WaitForPruned(only));

  v1::ListEventsResponse page;
  ASSERT_TRUE(IsOk(ListAfter(account, only.cursor(), &page)));
  EXPECT_EQ(page.events_size(), 0);

  grpc::ClientContext context;
  Authorize(&context, account.admin_key);
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(60));
  v1::StreamEventsRequest request;
  request.set_after(only.cursor());
  auto reader = api().events->StreamEvents(&context, request);
  // Headers come once the server has accepted the resume position.
  reader->WaitForInitialMetadata();
  v1::Event next = PublishOk(account, "next");
  v1::StreamEventsResponse first;
  ASSERT_TRUE(reader->Read(&first)) << reader->Finish().error_message();
  EXPECT_EQ(first.event().id(), next.id());
  context.TryCancel();
  reader->Finish().ok();

  // A cursor past every event the account still has or had pruned (its
  // events deleted behind the server's back, as by a restore from an older
  // backup): refused by both, not a silent wait.
  Account other = NewAccount();
  v1::Event gone = PublishOk(other, "restored away");
  ASSERT_TRUE(
      db().Exec("DELETE FROM events WHERE account_id = $1", {other.id}).ok());
  v1::ListEventsResponse ahead;
  EXPECT_TRUE(HasError(ListAfter(other, gone.cursor(), &ahead),
                       StatusCode::INVALID_ARGUMENT, "invalid_request"));
  v1::StreamEventsRequest from_gone;
  from_gone.set_after(gone.cursor());
  v1::StreamEventsResponse none;
  EXPECT_TRUE(HasError(StreamFirst(other, from_gone, &none),
                       StatusCode::INVALID_ARGUMENT, "invalid_request"));
}

TEST_F(EventRetentionTest, PlansOverrideTheDeploymentRetention) {
  Account archive = NewAccount("archive");    // keeps events forever
  Account short_lived = NewAccount("short");  // one day
  Account standard = NewAccount();            // the deployment's 30 days
  v1::Event kept = PublishOk(archive, "kept");
  v1::Event two_days = PublishOk(short_lived, "gone");
  v1::Event standard_two_days = PublishOk(standard, "stays");
  Age(kept, 400);
  Age(two_days, 2);
  Age(standard_two_days, 2);
  ASSERT_TRUE(WaitForPruned(two_days));
  // The pass that pruned the short plan's event looked at every account.
  EXPECT_TRUE(Exists(kept));
  EXPECT_TRUE(Exists(standard_two_days));
  // Never pruned: resuming from the start of the archive works.
  v1::ListEventsResponse page;
  ASSERT_TRUE(IsOk(ListAfter(archive, "", &page)));
  EXPECT_EQ(page.events_size(), 1);
}

TEST_F(EventRetentionTest, EventsAPendingDeliveryNeedsAreKept) {
  Account account = NewAccount();
  // This server dispatches nothing: the delivery stays pending.
  v1::CreateWebhookResponse hook;
  ASSERT_TRUE(
      IsOk(CreateWebhook(api(), account.admin_key, "http://127.0.0.1:9/hook",
                         {"dm.sent"}, &hook)));
  v1::PublishEventRequest dm;
  dm.set_type("dm.sent");
  dm.mutable_dm()->set_platform("instagram");
  v1::PublishEventResponse pending;
  ASSERT_TRUE(IsOk(Publish(api(), account.admin_key, dm, &pending)));
  ASSERT_EQ(pending.deliveries_queued(), 1);
  v1::Event prunable = PublishOk(account, "prunable");
  Age(pending.event(), 40);
  Age(prunable, 40);
  ASSERT_TRUE(WaitForPruned(prunable));
  EXPECT_TRUE(Exists(pending.event()));
}

}  // namespace
}  // namespace leadrelay::dtest
