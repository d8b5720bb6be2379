// Platform-call rules and the monthly quota verdict.
#include "auth/platform_rules.h"

#include "common/status_util.h"
#include "domain/quota_rules.h"
#include "gtest/gtest.h"

namespace leadrelay {
namespace {

using auth::Credential;

TEST(ClassifyCredentialTest, PrefixOrCertificateMakesAPlatformCaller) {
  EXPECT_EQ(auth::ClassifyCredential("lrp_abc", ""), Credential::kPlatformKey);
  EXPECT_EQ(auth::ClassifyCredential("lrp_abc", "router"),
            Credential::kPlatformKey);
  EXPECT_EQ(auth::ClassifyCredential("", "router"), Credential::kCertificate);
  // An account key wins over a certificate: the key says who acts.
  EXPECT_EQ(auth::ClassifyCredential("lr_abc", "router"),
            Credential::kAccountKeyOrNone);
  EXPECT_EQ(auth::ClassifyCredential("", ""), Credential::kAccountKeyOrNone);
}

TEST(NamedAccountTest, AbsentIsEmptyAndMalformedIsInvalid) {
  EXPECT_EQ(*auth::NamedAccount(std::nullopt), "");
  EXPECT_EQ(*auth::NamedAccount(" acct_abc123 "), "acct_abc123");
  for (const char* bad :
       {"", "acct_", "key_abc", "acct_a b", "acct_a;drop", "acct_\xc3\xa9"}) {
    auto named = auth::NamedAccount(absl::string_view(bad));
    ASSERT_FALSE(named.ok()) << bad;
    EXPECT_EQ(ReasonOf(named.status()), "invalid_request");
  }
}

TEST(PlatformCallShapeTest, RestNeedsTheFlagAndAccountCallsNeedAnAccount) {
  auth::PlatformCallShape shape;
  shape.named_account = "acct_x";
  EXPECT_TRUE(auth::CheckPlatformCallShape(shape).ok());

  shape.over_rest = true;
  EXPECT_EQ(ReasonOf(auth::CheckPlatformCallShape(shape)), "forbidden");
  shape.allow_over_rest = true;
  EXPECT_TRUE(auth::CheckPlatformCallShape(shape).ok());

  shape.named_account.clear();
  EXPECT_EQ(ReasonOf(auth::CheckPlatformCallShape(shape)), "invalid_request");
  shape.platform_only_method = true;  // admin RPCs name no account
  EXPECT_TRUE(auth::CheckPlatformCallShape(shape).ok());
}

TEST(MonthlyQuotaTest, UpToTheQuotaThenQuotaExceeded) {
  EXPECT_TRUE(domain::CheckMonthlyQuota(50, 1).ok());
  EXPECT_TRUE(domain::CheckMonthlyQuota(50, 50).ok());
  absl::Status over = domain::CheckMonthlyQuota(50, 51);
  EXPECT_EQ(over.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ReasonOf(over), "quota_exceeded");
  // Plans without a quota.
  EXPECT_TRUE(domain::CheckMonthlyQuota(0, 1000000).ok());
}

}  // namespace
}  // namespace leadrelay
