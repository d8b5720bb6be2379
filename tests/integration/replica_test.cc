// Two leadrelay-server processes on one database behave as one service: one
// rate limit per key, one store, revocation seen by both.

#include <string>

#include "gtest/gtest.h"
#include "support/fixture.h"

namespace leadrelay::itest {
namespace {

using ::grpc::StatusCode;

class ReplicaTest : public ServerTest {
 protected:
  static void SetUpTestSuite() { StartHarness(2); }
};

TEST_F(ReplicaTest, TwoServersEnforceOneRateLimitTogether) {
  ASSERT_EQ(harness().num_servers(), 2);
  absl::StatusOr<Account> account = NewAccount("pro", 10);
  ASSERT_TRUE(account.ok()) << account.status();
  v1::CreateApiKeyResponse created;
  ASSERT_TRUE(
      IsOk(CreateKey(account->admin_key, "replicated", {"read"}, &created)));
  const std::string& key = created.key();

  for (int i = 0; i < 60; ++i) {
    const int server = i % 2;
    grpc::ClientContext context;
    Authorize(&context, key);
    v1::GetMeResponse me;
    ASSERT_TRUE(IsOk(api(server).accounts->GetMe(&context, {}, &me)))
        << "call " << i + 1 << " of 60, on server " << server;
    absl::StatusOr<RateLimitHeaders> headers = ReadRateLimitHeaders(context);
    ASSERT_TRUE(headers.ok()) << headers.status();
    EXPECT_EQ(headers->limit, 60);
    EXPECT_EQ(headers->remaining, 59 - i)
        << "call " << i + 1 << " on server " << server
        << ": both servers count into one window";
  }

  for (int server : {0, 1}) {
    grpc::ClientContext context;
    Authorize(&context, key);
    v1::GetMeResponse me;
    grpc::Status status = api(server).accounts->GetMe(&context, {}, &me);
    EXPECT_TRUE(
        HasError(status, StatusCode::RESOURCE_EXHAUSTED, "rate_limited"))
        << "over the limit on server " << server;
    EXPECT_TRUE(RetryInfoOf(status).has_value()) << Describe(status);
  }
}

TEST_F(ReplicaTest, BothServersShareOneStore) {
  absl::StatusOr<Account> account = NewAccount("pro", 10);
  ASSERT_TRUE(account.ok()) << account.status();

  v1::Lead created;
  ASSERT_TRUE(IsOk(CreateLead(account->admin_key, SampleLead(), &created,
                              /*server=*/0)));
  grpc::ClientContext context;
  Authorize(&context, account->admin_key);
  v1::GetLeadRequest request;
  request.set_id(created.id());
  v1::Lead fetched;
  ASSERT_TRUE(IsOk(api(1).leads->GetLead(&context, request, &fetched)));
  EXPECT_EQ(fetched.phone(), created.phone());

  // Credits are spent once, whichever server is asked.
  grpc::ClientContext credits_context;
  Authorize(&credits_context, account->admin_key);
  v1::GetCreditsResponse credits;
  ASSERT_TRUE(
      IsOk(api(1).accounts->GetCredits(&credits_context, {}, &credits)));
  EXPECT_EQ(credits.credits(), 9);
}

TEST_F(ReplicaTest, AKeyRevokedOnOneServerIsRejectedByTheOther) {
  v1::CreateApiKeyResponse created;
  ASSERT_TRUE(IsOk(CreateKey(key_, "short-lived", {"read"}, &created, 0)));
  v1::GetMeResponse me;
  ASSERT_TRUE(IsOk(GetMe(created.key(), &me, /*server=*/1)));

  grpc::ClientContext context;
  Authorize(&context, key_);
  v1::RevokeApiKeyRequest request;
  request.set_id(created.api_key().id());
  v1::RevokeApiKeyResponse revoked;
  ASSERT_TRUE(IsOk(api(0).keys->RevokeApiKey(&context, request, &revoked)));

  EXPECT_TRUE(HasError(GetMe(created.key(), &me, /*server=*/1),
                       StatusCode::UNAUTHENTICATED, "unauthorized"));
}

}  // namespace
}  // namespace leadrelay::itest
