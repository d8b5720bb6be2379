// Error vocabulary shared by every module: absl::Status values that carry the
// public error reason (the seeds' `code`) and, for rate limits, a retry delay.
#ifndef LEADRELAY_SERVER_COMMON_STATUS_UTIL_H_
#define LEADRELAY_SERVER_COMMON_STATUS_UTIL_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace leadrelay {

// Public reasons, as the REST surface prints them in `code`.
inline constexpr absl::string_view kReasonInvalidRequest = "invalid_request";
inline constexpr absl::string_view kReasonUnauthorized = "unauthorized";
inline constexpr absl::string_view kReasonForbidden = "forbidden";
inline constexpr absl::string_view kReasonInsufficientCredits =
    "insufficient_credits";
inline constexpr absl::string_view kReasonNotFound = "not_found";
inline constexpr absl::string_view kReasonRateLimited = "rate_limited";
inline constexpr absl::string_view kReasonInternal = "internal_error";
inline constexpr absl::string_view kReasonUnavailable = "unavailable";
// Limits other than the per-key rate limit, each with a reason of its own.
inline constexpr absl::string_view kReasonAccountRateLimited =
    "account_rate_limited";
inline constexpr absl::string_view kReasonTooManyKeys = "too_many_keys";
inline constexpr absl::string_view kReasonTooManyStreams = "too_many_streams";
inline constexpr absl::string_view kReasonAuthThrottled = "auth_throttled";

absl::Status InvalidRequest(absl::string_view message);
absl::Status Unauthorized(absl::string_view message);
absl::Status Forbidden(absl::string_view message);
absl::Status InsufficientCredits(int needed, int available);
absl::Status NotFound(absl::string_view what, absl::string_view id);
absl::Status RateLimited(int retry_after_seconds, int limit);
absl::Status Unavailable(absl::string_view message);
// The account-wide limit (all keys of the account together) was reached.
absl::Status AccountRateLimited(int retry_after_seconds, int limit);
// FAILED_PRECONDITION too_many_keys: the account holds `max` active keys.
absl::Status TooManyKeys(int max);
// RESOURCE_EXHAUSTED with `reason`, and a retry delay when waiting helps.
absl::Status LimitReached(absl::string_view reason, absl::string_view message,
                          std::optional<int> retry_after_seconds = {});
// Logged in full by the caller; the client sees only a generic message.
absl::Status Internal(absl::string_view message);

// The public reason of `status`: the one attached, else derived from its code.
std::string ReasonOf(const absl::Status& status);
// Seconds to wait before retrying, for rate-limited statuses.
std::optional<int> RetryAfterSecondsOf(const absl::Status& status);

}  // namespace leadrelay

#define LR_RETURN_IF_ERROR(expr)             \
  do {                                       \
    absl::Status lr_status_ = (expr);        \
    if (!lr_status_.ok()) return lr_status_; \
  } while (false)

#define LR_CONCAT_INNER(a, b) a##b
#define LR_CONCAT(a, b) LR_CONCAT_INNER(a, b)
#define LR_ASSIGN_OR_RETURN(lhs, expr) \
  LR_ASSIGN_OR_RETURN_IMPL(LR_CONCAT(lr_statusor_, __LINE__), lhs, expr)
#define LR_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.status();            \
  lhs = std::move(tmp).value()

#endif  // LEADRELAY_SERVER_COMMON_STATUS_UTIL_H_
