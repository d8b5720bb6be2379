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
// A request larger than --max_request_bytes (REST 413).
inline constexpr absl::string_view kReasonPayloadTooLarge = "payload_too_large";
// Limits other than the per-key rate limit, each with a reason of its own.
inline constexpr absl::string_view kReasonAccountRateLimited =
    "account_rate_limited";
inline constexpr absl::string_view kReasonTooManyKeys = "too_many_keys";
// The per-key cap on concurrent StreamEvents calls (REST 429, no Retry-After:
// a slot frees when one of the key's own streams ends, not after a delay).
inline constexpr absl::string_view kReasonTooManyStreams = "too_many_streams";
// The process-wide cap on concurrent streams (--max_streams; REST 503 with
// Retry-After: any stream's end frees a slot, or another replica has one).
inline constexpr absl::string_view kReasonTooManyServerStreams =
    "too_many_server_streams";
inline constexpr absl::string_view kReasonAuthThrottled = "auth_throttled";
// Data lifecycle: a read of an erased lead (404), an EraseLeads call over its
// key limit (400), a resume from an event position retention removed (400).
inline constexpr absl::string_view kReasonLeadErased = "lead_erased";
inline constexpr absl::string_view kReasonEraseBatchTooLarge =
    "erase_batch_too_large";
inline constexpr absl::string_view kReasonCursorExpired = "cursor_expired";

absl::Status InvalidRequest(absl::string_view message);
// INVALID_ARGUMENT with a reason of its own (e.g. erase_batch_too_large).
absl::Status InvalidRequest(absl::string_view message,
                            absl::string_view reason);
absl::Status Unauthorized(absl::string_view message);
absl::Status Forbidden(absl::string_view message);
// PERMISSION_DENIED with a reason of its own (e.g. account_suspended).
absl::Status Forbidden(absl::string_view message, absl::string_view reason);
absl::Status InsufficientCredits(int needed, int available);
absl::Status NotFound(absl::string_view what, absl::string_view id);
absl::Status RateLimited(int retry_after_seconds, int limit);
absl::Status Unavailable(absl::string_view message);
absl::Status PayloadTooLarge(absl::string_view message);
absl::Status TooManyStreams(absl::string_view message);
// The account-wide limit (all keys of the account together) was reached.
absl::Status AccountRateLimited(int retry_after_seconds, int limit);
// FAILED_PRECONDITION too_many_keys: the account holds `max` active keys.
absl::Status TooManyKeys(int max);
// RESOURCE_EXHAUSTED with `reason`, and a retry delay when waiting helps.
absl::Status LimitReached(absl::string_view reason, absl::string_view message,
                          std::optional<int> retry_after_seconds = {});
// NOT_FOUND lead_erased: the lead exists only as a tombstone.
absl::Status LeadErased(absl::string_view id, absl::string_view erased_at);
// FAILED_PRECONDITION cursor_expired: events after the position asked for
// were removed by retention; `oldest_cursor` resumes at the oldest kept.
absl::Status CursorExpired(absl::string_view message,
                           absl::string_view oldest_cursor);
// Attaches `key`=`value` to `status`, published in the error's
// google.rpc.ErrorInfo metadata (and so in the REST error body).
absl::Status WithMetadata(absl::Status status, absl::string_view key,
                          absl::string_view value);
// Calls `visit(key, value)` for each WithMetadata pair of `status`.
template <typename Visit>
void ForEachMetadata(const absl::Status& status, Visit visit);
// Logged in full by the caller; the client sees only a generic message.
absl::Status Internal(absl::string_view message);

// `value` as echoed in an error message: at most 64 bytes (cut at a UTF-8
// character boundary) followed by "…", so a huge input cannot inflate the
// error (gRPC metadata has a size limit).
std::string EchoValue(absl::string_view value);

// The public reason of `status`: the one attached, else derived from its code.
std::string ReasonOf(const absl::Status& status);
// Seconds to wait before retrying, for rate-limited statuses.
std::optional<int> RetryAfterSecondsOf(const absl::Status& status);

inline constexpr absl::string_view kMetadataUrlPrefix =
    "leadrelay.dev/metadata/";

template <typename Visit>
void ForEachMetadata(const absl::Status& status, Visit visit) {
  status.ForEachPayload([&](absl::string_view url, const absl::Cord& value) {
    if (url.substr(0, kMetadataUrlPrefix.size()) == kMetadataUrlPrefix) {
      visit(url.substr(kMetadataUrlPrefix.size()), std::string(value));
    }
  });
}

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
