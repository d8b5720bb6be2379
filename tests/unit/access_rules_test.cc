// API-key extraction, scopes, per-method policies and the rate-limit verdict.
#include "auth/access_rules.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/status_util.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "gtest/gtest.h"
#include "leadrelay/v1/account.pb.h"
#include "leadrelay/v1/event.pb.h"
#include "leadrelay/v1/lead.pb.h"
#include "leadrelay/v1/options.pb.h"
#include "leadrelay/v1/webhook.pb.h"

namespace leadrelay::auth {
namespace {

using ::testing::HasSubstr;

// ExtractApiKey

TEST(ExtractApiKeyTest, BearerToken) {
  auto key = ExtractApiKey("Bearer lr_abc123", std::nullopt);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(*key, "lr_abc123");
}

TEST(ExtractApiKeyTest, BearerIsCaseInsensitiveAndWhitespaceTolerant) {
  EXPECT_EQ(*ExtractApiKey("bearer lr_abc", std::nullopt), "lr_abc");
  EXPECT_EQ(*ExtractApiKey("BEARER lr_abc", std::nullopt), "lr_abc");
  EXPECT_EQ(*ExtractApiKey("  Bearer    lr_abc  ", std::nullopt), "lr_abc");
}

TEST(ExtractApiKeyTest, XApiKeyHeader) {
  auto key = ExtractApiKey(std::nullopt, " lr_xyz ");
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(*key, "lr_xyz");
}

TEST(ExtractApiKeyTest, AuthorizationTakesPrecedence) {
  EXPECT_EQ(*ExtractApiKey("Bearer lr_from_auth", "lr_from_header"),
            "lr_from_auth");
}

TEST(ExtractApiKeyTest, EmptyAuthorizationDefersToXApiKey) {
  // Some HTTP tools send an empty Authorization header beside X-Api-Key.
  EXPECT_EQ(*ExtractApiKey("", "lr_from_header"), "lr_from_header");
  EXPECT_EQ(*ExtractApiKey("   ", "lr_from_header"), "lr_from_header");
}

TEST(ExtractApiKeyTest, MissingKeyIsUnauthenticated) {
  absl::Status s = ExtractApiKey(std::nullopt, std::nullopt).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(ReasonOf(s), "unauthorized");
  EXPECT_THAT(s.message(), HasSubstr("missing API key"));

  EXPECT_EQ(ExtractApiKey(std::nullopt, "   ").status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(ExtractApiKey("Bearer    ", std::nullopt).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(ExtractApiKeyTest, OtherSchemesAreRejected) {
  for (const char* header :
       {"Basic dXNlcjpwdw==", "lr_abc", "Token lr_abc", "Bearerlr_abc"}) {
    absl::Status s = ExtractApiKey(header, std::nullopt).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated) << header;
    EXPECT_EQ(ReasonOf(s), "unauthorized") << header;
  }
  EXPECT_THAT(ExtractApiKey("Basic x", std::nullopt).status().message(),
              HasSubstr("Bearer"));
}

TEST(ExtractApiKeyTest, OverlongKeyIsRejected) {
  EXPECT_TRUE(ExtractApiKey(std::nullopt, std::string(200, 'k')).ok());
  absl::Status s = ExtractApiKey(std::nullopt, std::string(201, 'k')).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
}

// scopes

TEST(ScopeTest, Names) {
  EXPECT_EQ(ScopeName(v1::SCOPE_READ), "read");
  EXPECT_EQ(ScopeName(v1::SCOPE_WRITE), "write");
  EXPECT_EQ(ScopeName(v1::SCOPE_INGEST), "ingest");
  EXPECT_EQ(ScopeName(v1::SCOPE_ADMIN), "admin");
  EXPECT_EQ(ScopeName(v1::SCOPE_UNSPECIFIED), "admin");  // fails closed
}

TEST(ScopeTest, ValidateScopes) {
  EXPECT_TRUE(ValidateScopes({}).ok());
  EXPECT_TRUE(ValidateScopes({"read", "write", "ingest", "admin"}).ok());
  absl::Status s = ValidateScopes({"read", "superuser"});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("'superuser'"));
  EXPECT_FALSE(ValidateScopes({"READ"}).ok());
  EXPECT_FALSE(ValidateScopes({""}).ok());
}

TEST(ScopeTest, HasScope) {
  EXPECT_TRUE(HasScope({"read"}, v1::SCOPE_READ));
  EXPECT_FALSE(HasScope({"read"}, v1::SCOPE_WRITE));
  EXPECT_FALSE(HasScope({"read", "write"}, v1::SCOPE_INGEST));
  EXPECT_FALSE(HasScope({"read", "write", "ingest"}, v1::SCOPE_ADMIN));
  EXPECT_FALSE(HasScope({}, v1::SCOPE_READ));
  for (v1::Scope scope : {v1::SCOPE_READ, v1::SCOPE_WRITE, v1::SCOPE_INGEST,
                          v1::SCOPE_ADMIN, v1::SCOPE_UNSPECIFIED}) {
    EXPECT_TRUE(HasScope({"admin"}, scope)) << scope;
  }
  EXPECT_FALSE(HasScope({"read"}, v1::SCOPE_UNSPECIFIED));
}

// PolicyFor

TEST(PolicyForTest, CreateLeadCostsOneCreditAndNeedsIngest) {
  v1::MethodPolicy p = PolicyFor("leadrelay.v1.LeadService.CreateLead");
  EXPECT_EQ(p.scope(), v1::SCOPE_INGEST);
  EXPECT_EQ(p.credit_cost(), 1);
}

TEST(PolicyForTest, ReadsAreFree) {
  for (const char* method : {"leadrelay.v1.AccountService.GetMe",
                             "leadrelay.v1.AccountService.GetCredits",
                             "leadrelay.v1.LeadService.GetLead",
                             "leadrelay.v1.LeadService.ListLeads",
                             "leadrelay.v1.EventService.ListEvents"}) {
    v1::MethodPolicy p = PolicyFor(method);
    EXPECT_EQ(p.scope(), v1::SCOPE_READ) << method;
    EXPECT_EQ(p.credit_cost(), 0) << method;
  }
}

TEST(PolicyForTest, WritesAndAdmin) {
  EXPECT_EQ(PolicyFor("leadrelay.v1.LeadService.UpdateLead").scope(),
            v1::SCOPE_WRITE);
  EXPECT_EQ(PolicyFor("leadrelay.v1.WebhookService.CreateWebhook").scope(),
            v1::SCOPE_WRITE);
  EXPECT_EQ(PolicyFor("leadrelay.v1.EventService.PublishEvent").scope(),
            v1::SCOPE_INGEST);
  EXPECT_EQ(PolicyFor("leadrelay.v1.AccountService.CreateApiKey").scope(),
            v1::SCOPE_ADMIN);
}

TEST(PolicyForTest, UnknownMethodFailsClosedToAdmin) {
  for (const char* method :
       {"leadrelay.v1.LeadService.DeleteEverything", "", "CreateLead",
        // the gRPC wire form is not a descriptor name
        "/leadrelay.v1.LeadService/CreateLead", "leadrelay.v1.LeadService"}) {
    v1::MethodPolicy p = PolicyFor(method);
    EXPECT_EQ(p.scope(), v1::SCOPE_ADMIN) << method;
    EXPECT_EQ(p.credit_cost(), 0) << method;
  }
}

// Every RPC must declare its policy; a forgotten one would silently become
// admin-only at run time.
TEST(PolicyForTest, EveryRpcDeclaresAPolicy) {
  const google::protobuf::FileDescriptor* files[] = {
      v1::GetMeRequest::descriptor()->file(),
      v1::Lead::descriptor()->file(),
      v1::Event::descriptor()->file(),
      v1::CreateWebhookRequest::descriptor()->file(),
  };
  int methods = 0;
  for (const auto* file : files) {
    for (int s = 0; s < file->service_count(); ++s) {
      const auto* service = file->service(s);
      for (int m = 0; m < service->method_count(); ++m) {
        const auto* method = service->method(m);
        ++methods;
        EXPECT_TRUE(method->options().HasExtension(v1::policy))
            << method->full_name();
        v1::MethodPolicy p = PolicyFor(method->full_name());
        EXPECT_NE(p.scope(), v1::SCOPE_UNSPECIFIED) << method->full_name();
        EXPECT_GE(p.credit_cost(), 0) << method->full_name();
      }
    }
  }
  EXPECT_GE(methods, 20);
}

// DecideRateLimit

constexpr int64_t kSecond = 1000000;
// An arbitrary window start on a whole second.
constexpr int64_t kWindowStart = int64_t{1767225600} * kSecond;

TEST(DecideRateLimitTest, UnlimitedPlan) {
  RateLimitVerdict v = DecideRateLimit(0, 1000000, kWindowStart, kWindowStart);
  EXPECT_TRUE(v.allowed);
  EXPECT_EQ(v.limit, 0);
  EXPECT_EQ(v.retry_after_seconds, 0);
}

TEST(DecideRateLimitTest, FirstRequestInWindow) {
  RateLimitVerdict v = DecideRateLimit(60, 1, kWindowStart, kWindowStart);
  EXPECT_TRUE(v.allowed);
  EXPECT_EQ(v.limit, 60);
  EXPECT_EQ(v.remaining, 59);
  EXPECT_EQ(v.reset_unix, kWindowStart / kSecond + 60);
}

TEST(DecideRateLimitTest, SixtiethRequestIsTheLastAllowed) {
  RateLimitVerdict v =
      DecideRateLimit(60, 60, kWindowStart, kWindowStart + 30 * kSecond);
  EXPECT_TRUE(v.allowed);
  EXPECT_EQ(v.remaining, 0);
  EXPECT_EQ(v.retry_after_seconds, 0);
}

TEST(DecideRateLimitTest, SixtyFirstRequestIsDeniedWithRetryAfter) {
  for (int64_t elapsed_ms : {0, 1, 500, 30000, 59000, 59999}) {
    int64_t now = kWindowStart + elapsed_ms * 1000;
    RateLimitVerdict v = DecideRateLimit(60, 61, kWindowStart, now);
    EXPECT_FALSE(v.allowed) << elapsed_ms;
    EXPECT_EQ(v.remaining, 0) << elapsed_ms;
    EXPECT_GE(v.retry_after_seconds, 1) << elapsed_ms;
    EXPECT_LE(v.retry_after_seconds, 60) << elapsed_ms;
    // Waiting retry_after_seconds must reach the next window.
    EXPECT_GE(now + v.retry_after_seconds * kSecond,
              kWindowStart + 60 * kSecond)
        << elapsed_ms;
  }
}

TEST(DecideRateLimitTest, RetryAfterRoundsUp) {
  EXPECT_EQ(
      DecideRateLimit(60, 61, kWindowStart, kWindowStart).retry_after_seconds,
      60);
  EXPECT_EQ(DecideRateLimit(60, 61, kWindowStart, kWindowStart + 30 * kSecond)
                .retry_after_seconds,
            30);
  EXPECT_EQ(
      DecideRateLimit(60, 61, kWindowStart, kWindowStart + 30 * kSecond + 1)
          .retry_after_seconds,
      30);
  EXPECT_EQ(DecideRateLimit(60, 61, kWindowStart,
                            kWindowStart + 59 * kSecond + 999999)
                .retry_after_seconds,
            1);
}

TEST(DecideRateLimitTest, StaleWindowStillTellsClientToWaitAtLeastOneSecond) {
  RateLimitVerdict v =
      DecideRateLimit(60, 61, kWindowStart, kWindowStart + 90 * kSecond);
  EXPECT_FALSE(v.allowed);
  EXPECT_EQ(v.retry_after_seconds, 1);
}

TEST(DecideRateLimitTest, ResetRoundsUpToWholeSecond) {
  int64_t start = kWindowStart + 250000;  // .25 s into a second
  RateLimitVerdict v = DecideRateLimit(60, 5, start, start);
  EXPECT_EQ(v.reset_unix, kWindowStart / kSecond + 61);
  EXPECT_EQ(v.remaining, 55);
}

TEST(DecideRateLimitTest, CustomLimit) {
  EXPECT_TRUE(DecideRateLimit(600, 600, kWindowStart, kWindowStart).allowed);
  EXPECT_FALSE(DecideRateLimit(600, 601, kWindowStart, kWindowStart).allowed);
  EXPECT_EQ(DecideRateLimit(600, 100, kWindowStart, kWindowStart).remaining,
            500);
}

// CombineRateLimits

TEST(CombineRateLimitsTest, RefusingKeyComesFirstThenAccount) {
  RateLimitVerdict key = DecideRateLimit(60, 61, kWindowStart, kWindowStart);
  RateLimitVerdict account =
      DecideRateLimit(100, 101, kWindowStart, kWindowStart);
  EXPECT_FALSE(CombineRateLimits(key, account).account_wide);
  RateLimitVerdict key_ok = DecideRateLimit(60, 10, kWindowStart, kWindowStart);
  CombinedRateLimit c = CombineRateLimits(key_ok, account);
  EXPECT_TRUE(c.account_wide);
  EXPECT_FALSE(c.verdict.allowed);
  EXPECT_EQ(c.verdict.limit, 100);
}

TEST(CombineRateLimitsTest, AllowedShowsTheLimitWithLessLeft) {
  RateLimitVerdict key = DecideRateLimit(60, 10, kWindowStart, kWindowStart);
  RateLimitVerdict roomy = DecideRateLimit(300, 20, kWindowStart, kWindowStart);
  RateLimitVerdict tight = DecideRateLimit(100, 80, kWindowStart, kWindowStart);
  EXPECT_FALSE(CombineRateLimits(key, roomy).account_wide);
  CombinedRateLimit c = CombineRateLimits(key, tight);
  EXPECT_TRUE(c.account_wide);
  EXPECT_TRUE(c.verdict.allowed);
  EXPECT_EQ(c.verdict.remaining, 20);
  // Unlimited account: the key's verdict; unlimited key: the account's.
  RateLimitVerdict none = DecideRateLimit(0, 0, kWindowStart, kWindowStart);
  EXPECT_FALSE(CombineRateLimits(key, none).account_wide);
  EXPECT_TRUE(CombineRateLimits(none, tight).account_wide);
}

}  // namespace
}  // namespace leadrelay::auth
