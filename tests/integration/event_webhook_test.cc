// WebhookService and EventService end to end: webhook registration rules,
// secrets, the events a lead and a publish write, the deliveries they queue
// (checked in the deliveries table), cursors, and isolation.

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "support/fixture.h"

namespace leadrelay::itest {
namespace {

using ::grpc::StatusCode;

// Nothing listens on the discard port: deliveries stay pending.
constexpr char kLocalUrl[] = "http://127.0.0.1:9/hook";
constexpr char kHttpsUrl[] = "https://example.com/hooks/leadrelay";

class EventWebhookApiTest : public ServerTest {
 protected:
  // A webhook id, or "" (with a failure).
  std::string NewWebhook(const std::string& key,
                         const std::vector<std::string>& events,
                         const std::string& url = kLocalUrl) {
    v1::CreateWebhookResponse created;
    EXPECT_TRUE(IsOk(CreateWebhook(key, url, events, &created)));
    return created.webhook_id();
  }

  void Disable(const std::string& key, const std::string& webhook_id) {
    v1::UpdateWebhookRequest update;
    update.set_id(webhook_id);
    update.set_enabled(false);
    v1::Webhook webhook;
    ASSERT_TRUE(IsOk(UpdateWebhook(key, update, &webhook)));
    ASSERT_FALSE(webhook.enabled());
  }

  // webhook_id -> status of the deliveries rows of `event_id`.
  std::multimap<std::string, std::string> DeliveriesOf(
      const std::string& event_id, const std::string& event_type) {
    std::multimap<std::string, std::string> out;
    absl::StatusOr<std::vector<std::vector<std::string>>> rows = db().Query(
        "SELECT webhook_id, status, event_type FROM deliveries "
        "WHERE event_id = $1",
        {event_id});
    if (!rows.ok()) {
      ADD_FAILURE() << rows.status();
      return out;
    }
    for (const std::vector<std::string>& row : *rows) {
      EXPECT_EQ(row[2], event_type);
      out.emplace(row[0], row[1]);
    }
    return out;
  }

  static v1::PublishEventRequest FollowerGained(const std::string& target) {
    v1::PublishEventRequest request;
    request.set_type("follower.gained");
    v1::FollowerChangeData* follower = request.mutable_follower();
    follower->set_platform("instagram");
    follower->set_tracked_username("leadrelay_demo");
    follower->set_target_username(target);
    follower->set_target_user_id("1789");
    follower->set_change_date(UtcDate());
    return request;
  }

  static std::vector<std::string> Ids(const std::vector<v1::Event>& events) {
    std::vector<std::string> ids;
    for (const v1::Event& event : events) ids.push_back(event.id());
    return ids;
  }
};

// --- Webhooks ------------------------------------------------------------

TEST_F(EventWebhookApiTest, CreateWebhookGeneratesASecretShownOnce) {
  absl::StatusOr<Account> account = NewAccount();
  ASSERT_TRUE(account.ok()) << account.status();
  v1::CreateWebhookResponse created;
  ASSERT_TRUE(IsOk(CreateWebhook(account->admin_key, kHttpsUrl,
                                 {"lead.new", "lead.updated"}, &created)));

  EXPECT_FALSE(created.webhook_id().empty());
  EXPECT_EQ(created.webhook().id(), created.webhook_id());
  EXPECT_EQ(created.webhook().url(), kHttpsUrl);
  EXPECT_EQ(std::set<std::string>(created.webhook().events().begin(),
                                  created.webhook().events().end()),
            (std::set<std::string>{"lead.new", "lead.updated"}));
  EXPECT_TRUE(created.webhook().enabled());
  EXPECT_TRUE(absl::StartsWith(created.secret(), "whsec_")) << created.secret();
  // A hint only: "whsec_" and 4 characters of the generated secret.
  const std::string& prefix = created.webhook().secret_prefix();
  EXPECT_EQ(prefix, created.secret().substr(0, 10));

  v1::Webhook fetched;
  ASSERT_TRUE(
      IsOk(GetWebhook(account->admin_key, created.webhook_id(), &fetched)));
  EXPECT_EQ(fetched.url(), kHttpsUrl);
  EXPECT_EQ(fetched.secret_prefix(), prefix);
  EXPECT_EQ(fetched.DebugString().find(created.secret()), std::string::npos)
      << "GetWebhook must not return the secret";

  v1::ListWebhooksResponse list;
  ASSERT_TRUE(IsOk(ListWebhooks(account->admin_key, &list)));
  ASSERT_EQ(list.webhooks_size(), 1);
  EXPECT_EQ(list.webhooks(0).id(), created.webhook_id());
  EXPECT_EQ(list.DebugString().find(created.secret()), std::string::npos)
      << "ListWebhooks must not return the secret";
}

TEST_F(EventWebhookApiTest, CreateWebhookTakesTheCallersOwnSecret) {
  absl::StatusOr<Account> account = NewAccount();
  ASSERT_TRUE(account.ok()) << account.status();
  const std::string secret = "my-own-secret-0123";  // 18 characters
  v1::CreateWebhookResponse created;
  ASSERT_TRUE(IsOk(CreateWebhook(account->admin_key, kHttpsUrl, {"lead.new"},
                                 &created, secret)));
  EXPECT_EQ(created.secret(), secret);
  // Nothing of a secret the caller chose is shown.
  EXPECT_EQ(created.webhook().secret_prefix(), "(custom)");

  EXPECT_TRUE(HasError(CreateWebhook(account->admin_key, kHttpsUrl,
                                     {"lead.new"}, &created, "fifteen-chars!!"),
                       StatusCode::INVALID_ARGUMENT, "invalid_request"))
      << "secrets shorter than 16 characters are refused";
}

TEST_F(EventWebhookApiTest, WebhookUrlsMustBeHttpsExceptForAllowedHosts) {
  absl::StatusOr<Account> account = NewAccount();
  ASSERT_TRUE(account.ok()) << account.status();
  v1::CreateWebhookResponse created;
  for (const char* url : {"http://example.com/hook", "ftp://example.com/hook",
                          "example.com/hook", "not a url", ""}) {
    EXPECT_TRUE(
        HasError(CreateWebhook(account->admin_key, url, {"lead.new"}, &created),
                 StatusCode::INVALID_ARGUMENT, "invalid_request"))
        << "url '" << url << "'";
  }
  for (const std::string& url :
       {std::string(kHttpsUrl), std::string("http://127.0.0.1:9/x"),
        std::string("http://localhost:9/x")}) {
    EXPECT_TRUE(
        IsOk(CreateWebhook(account->admin_key, url, {"lead.new"}, &created)))
        << url;
  }
  v1::ListWebhooksResponse list;
  ASSERT_TRUE(IsOk(ListWebhooks(account->admin_key, &list)));
  EXPECT_EQ(list.webhooks_size(), 3);
}

TEST_F(EventWebhookApiTest, CreateWebhookRejectsUnknownEventNames) {
  absl::StatusOr<Account> account = NewAccount();
  ASSERT_TRUE(account.ok()) << account.status();
  v1::CreateWebhookResponse created;
  for (const std::vector<std::string>& events :
       std::vector<std::vector<std::string>>{{"lead.new", "lead.exploded"},
                                             {"lead"}}) {
    EXPECT_TRUE(
        HasError(CreateWebhook(account->admin_key, kHttpsUrl, events, &created),
                 StatusCode::INVALID_ARGUMENT, "invalid_request"))
        << events[events.size() - 1];
  }
  v1::ListWebhooksResponse list;
  ASSERT_TRUE(IsOk(ListWebhooks(account->admin_key, &list)));
  EXPECT_EQ(list.webhooks_size(), 0);
}

TEST_F(EventWebhookApiTest, AnAccountHasAtMostFiveWebhooks) {
  absl::StatusOr<Account> account = NewAccount();
  ASSERT_TRUE(account.ok()) << account.status();
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(NewWebhook(account->admin_key, {"lead.new"}, kHttpsUrl));
  }
  ASSERT_FALSE(HasFailure());

  v1::CreateWebhookResponse created;
  grpc::Status sixth =
      CreateWebhook(account->admin_key, kHttpsUrl, {"lead.new"}, &created);
  EXPECT_TRUE(HasError(sixth, StatusCode::INVALID_ARGUMENT, "invalid_request"));
  EXPECT_TRUE(absl::StrContains(sixth.error_message(), "5"))
      << "the message names the limit: " << sixth.error_message();

  v1::ListWebhooksResponse list;
  ASSERT_TRUE(IsOk(ListWebhooks(account->admin_key, &list)));
  EXPECT_EQ(list.webhooks_size(), 5);

  // Deleting one makes room again.
  grpc::ClientContext context;
  Authorize(&context, account->admin_key);
  v1::DeleteWebhookRequest request;
  request.set_id(ids[0]);
  v1::DeleteWebhookResponse deleted;
  ASSERT_TRUE(IsOk(api().webhooks->DeleteWebhook(&context, request, &deleted)));
  EXPECT_TRUE(IsOk(
      CreateWebhook(account->admin_key, kHttpsUrl, {"lead.new"}, &created)));
}

TEST_F(EventWebhookApiTest, UpdateWebhookChangesUrlEventsAndEnabled) {
  absl::StatusOr<Account> account = NewAccount();
  ASSERT_TRUE(account.ok()) << account.status();
  const std::string id = NewWebhook(account->admin_key, {"lead.new"});
  ASSERT_FALSE(id.empty());

  v1::UpdateWebhookRequest update;
  update.set_id(id);
  update.set_url("https://crm.example.org/in");
  update.add_events("dm.sent");
  update.add_events("dm.failed");
  update.set_enabled(false);
  v1::Webhook updated;
  ASSERT_TRUE(IsOk(UpdateWebhook(account->admin_key, update, &updated)));
  EXPECT_EQ(updated.url(), "https://crm.example.org/in");
  EXPECT_EQ(
      std::set<std::string>(updated.events().begin(), updated.events().end()),
      (std::set<std::string>{"dm.sent", "dm.failed"}));
  EXPECT_FALSE(updated.enabled());

  v1::Webhook fetched;
  ASSERT_TRUE(IsOk(GetWebhook(account->admin_key, id, &fetched)));
  EXPECT_EQ(fetched.url(), "https://crm.example.org/in");
  EXPECT_FALSE(fetched.enabled());

  // Only what is given changes.
  v1::UpdateWebhookRequest enable;
  enable.set_id(id);
  enable.set_enabled(true);
  ASSERT_TRUE(IsOk(UpdateWebhook(account->admin_key, enable, &updated)));
  EXPECT_TRUE(updated.enabled());
  EXPECT_EQ(updated.url(), "https://crm.example.org/in");
  EXPECT_EQ(updated.events_size(), 2);

  // Invalid changes are refused and change nothing.
  std::vector<v1::UpdateWebhookRequest> bad(2);
  bad[0].set_url("http://example.com/in");
  bad[1].add_events("lead.exploded");
  for (v1::UpdateWebhookRequest& request : bad) {
    request.set_id(id);
    EXPECT_TRUE(HasError(UpdateWebhook(account->admin_key, request, &updated),
                         StatusCode::INVALID_ARGUMENT, "invalid_request"))
        << request.ShortDebugString();
  }
  ASSERT_TRUE(IsOk(GetWebhook(account->admin_key, id, &fetched)));
  EXPECT_EQ(fetched.url(), "https://crm.example.org/in");
  EXPECT_EQ(fetched.events_size(), 2);
}

TEST_F(EventWebhookApiTest, DeleteWebhookRemovesIt) {
  absl::StatusOr<Account> account = NewAccount();
  ASSERT_TRUE(account.ok()) << account.status();
  const std::string keep = NewWebhook(account->admin_key, {"lead.new"});
  const std::string gone = NewWebhook(account->admin_key, {"lead.new"});
  ASSERT_FALSE(HasFailure());

  auto remove = [&](const std::string& id) {
    grpc::ClientContext context;
    Authorize(&context, account->admin_key);
    v1::DeleteWebhookRequest request;
    request.set_id(id);
    v1::DeleteWebhookResponse response;
    return api().webhooks->DeleteWebhook(&context, request, &response);
  };
  ASSERT_TRUE(IsOk(remove(gone)));

  v1::Webhook fetched;
  EXPECT_TRUE(HasError(GetWebhook(account->admin_key, gone, &fetched),
                       StatusCode::NOT_FOUND, "not_found"));
  EXPECT_TRUE(HasError(remove(gone), StatusCode::NOT_FOUND, "not_found"));
  v1::ListWebhooksResponse list;
  ASSERT_TRUE(IsOk(ListWebhooks(account->admin_key, &list)));
  ASSERT_EQ(list.webhooks_size(), 1);
  EXPECT_EQ(list.webhooks(0).id(), keep);

  // A deleted webhook gets no deliveries.
  v1::Lead lead;
  ASSERT_TRUE(IsOk(CreateLead(account->admin_key, SampleLead(), &lead)));
  EXPECT_EQ(
      SqlInt("SELECT count(*) FROM deliveries WHERE webhook_id = $1", {gone}),
      0);
}

TEST_F(EventWebhookApiTest, RotateWebhookSecretReturnsANewSecret) {
  absl::StatusOr<Account> account = NewAccount();
  ASSERT_TRUE(account.ok()) << account.status();
  v1::CreateWebhookResponse created;
  ASSERT_TRUE(IsOk(
      CreateWebhook(account->admin_key, kHttpsUrl, {"lead.new"}, &created)));

  auto rotate = [&](const std::string& key, const std::string& id,
                    const std::string& secret,
                    v1::RotateWebhookSecretResponse* response) {
    grpc::ClientContext context;
    Authorize(&context, key);
    v1::RotateWebhookSecretRequest request;
    request.set_id(id);
    request.set_secret(secret);
    return api().webhooks->RotateWebhookSecret(&context, request, response);
  };
  v1::RotateWebhookSecretResponse rotated;
  ASSERT_TRUE(
      IsOk(rotate(account->admin_key, created.webhook_id(), "", &rotated)));
  EXPECT_TRUE(absl::StartsWith(rotated.secret(), "whsec_"));
  EXPECT_NE(rotated.secret(), created.secret());
  EXPECT_EQ(rotated.webhook().id(), created.webhook_id());
  EXPECT_TRUE(
      absl::StartsWith(rotated.secret(), rotated.webhook().secret_prefix()));
  EXPECT_EQ(SqlInt("SELECT count(*) FROM webhooks WHERE id = $1 AND "
                   "secret_key_id IS NOT NULL AND previous_secret IS NOT NULL "
                   "AND strpos(secret, $2) = 0 AND strpos(previous_secret, $3)"
                   " = 0",
                   {created.webhook_id(), rotated.secret(), created.secret()}),
            1)
      << "both secrets are stored, encrypted (signing: secret_storage_test)";

  const std::string own = "rotated-by-hand-0123456789";
  ASSERT_TRUE(
      IsOk(rotate(account->admin_key, created.webhook_id(), own, &rotated)));
  EXPECT_EQ(rotated.secret(), own);

  v1::Webhook fetched;
  ASSERT_TRUE(
      IsOk(GetWebhook(account->admin_key, created.webhook_id(), &fetched)));
  EXPECT_EQ(fetched.secret_prefix(), "(custom)");

  // Someone else's webhook, or none at all: NOT_FOUND.
  EXPECT_TRUE(
      HasError(rotate(other_.admin_key, created.webhook_id(), "", &rotated),
               StatusCode::NOT_FOUND, "not_found"));
  EXPECT_TRUE(
      HasError(rotate(account->admin_key, "wh_does_not_exist", "", &rotated),
               StatusCode::NOT_FOUND, "not_found"));
}

TEST_F(EventWebhookApiTest, AnotherAccountsWebhookIsNotFound) {
  const std::string mine = NewWebhook(key_, {"lead.new"}, kHttpsUrl);
  ASSERT_FALSE(mine.empty());

  for (const std::string& id : {mine, std::string("wh_does_not_exist")}) {
    const std::string& key = id == mine ? other_.admin_key : key_;
    v1::Webhook webhook;
    EXPECT_TRUE(HasError(GetWebhook(key, id, &webhook), StatusCode::NOT_FOUND,
                         "not_found"))
        << "Get " << id;
    v1::UpdateWebhookRequest update;
    update.set_id(id);
    update.set_enabled(false);
    EXPECT_TRUE(HasError(UpdateWebhook(key, update, &webhook),
                         StatusCode::NOT_FOUND, "not_found"))
        << "Update " << id;
    grpc::ClientContext context;
    Authorize(&context, key);
    v1::DeleteWebhookRequest request;
    request.set_id(id);
    v1::DeleteWebhookResponse deleted;
    EXPECT_TRUE(
        HasError(api().webhooks->DeleteWebhook(&context, request, &deleted),
                 StatusCode::NOT_FOUND, "not_found"))
        << "Delete " << id;
  }

  v1::Webhook fetched;
  ASSERT_TRUE(IsOk(GetWebhook(key_, mine, &fetched)));
  EXPECT_TRUE(fetched.enabled()) << "the other account changed nothing";

  v1::ListWebhooksResponse theirs;
  ASSERT_TRUE(IsOk(ListWebhooks(other_.admin_key, &theirs)));
  for (const v1::Webhook& webhook : theirs.webhooks()) {
    EXPECT_NE(webhook.id(), mine);
  }
}

TEST_F(EventWebhookApiTest, ListEventTypesListsTheCatalogue) {
  grpc::ClientContext context;
  Authorize(&context, key_);
  v1::ListEventTypesResponse response;
  ASSERT_TRUE(IsOk(api().events->ListEventTypes(&context, {}, &response)));
  std::set<std::string> types(response.types().begin(), response.types().end());
  for (const char* type :
       {"lead.new", "lead.updated", "lead.enriched", "stats.updated",
        "follower.gained", "follower.lost", "dm.sent", "dm.failed",
        "job.completed", "job.failed", "connection.completed"}) {
    EXPECT_TRUE(types.count(type)) << type << " missing from the catalogue";
  }
  // Every listed type can be subscribed to.
  absl::StatusOr<Account> account = NewAccount();
  ASSERT_TRUE(account.ok()) << account.status();
  std::vector<std::string> all(types.begin(), types.end());
  v1::CreateWebhookResponse created;
  EXPECT_TRUE(
      IsOk(CreateWebhook(account->admin_key, kHttpsUrl, all, &created)));
}

// --- Events and deliveries -------------------------------------------------

TEST_F(EventWebhookApiTest, CreateLeadQueuesDeliveriesForEnabledSubscribers) {
  absl::StatusOr<Account> account = NewAccount();
  ASSERT_TRUE(account.ok()) << account.status();
  const std::string& key = account->admin_key;
  const std::string subscribed = NewWebhook(key, {"lead.new"});
  const std::string both = NewWebhook(key, {"lead.updated", "lead.new"});
  const std::string other_event = NewWebhook(key, {"lead.updated"});
  const std::string disabled = NewWebhook(key, {"lead.new"});
  ASSERT_FALSE(HasFailure());
  ASSERT_NO_FATAL_FAILURE(Disable(key, disabled));
  // Another account's subscriber must not hear about this lead.
  const std::string foreign = NewWebhook(other_.admin_key, {"lead.new"});

  v1::Lead lead;
  ASSERT_TRUE(IsOk(CreateLead(key, SampleLead(), &lead)));

  std::vector<v1::Event> events = AllEvents(key, {"lead.new"});
  ASSERT_EQ(events.size(), 1u);
  ASSERT_EQ(events[0].lead().lead().id(), lead.id());
  EXPECT_EQ(SqlInt("SELECT count(*) FROM events WHERE id = $1 AND "
                   "account_id = $2 AND type = 'lead.new'",
                   {events[0].id(), account->id}),
            1);

  std::multimap<std::string, std::string> deliveries =
      DeliveriesOf(events[0].id(), "lead.new");
  std::multimap<std::string, std::string> expected = {{subscribed, "pending"},
                                                      {both, "pending"}};
  EXPECT_EQ(deliveries, expected)
      << "one pending delivery per enabled webhook subscribed to lead.new";
  EXPECT_EQ(SqlInt("SELECT count(*) FROM deliveries WHERE webhook_id = ANY("
                   "ARRAY[$1, $2, $3])",
                   {other_event, disabled, foreign}),
            0);
}

TEST_F(EventWebhookApiTest, PublishEventQueuesDeliveriesAndIsFree) {
  absl::StatusOr<Account> account = NewAccount("pro", 5);
  ASSERT_TRUE(account.ok()) << account.status();
  const std::string& key = account->admin_key;
  const std::string first = NewWebhook(key, {"follower.gained"});
  const std::string second =
      NewWebhook(key, {"follower.lost", "follower.gained"});
  const std::string disabled = NewWebhook(key, {"follower.gained"});
  const std::string unrelated = NewWebhook(key, {"dm.sent"});
  ASSERT_FALSE(HasFailure());
  ASSERT_NO_FATAL_FAILURE(Disable(key, disabled));

  v1::PublishEventResponse published;
  ASSERT_TRUE(IsOk(PublishEvent(key, FollowerGained("new_fan"), &published)));
  EXPECT_EQ(published.deliveries_queued(), 2);
  const v1::Event& event = published.event();
  EXPECT_FALSE(event.id().empty());
  EXPECT_EQ(event.type(), "follower.gained");
  EXPECT_EQ(event.account_id(), account->id);
  EXPECT_FALSE(event.cursor().empty());
  EXPECT_EQ(event.follower().target_username(), "new_fan");

  std::multimap<std::string, std::string> expected = {{first, "pending"},
                                                      {second, "pending"}};
  EXPECT_EQ(DeliveriesOf(event.id(), "follower.gained"), expected);

  std::vector<v1::Event> events = AllEvents(key);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].id(), event.id());
  ASSERT_EQ(events[0].data_case(), v1::Event::kFollower);
  EXPECT_EQ(events[0].follower().tracked_username(), "leadrelay_demo");

  // Nobody subscribed: nothing queued.
  v1::PublishEventRequest job;
  job.set_type("job.completed");
  job.mutable_job()->set_job_id(7);
  job.mutable_job()->set_status("completed");
  ASSERT_TRUE(IsOk(PublishEvent(key, job, &published)));
  EXPECT_EQ(published.deliveries_queued(), 0);

  v1::GetCreditsResponse credits;
  ASSERT_TRUE(IsOk(GetCredits(key, &credits)));
  EXPECT_EQ(credits.credits(), 5) << "publishing events costs nothing";
}

TEST_F(EventWebhookApiTest, EveryCatalogueTypeCanBePublishedWithItsPayload) {
  absl::StatusOr<Account> account = NewAccount();
  ASSERT_TRUE(account.ok()) << account.status();
  std::vector<
      std::pair<std::string, std::function<void(v1::PublishEventRequest*)>>>
      cases = {
          {"lead.enriched",
           [](v1::PublishEventRequest* r) {
             v1::LeadEnrichedData* data = r->mutable_lead_enriched();
             v1::LinkedInProfile* profile = data->add_leads();
             profile->set_urn("urn:li:person:1");
             profile->set_full_name("Ama Owusu");
             profile->set_post_id("post-1");
             data->add_posts()->set_id("post-1");
             data->set_count(1);
           }},
          {"stats.updated",
           [](v1::PublishEventRequest* r) {
             r->mutable_stats()->set_platform("instagram");
             r->mutable_stats()->set_follower_count(1200);
           }},
          {"follower.gained",
           [](v1::PublishEventRequest* r) {
             r->mutable_follower()->set_target_username("a");
           }},
          {"follower.lost",
           [](v1::PublishEventRequest* r) {
             r->mutable_follower()->set_target_username("b");
           }},
          {"dm.sent",
           [](v1::PublishEventRequest* r) {
             r->mutable_dm()->set_message("Hi!");
           }},
          {"dm.failed",
           [](v1::PublishEventRequest* r) {
             r->mutable_dm()->set_error("blocked");
           }},
          {"job.completed",
           [](v1::PublishEventRequest* r) { r->mutable_job()->set_job_id(1); }},
          {"job.failed",
           [](v1::PublishEventRequest* r) {
             r->mutable_job()->set_error("timeout");
           }},
          {"connection.completed",
           [](v1::PublishEventRequest* r) {
             r->mutable_connection()->set_custom_user_id("client-9");
             r->mutable_connection()->set_status("success");
           }},
      };
  std::vector<std::string> published_ids;
  for (const auto& [type, fill] : cases) {
    v1::PublishEventRequest request;
    request.set_type(type);
    fill(&request);
    v1::PublishEventResponse response;
    EXPECT_TRUE(IsOk(PublishEvent(account->admin_key, request, &response)))
        << type;
    EXPECT_EQ(response.event().type(), type);
    published_ids.push_back(response.event().id());
  }
  EXPECT_EQ(Ids(AllEvents(account->admin_key)), published_ids)
      << "ListEvents returns events in the order they were written";
}

TEST_F(EventWebhookApiTest, PublishEventRejectsUnknownTypesAndWrongPayloads) {
  absl::StatusOr<Account> account = NewAccount();
  ASSERT_TRUE(account.ok()) << account.status();
  ASSERT_FALSE(NewWebhook(account->admin_key, {"follower.gained"}).empty());

  std::vector<v1::PublishEventRequest> cases;
  cases.push_back(FollowerGained("x"));
  cases.back().set_type("follower.exploded");
  cases.push_back(FollowerGained("x"));
  cases.back().set_type("");
  cases.push_back(FollowerGained("x"));
  cases.back().set_type("dm.sent");  // follower payload, dm type
  cases.push_back(FollowerGained("x"));
  cases.back().clear_follower();  // no payload at all
  cases.emplace_back();
  cases.back().set_type("stats.updated");
  cases.back().mutable_job()->set_job_id(3);

  for (const v1::PublishEventRequest& request : cases) {
    v1::PublishEventResponse response;
    EXPECT_TRUE(HasError(PublishEvent(account->admin_key, request, &response),
                         StatusCode::INVALID_ARGUMENT, "invalid_request"))
        << request.ShortDebugString();
  }
  EXPECT_EQ(SqlInt("SELECT count(*) FROM events WHERE account_id = $1",
                   {account->id}),
            0);
  EXPECT_EQ(SqlInt("SELECT count(*) FROM deliveries WHERE account_id = $1",
                   {account->id}),
            0);
}

TEST_F(EventWebhookApiTest, PublishEventNeedsTheIngestScope) {
  const std::string read_write = KeyWithScopes({"read", "write"});
  const std::string ingest = KeyWithScopes({"ingest"});
  ASSERT_FALSE(HasFailure());
  v1::PublishEventResponse response;
  EXPECT_TRUE(HasError(PublishEvent(read_write, FollowerGained("x"), &response),
                       StatusCode::PERMISSION_DENIED, "forbidden"));
  EXPECT_TRUE(IsOk(PublishEvent(ingest, FollowerGained("x"), &response)));
}

TEST_F(EventWebhookApiTest, ListEventsPagesWithCursors) {
  absl::StatusOr<Account> account = NewAccount();
  ASSERT_TRUE(account.ok()) << account.status();
  std::vector<std::string> published;
  for (int i = 0; i < 5; ++i) {
    v1::PublishEventResponse response;
    ASSERT_TRUE(
        IsOk(PublishEvent(account->admin_key,
                          FollowerGained(absl::StrCat("fan", i)), &response)));
    published.push_back(response.event().id());
  }

  std::vector<std::string> seen;
  v1::ListEventsRequest request;
  request.set_limit(2);
  const std::vector<int> sizes = {2, 2, 1, 0};
  for (int page = 0; page < 4; ++page) {
    v1::ListEventsResponse response;
    ASSERT_TRUE(IsOk(ListEvents(account->admin_key, request, &response)));
    ASSERT_EQ(response.events_size(), sizes[page]) << "page " << page;
    for (const v1::Event& event : response.events()) {
      seen.push_back(event.id());
    }
    if (response.events_size() > 0) {
      EXPECT_EQ(response.next_cursor(),
                response.events(response.events_size() - 1).cursor());
    } else {
      EXPECT_EQ(response.next_cursor(), request.after())
          << "nothing new: the cursor stays";
    }
    request.set_after(response.next_cursor());
  }
  EXPECT_EQ(seen, published);

  // A cursor from the middle resumes right after that event.
  request.set_limit(100);
  request.clear_after();
  v1::ListEventsResponse all;
  ASSERT_TRUE(IsOk(ListEvents(account->admin_key, request, &all)));
  ASSERT_EQ(all.events_size(), 5);
  request.set_after(all.events(2).cursor());
  v1::ListEventsResponse rest;
  ASSERT_TRUE(IsOk(ListEvents(account->admin_key, request, &rest)));
  ASSERT_EQ(rest.events_size(), 2);
  EXPECT_EQ(rest.events(0).id(), published[3]);
  EXPECT_EQ(rest.events(1).id(), published[4]);
}

TEST_F(EventWebhookApiTest, ListEventsFiltersByType) {
  absl::StatusOr<Account> account = NewAccount();
  ASSERT_TRUE(account.ok()) << account.status();
  std::vector<std::string> lost;
  for (int i = 0; i < 4; ++i) {
    v1::PublishEventRequest request = FollowerGained(absl::StrCat("u", i));
    if (i % 2 == 1) request.set_type("follower.lost");
    v1::PublishEventResponse response;
    ASSERT_TRUE(IsOk(PublishEvent(account->admin_key, request, &response)));
    if (i % 2 == 1) lost.push_back(response.event().id());
  }
  v1::Lead lead;
  ASSERT_TRUE(IsOk(CreateLead(account->admin_key, SampleLead(), &lead)));

  EXPECT_EQ(Ids(AllEvents(account->admin_key, {"follower.lost"})), lost);
  EXPECT_EQ(AllEvents(account->admin_key, {"follower.lost", "lead.new"}).size(),
            3u);
  EXPECT_EQ(AllEvents(account->admin_key).size(), 5u);
  EXPECT_TRUE(AllEvents(account->admin_key, {"dm.sent"}).empty());
}

// Read-your-writes: an event a call has committed is listed by the next
// call, even while some other client of the database has a write
// transaction open (here: one that has been assigned a transaction id).
TEST_F(EventWebhookApiTest, AnUnrelatedOpenTransactionDoesNotHideNewEvents) {
  absl::StatusOr<Account> account = NewAccount();
  ASSERT_TRUE(account.ok()) << account.status();
  absl::StatusOr<std::unique_ptr<PgConnection>> other_client =
      PgConnection::Open(harness().database_url());
  ASSERT_TRUE(other_client.ok()) << other_client.status();
  ASSERT_TRUE((*other_client)->Exec("BEGIN").ok());
  ASSERT_TRUE((*other_client)->Exec("SELECT pg_current_xact_id()").ok());

  v1::PublishEventResponse published;
  grpc::Status status =
      PublishEvent(account->admin_key, FollowerGained("seen"), &published);
  std::vector<v1::Event> events = AllEvents(account->admin_key);
  ASSERT_TRUE((*other_client)->Exec("ROLLBACK").ok());

  ASSERT_TRUE(IsOk(status));
  EXPECT_EQ(Ids(events), std::vector<std::string>{published.event().id()})
      << "a committed event must be listed at once";
}

TEST_F(EventWebhookApiTest, ListEventsRejectsALimitAbove1000) {
  v1::ListEventsRequest request;
  request.set_limit(1001);
  v1::ListEventsResponse response;
  EXPECT_TRUE(HasError(ListEvents(key_, request, &response),
                       StatusCode::INVALID_ARGUMENT, "invalid_request"));
}

TEST_F(EventWebhookApiTest, AccountsSeeOnlyTheirOwnEvents) {
  absl::StatusOr<Account> a = NewAccount();
  absl::StatusOr<Account> b = NewAccount();
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  v1::PublishEventResponse from_a;
  v1::PublishEventResponse from_b;
  ASSERT_TRUE(IsOk(PublishEvent(a->admin_key, FollowerGained("a"), &from_a)));
  ASSERT_TRUE(IsOk(PublishEvent(b->admin_key, FollowerGained("b"), &from_b)));
  v1::Lead lead;
  ASSERT_TRUE(IsOk(CreateLead(b->admin_key, SampleLead(), &lead)));

  EXPECT_EQ(Ids(AllEvents(a->admin_key)),
            std::vector<std::string>{from_a.event().id()});
  std::vector<v1::Event> b_events = AllEvents(b->admin_key);
  ASSERT_EQ(b_events.size(), 2u);
  EXPECT_EQ(b_events[0].id(), from_b.event().id());
  for (const v1::Event& event : b_events) {
    EXPECT_EQ(event.account_id(), b->id);
  }

  // B's cursor does not open A's log either.
  v1::ListEventsRequest request;
  request.set_after(from_b.event().cursor());
  v1::ListEventsResponse response;
  grpc::Status status = ListEvents(a->admin_key, request, &response);
  if (status.ok()) {
    for (const v1::Event& event : response.events()) {
      EXPECT_EQ(event.account_id(), a->id);
    }
  }
}

}  // namespace
}  // namespace leadrelay::itest
