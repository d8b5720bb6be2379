// The error vocabulary: public reasons, retry-after payloads, macros.
#include "common/status_util.h"

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace leadrelay {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

TEST(StatusUtilTest, EachConstructorCarriesCodeAndReason) {
  struct Case {
    absl::Status status;
    absl::StatusCode code;
    const char* reason;
  };
  const Case cases[] = {
      {InvalidRequest("bad"), absl::StatusCode::kInvalidArgument,
       "invalid_request"},
      {Unauthorized("who?"), absl::StatusCode::kUnauthenticated,
       "unauthorized"},
      {Forbidden("no"), absl::StatusCode::kPermissionDenied, "forbidden"},
      {InsufficientCredits(1, 0), absl::StatusCode::kPermissionDenied,
       "insufficient_credits"},
      {NotFound("lead", "ld_1"), absl::StatusCode::kNotFound, "not_found"},
      {RateLimited(10, 60), absl::StatusCode::kResourceExhausted,
       "rate_limited"},
      {Unavailable("db down"), absl::StatusCode::kUnavailable, "unavailable"},
      {Internal("boom"), absl::StatusCode::kInternal, "internal_error"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(c.status.code(), c.code) << c.status;
    EXPECT_EQ(ReasonOf(c.status), c.reason) << c.status;
  }
}

TEST(StatusUtilTest, InsufficientCreditsIsForbiddenButDistinguishable) {
  absl::Status s = InsufficientCredits(1, 0);
  EXPECT_EQ(s.code(), Forbidden("x").code());
  EXPECT_NE(ReasonOf(s), ReasonOf(Forbidden("x")));
  EXPECT_THAT(s.message(), AllOf(HasSubstr("costs 1"), HasSubstr("has 0")));
}

TEST(StatusUtilTest, NotFoundNamesTheResource) {
  EXPECT_EQ(NotFound("lead", "ld_42").message(), "lead 'ld_42' not found");
}

TEST(StatusUtilTest, RateLimitedCarriesRetryAfter) {
  absl::Status s = RateLimited(17, 60);
  EXPECT_EQ(RetryAfterSecondsOf(s), std::optional<int>(17));
  EXPECT_THAT(s.message(),
              AllOf(HasSubstr("60 requests per minute"), HasSubstr("17 s")));
}

TEST(StatusUtilTest, RetryAfterAbsentElsewhere) {
  EXPECT_EQ(RetryAfterSecondsOf(absl::OkStatus()), std::nullopt);
  EXPECT_EQ(RetryAfterSecondsOf(InvalidRequest("x")), std::nullopt);
  EXPECT_EQ(RetryAfterSecondsOf(absl::ResourceExhaustedError("x")),
            std::nullopt);
}

TEST(StatusUtilTest, ReasonDerivedFromPlainStatusCodes) {
  EXPECT_EQ(ReasonOf(absl::InvalidArgumentError("")), "invalid_request");
  EXPECT_EQ(ReasonOf(absl::FailedPreconditionError("")), "invalid_request");
  EXPECT_EQ(ReasonOf(absl::OutOfRangeError("")), "invalid_request");
  EXPECT_EQ(ReasonOf(absl::UnauthenticatedError("")), "unauthorized");
  EXPECT_EQ(ReasonOf(absl::PermissionDeniedError("")), "forbidden");
  EXPECT_EQ(ReasonOf(absl::NotFoundError("")), "not_found");
  EXPECT_EQ(ReasonOf(absl::ResourceExhaustedError("")), "unavailable");
  EXPECT_EQ(ReasonOf(absl::UnavailableError("")), "unavailable");
  EXPECT_EQ(ReasonOf(absl::DeadlineExceededError("")), "unavailable");
  EXPECT_EQ(ReasonOf(absl::InternalError("")), "internal_error");
  EXPECT_EQ(ReasonOf(absl::UnknownError("")), "internal_error");
  EXPECT_EQ(ReasonOf(absl::DataLossError("")), "internal_error");
}

absl::Status FailIfNegative(int x) {
  if (x < 0) return InvalidRequest("negative");
  return absl::OkStatus();
}

absl::StatusOr<int> Halve(int x) {
  if (x % 2 != 0) return InvalidRequest("odd");
  return x / 2;
}

absl::StatusOr<int> Quarter(int x) {
  LR_RETURN_IF_ERROR(FailIfNegative(x));
  LR_ASSIGN_OR_RETURN(int half, Halve(x));
  LR_ASSIGN_OR_RETURN(int quarter, Halve(half));
  return quarter;
}

TEST(StatusMacrosTest, PropagateFirstErrorOrValue) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_EQ(Quarter(-4).status().message(), "negative");
  EXPECT_EQ(Quarter(6).status().message(), "odd");  // 6 -> 3 -> odd
  EXPECT_EQ(ReasonOf(Quarter(5).status()), "invalid_request");
}

}  // namespace
}  // namespace leadrelay
