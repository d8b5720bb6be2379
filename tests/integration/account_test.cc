// AccountService and ApiKeyService end to end: authentication, scopes, key
// management, account data and the per-key rate limit.

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "gtest/gtest.h"
#include "support/fixture.h"

namespace leadrelay::itest {
namespace {

using ::grpc::StatusCode;

class AccountApiTest : public ServerTest {};

std::vector<std::string> Sorted(
    const google::protobuf::RepeatedPtrField<std::string>& values) {
  std::vector<std::string> out(values.begin(), values.end());
  std::sort(out.begin(), out.end());
  return out;
}

TEST_F(AccountApiTest, GetMeReturnsTheAccountAndTheCallingKey) {
  v1::CreateApiKeyResponse created;
  ASSERT_TRUE(IsOk(CreateKey(key_, "me-key", {"read"}, &created)));

  v1::GetMeResponse me;
  ASSERT_TRUE(IsOk(GetMe(created.key(), &me)));

  EXPECT_EQ(me.account().id(), main_.id);
  EXPECT_EQ(me.account().name(), main_.name);
  EXPECT_EQ(me.account().plan(), "enterprise");
  EXPECT_EQ(me.account().rate_limit_per_minute(), 600);
  EXPECT_TRUE(me.account().has_created_at());
  EXPECT_EQ(me.api_key().id(), created.api_key().id());
  EXPECT_EQ(me.api_key().name(), "me-key");
  EXPECT_EQ(me.api_key().prefix(), created.api_key().prefix());
  EXPECT_EQ(me.DebugString().find(created.key()), std::string::npos)
      << "GetMe must not echo the key itself";
}

TEST_F(AccountApiTest, GetCreditsReportsTheStoredBalanceAndPlan) {
  absl::StatusOr<Account> account = NewAccount("starter", 250);
  ASSERT_TRUE(account.ok()) << account.status();

  v1::GetCreditsResponse credits;
  ASSERT_TRUE(IsOk(GetCredits(account->admin_key, &credits)));
  EXPECT_EQ(credits.credits(), 250);
  EXPECT_EQ(credits.plan(), "starter");

  EXPECT_EQ(StoredCredits(account->id), 250);
  ASSERT_TRUE(SetStoredCredits(account->id, 7));
  ASSERT_TRUE(IsOk(GetCredits(account->admin_key, &credits)));
  EXPECT_EQ(credits.credits(), 7);

  v1::GetMeResponse me;
  ASSERT_TRUE(IsOk(GetMe(account->admin_key, &me)));
  EXPECT_EQ(me.account().credits(), 7);
}

TEST_F(AccountApiTest, XApiKeyHeaderAuthenticatesLikeBearer) {
  grpc::ClientContext context;
  AuthorizeWithApiKeyHeader(&context, key_);
  v1::GetMeResponse me;
  ASSERT_TRUE(IsOk(api().accounts->GetMe(&context, v1::GetMeRequest(), &me)));
  EXPECT_EQ(me.account().id(), main_.id);
}

// One call per service, each made with the given (possibly empty) key and
// header name.
std::vector<std::pair<std::string, grpc::Status>> CallEveryService(
    Api& api, const std::string& header, const std::string& value) {
  std::vector<std::pair<std::string, grpc::Status>> results;
  auto context = [&](grpc::ClientContext* ctx) {
    SetDeadline(ctx);
    if (!header.empty()) ctx->AddMetadata(header, value);
  };
  {
    grpc::ClientContext ctx;
    context(&ctx);
    v1::GetMeResponse response;
    results.emplace_back("GetMe", api.accounts->GetMe(&ctx, {}, &response));
  }
  {
    grpc::ClientContext ctx;
    context(&ctx);
    v1::ListApiKeysResponse response;
    results.emplace_back("ListApiKeys",
                         api.keys->ListApiKeys(&ctx, {}, &response));
  }
  {
    grpc::ClientContext ctx;
    context(&ctx);
    v1::ListLeadsResponse response;
    results.emplace_back("ListLeads",
                         api.leads->ListLeads(&ctx, {}, &response));
  }
  {
    grpc::ClientContext ctx;
    context(&ctx);
    v1::ListEventsResponse response;
    results.emplace_back("ListEvents",
                         api.events->ListEvents(&ctx, {}, &response));
  }
  {
    grpc::ClientContext ctx;
    context(&ctx);
    v1::ListWebhooksResponse response;
    results.emplace_back("ListWebhooks",
                         api.webhooks->ListWebhooks(&ctx, {}, &response));
  }
  return results;
}

TEST_F(AccountApiTest, CallsWithoutAKeyAreUnauthenticated) {
  for (const auto& [method, status] : CallEveryService(api(), "", "")) {
    EXPECT_TRUE(HasError(status, StatusCode::UNAUTHENTICATED, "unauthorized"))
        << method;
  }
}

TEST_F(AccountApiTest, UnknownOrMalformedKeysAreUnauthenticated) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"authorization", "Bearer lr_this_key_does_not_exist_0123456789"},
      {"authorization", "Bearer "},
      {"authorization", "Basic " + key_},
      {"authorization", key_ + "x"},
      {"x-api-key", "lr_this_key_does_not_exist_0123456789"},
      {"x-api-key", key_.substr(0, key_.size() - 1)},
  };
  for (const auto& [header, value] : cases) {
    for (const auto& [method, status] :
         CallEveryService(api(), header, value)) {
      EXPECT_TRUE(HasError(status, StatusCode::UNAUTHENTICATED, "unauthorized"))
          << method << " with " << header << ": " << value;
    }
  }
}

TEST_F(AccountApiTest, RevokedKeyIsRejectedAtOnce) {
  v1::CreateApiKeyResponse created;
  ASSERT_TRUE(IsOk(CreateKey(key_, "to-revoke", {"read"}, &created)));
  v1::GetMeResponse me;
  ASSERT_TRUE(IsOk(GetMe(created.key(), &me)));

  grpc::ClientContext context;
  Authorize(&context, key_);
  v1::RevokeApiKeyRequest request;
  request.set_id(created.api_key().id());
  v1::RevokeApiKeyResponse revoked;
  ASSERT_TRUE(IsOk(api().keys->RevokeApiKey(&context, request, &revoked)));
  EXPECT_EQ(revoked.api_key().id(), created.api_key().id());
  EXPECT_TRUE(revoked.api_key().has_revoked_at());

  EXPECT_TRUE(HasError(GetMe(created.key(), &me), StatusCode::UNAUTHENTICATED,
                       "unauthorized"));
  grpc::ClientContext header_context;
  AuthorizeWithApiKeyHeader(&header_context, created.key());
  EXPECT_TRUE(
      HasError(api().accounts->GetMe(&header_context, v1::GetMeRequest(), &me),
               StatusCode::UNAUTHENTICATED, "unauthorized"));

  grpc::ClientContext list_context;
  Authorize(&list_context, key_);
  v1::ListApiKeysResponse list;
  ASSERT_TRUE(IsOk(api().keys->ListApiKeys(&list_context, {}, &list)));
  bool found = false;
  for (const v1::ApiKey& key : list.api_keys()) {
    if (key.id() != created.api_key().id()) continue;
    found = true;
    EXPECT_TRUE(key.has_revoked_at());
  }
  EXPECT_TRUE(found) << "a revoked key stays listed, marked revoked";
}

TEST_F(AccountApiTest, KeysWithoutTheRequiredScopeAreForbidden) {
  const std::string read_key = KeyWithScopes({"read"});
  const std::string ingest_key = KeyWithScopes({"ingest"});
  ASSERT_FALSE(read_key.empty());
  ASSERT_FALSE(ingest_key.empty());

  // read: reads pass, writes, ingest and admin do not.
  v1::GetMeResponse me;
  EXPECT_TRUE(IsOk(GetMe(read_key, &me)));
  v1::Lead lead;
  EXPECT_TRUE(HasError(CreateLead(read_key, SampleLead(), &lead),
                       StatusCode::PERMISSION_DENIED, "forbidden"));
  v1::CreateWebhookResponse webhook;
  EXPECT_TRUE(HasError(CreateWebhook(read_key, "https://example.com/hook",
                                     {"lead.new"}, &webhook),
                       StatusCode::PERMISSION_DENIED, "forbidden"));
  v1::UpdateLeadRequest update;
  update.set_id("lead_does_not_matter");
  update.set_status("contacted");
  EXPECT_TRUE(HasError(UpdateLead(read_key, update, &lead),
                       StatusCode::PERMISSION_DENIED, "forbidden"));
  v1::PublishEventRequest publish;
  publish.set_type("follower.gained");
  publish.mutable_follower()->set_platform("instagram");
  v1::PublishEventResponse published;
  EXPECT_TRUE(HasError(PublishEvent(read_key, publish, &published),
                       StatusCode::PERMISSION_DENIED, "forbidden"));
  v1::CreateApiKeyResponse key;
  EXPECT_TRUE(HasError(CreateKey(read_key, "escalate", {"admin"}, &key),
                       StatusCode::PERMISSION_DENIED, "forbidden"));
  grpc::ClientContext list_keys_context;
  Authorize(&list_keys_context, read_key);
  v1::ListApiKeysResponse keys;
  EXPECT_TRUE(HasError(api().keys->ListApiKeys(&list_keys_context, {}, &keys),
                       StatusCode::PERMISSION_DENIED, "forbidden"));

  // ingest: creating leads passes, reading does not.
  EXPECT_TRUE(IsOk(CreateLead(ingest_key, SampleLead(), &lead)));
  v1::ListLeadsResponse leads;
  EXPECT_TRUE(HasError(ListLeads(ingest_key, {}, &leads),
                       StatusCode::PERMISSION_DENIED, "forbidden"));
  EXPECT_TRUE(HasError(GetMe(ingest_key, &me), StatusCode::PERMISSION_DENIED,
                       "forbidden"));
}

TEST_F(AccountApiTest, AdminScopeImpliesEveryOtherScope) {
  v1::GetMeResponse me;
  EXPECT_TRUE(IsOk(GetMe(key_, &me)));
  v1::Lead lead;
  ASSERT_TRUE(IsOk(CreateLead(key_, SampleLead(), &lead)));
  v1::UpdateLeadRequest update;
  update.set_id(lead.id());
  update.set_status("contacted");
  EXPECT_TRUE(IsOk(UpdateLead(key_, update, &lead)));
  v1::PublishEventRequest publish;
  publish.set_type("follower.gained");
  publish.mutable_follower()->set_platform("instagram");
  v1::PublishEventResponse published;
  EXPECT_TRUE(IsOk(PublishEvent(key_, publish, &published)));
}

TEST_F(AccountApiTest, CreateApiKeyShowsTheKeyOnce) {
  v1::CreateApiKeyResponse created;
  ASSERT_TRUE(IsOk(CreateKey(key_, "zapier", {"read", "ingest"}, &created)));

  EXPECT_TRUE(absl::StartsWith(created.key(), "lr_")) << created.key();
  EXPECT_FALSE(created.api_key().id().empty());
  EXPECT_EQ(created.api_key().name(), "zapier");
  EXPECT_TRUE(created.api_key().has_created_at());
  EXPECT_FALSE(created.api_key().has_revoked_at());
  EXPECT_EQ(Sorted(created.api_key().scopes()),
            (std::vector<std::string>{"ingest", "read"}));
  const std::string& prefix = created.api_key().prefix();
  EXPECT_FALSE(prefix.empty());
  EXPECT_LT(prefix.size(), created.key().size());
  EXPECT_TRUE(absl::StartsWith(created.key(), prefix))
      << "prefix " << prefix << " of " << created.key();

  // The new key works on its own.
  v1::GetMeResponse me;
  ASSERT_TRUE(IsOk(GetMe(created.key(), &me)));
  EXPECT_EQ(me.api_key().id(), created.api_key().id());

  grpc::ClientContext context;
  Authorize(&context, key_);
  v1::ListApiKeysResponse list;
  ASSERT_TRUE(IsOk(api().keys->ListApiKeys(&context, {}, &list)));
  bool found = false;
  for (const v1::ApiKey& key : list.api_keys()) {
    if (key.id() == created.api_key().id()) {
      found = true;
      EXPECT_EQ(key.prefix(), prefix);
      EXPECT_EQ(key.name(), "zapier");
    }
  }
  EXPECT_TRUE(found);
  EXPECT_EQ(list.DebugString().find(created.key()), std::string::npos)
      << "ListApiKeys must never contain a key's secret";
  EXPECT_EQ(list.DebugString().find(key_), std::string::npos)
      << "ListApiKeys must never contain a key's secret";
}

TEST_F(AccountApiTest, CreateApiKeyDefaultsToReadAndWrite) {
  v1::CreateApiKeyResponse created;
  ASSERT_TRUE(IsOk(CreateKey(key_, "defaults", {}, &created)));
  EXPECT_EQ(Sorted(created.api_key().scopes()),
            (std::vector<std::string>{"read", "write"}));
}

TEST_F(AccountApiTest, CreateApiKeyRejectsUnknownScopes) {
  v1::CreateApiKeyResponse created;
  EXPECT_TRUE(HasError(CreateKey(key_, "bad", {"read", "superuser"}, &created),
                       StatusCode::INVALID_ARGUMENT, "invalid_request"));
}

TEST_F(AccountApiTest, ListApiKeysShowsOnlyTheAccountsOwnKeys) {
  v1::CreateApiKeyResponse theirs;
  ASSERT_TRUE(IsOk(CreateKey(other_.admin_key, "theirs", {"read"}, &theirs)));

  grpc::ClientContext context;
  Authorize(&context, key_);
  v1::ListApiKeysResponse list;
  ASSERT_TRUE(IsOk(api().keys->ListApiKeys(&context, {}, &list)));
  EXPECT_FALSE(list.api_keys().empty());
  for (const v1::ApiKey& key : list.api_keys()) {
    EXPECT_NE(key.id(), theirs.api_key().id());
  }
}

TEST_F(AccountApiTest, RevokingAnotherAccountsKeyIsNotFound) {
  v1::CreateApiKeyResponse theirs;
  ASSERT_TRUE(IsOk(CreateKey(other_.admin_key, "theirs", {"read"}, &theirs)));

  for (const std::string& id :
       {theirs.api_key().id(), std::string("key_does_not_exist")}) {
    grpc::ClientContext context;
    Authorize(&context, key_);
    v1::RevokeApiKeyRequest request;
    request.set_id(id);
    v1::RevokeApiKeyResponse response;
    EXPECT_TRUE(HasError(api().keys->RevokeApiKey(&context, request, &response),
                         StatusCode::NOT_FOUND, "not_found"))
        << id;
  }
  // Their key still works.
  v1::GetMeResponse me;
  EXPECT_TRUE(IsOk(GetMe(theirs.key(), &me)));
}

TEST_F(AccountApiTest, StatsOfANewAccountAreEmpty) {
  absl::StatusOr<Account> account = NewAccount("pro", 100);
  ASSERT_TRUE(account.ok()) << account.status();

  grpc::ClientContext context;
  Authorize(&context, account->admin_key);
  v1::AccountStats stats;
  ASSERT_TRUE(IsOk(api().accounts->GetAccountStats(
      &context, v1::GetAccountStatsRequest(), &stats)));
  EXPECT_EQ(stats.leads_received(), 0);
  EXPECT_EQ(stats.leads_converted(), 0);
  EXPECT_EQ(stats.conversion_rate(), "0.0%");
  EXPECT_EQ(stats.leads_this_month(), 0);
  EXPECT_EQ(stats.active_plan(), "pro");

  v1::GetMeResponse me;
  ASSERT_TRUE(IsOk(GetMe(account->admin_key, &me)));
  EXPECT_EQ(me.account().monthly_quota(), 500);
  EXPECT_EQ(stats.quota_this_month(), me.account().monthly_quota());
  EXPECT_EQ(me.account().rate_limit_per_minute(), 60);
}

// --- Rate limits ---------------------------------------------------------

TEST_F(AccountApiTest, SixtyFirstCallInAMinuteIsRateLimited) {
  absl::StatusOr<Account> account = NewAccount("pro", 100);
  ASSERT_TRUE(account.ok()) << account.status();
  v1::CreateApiKeyResponse created;
  ASSERT_TRUE(
      IsOk(CreateKey(account->admin_key, "limited", {"read"}, &created)));
  const std::string& key = created.key();

  // Reads of every kind count against the same per-key budget.
  const int64_t started = UnixNow();
  int64_t first_reset = -1;
  for (int i = 0; i < 60; ++i) {
    grpc::ClientContext context;
    Authorize(&context, key);
    grpc::Status status;
    if (i % 2 == 0) {
      v1::GetMeResponse response;
      status = api().accounts->GetMe(&context, {}, &response);
    } else {
      v1::GetCreditsResponse response;
      status = api().accounts->GetCredits(&context, {}, &response);
    }
    ASSERT_TRUE(IsOk(status)) << "call " << i + 1 << " of 60";
    absl::StatusOr<RateLimitHeaders> headers = ReadRateLimitHeaders(context);
    ASSERT_TRUE(headers.ok()) << "call " << i + 1 << ": " << headers.status();
    EXPECT_EQ(headers->source, "initial") << "call " << i + 1;
    EXPECT_EQ(headers->limit, 60) << "call " << i + 1;
    EXPECT_EQ(headers->remaining, 59 - i) << "call " << i + 1;
    if (first_reset < 0) {
      first_reset = headers->reset;
      EXPECT_GE(first_reset, started) << "reset is in unix seconds";
      EXPECT_LE(first_reset, UnixNow() + 61)
          << "the window lasts 60 s from the first request";
    } else {
      EXPECT_EQ(headers->reset, first_reset)
          << "call " << i + 1 << ": the window does not move";
    }
  }

  grpc::ClientContext context;
  Authorize(&context, key);
  v1::GetMeResponse response;
  grpc::Status status = api().accounts->GetMe(&context, {}, &response);
  ASSERT_TRUE(HasError(status, StatusCode::RESOURCE_EXHAUSTED, "rate_limited"));

  std::optional<google::rpc::RetryInfo> retry = RetryInfoOf(status);
  ASSERT_TRUE(retry.has_value()) << "RetryInfo missing: " << Describe(status);
  const int64_t delay_ms = retry->retry_delay().seconds() * 1000 +
                           retry->retry_delay().nanos() / 1000000;
  EXPECT_GT(delay_ms, 0);
  EXPECT_LE(delay_ms, 60000);

  std::optional<ErrorInfo> info = ErrorInfoOf(status);
  ASSERT_TRUE(info.has_value());
  auto retry_after = info->metadata.find("retry_after_seconds");
  ASSERT_NE(retry_after, info->metadata.end())
      << "ErrorInfo.metadata lacks retry_after_seconds";
  int retry_after_seconds = 0;
  ASSERT_TRUE(absl::SimpleAtoi(retry_after->second, &retry_after_seconds))
      << retry_after->second;
  EXPECT_GE(retry_after_seconds, 1);
  EXPECT_LE(retry_after_seconds, 60);

  absl::StatusOr<RateLimitHeaders> headers = ReadRateLimitHeaders(context);
  ASSERT_TRUE(headers.ok()) << "rate-limited response: " << headers.status();
  std::cout << "x-ratelimit-* on a RESOURCE_EXHAUSTED response arrived in "
            << headers->source << " metadata\n";
  RecordProperty("ratelimit_metadata_on_error", headers->source);
  EXPECT_EQ(headers->limit, 60);
  EXPECT_EQ(headers->remaining, 0);
  EXPECT_EQ(headers->reset, first_reset);

  // The limit is per key: another key of the same account still works.
  v1::CreateApiKeyResponse second;
  ASSERT_TRUE(
      IsOk(CreateKey(account->admin_key, "unlimited", {"read"}, &second)));
  v1::GetMeResponse me;
  EXPECT_TRUE(IsOk(GetMe(second.key(), &me)));
}

TEST_F(AccountApiTest, ErrorResponsesCarryRateLimitMetadata) {
  grpc::ClientContext context;
  Authorize(&context, key_);
  v1::GetLeadRequest request;
  request.set_id("lead_does_not_exist");
  v1::Lead lead;
  grpc::Status status = api().leads->GetLead(&context, request, &lead);
  ASSERT_TRUE(HasError(status, StatusCode::NOT_FOUND, "not_found"));

  absl::StatusOr<RateLimitHeaders> headers = ReadRateLimitHeaders(context);
  ASSERT_TRUE(headers.ok()) << headers.status();
  std::cout << "x-ratelimit-* on a NOT_FOUND response arrived in "
            << headers->source << " metadata\n";
  RecordProperty("ratelimit_metadata_on_error", headers->source);
  EXPECT_EQ(headers->limit, 600);
  // key_ is fresh: this is its first call.
  EXPECT_EQ(headers->remaining, 599);
  EXPECT_GE(headers->reset, UnixNow() - 1);
  EXPECT_LE(headers->reset, UnixNow() + 61);
}

}  // namespace
}  // namespace leadrelay::itest
