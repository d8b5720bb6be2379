#include "common/status_util.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace leadrelay {
namespace {

constexpr absl::string_view kReasonUrl = "leadrelay.dev/reason";
constexpr absl::string_view kRetryAfterUrl = "leadrelay.dev/retry_after";

absl::Status WithReason(absl::Status status, absl::string_view reason) {
  status.SetPayload(kReasonUrl, absl::Cord(reason));
  return status;
}

}  // namespace

absl::Status InvalidRequest(absl::string_view message) {
  return WithReason(absl::InvalidArgumentError(message), kReasonInvalidRequest);
}

absl::Status InvalidRequest(absl::string_view message,
                            absl::string_view reason) {
  return WithReason(absl::InvalidArgumentError(message), reason);
}

absl::Status LeadErased(absl::string_view id, absl::string_view erased_at) {
  return WithReason(absl::NotFoundError(absl::StrCat(
                        "lead '", EchoValue(id), "' was erased at ", erased_at,
                        "; only its tombstone remains")),
                    kReasonLeadErased);
}

absl::Status CursorExpired(absl::string_view message,
                           absl::string_view oldest_cursor) {
  absl::Status status = WithReason(
      absl::FailedPreconditionError(absl::StrCat(
          message,
          "; resume from the oldest event kept with after=", oldest_cursor)),
      kReasonCursorExpired);
  return WithMetadata(std::move(status), "oldest_cursor", oldest_cursor);
}

absl::Status WithMetadata(absl::Status status, absl::string_view key,
                          absl::string_view value) {
  status.SetPayload(absl::StrCat(kMetadataUrlPrefix, key), absl::Cord(value));
  return status;
}

absl::Status Unauthorized(absl::string_view message) {
  return WithReason(absl::UnauthenticatedError(message), kReasonUnauthorized);
}

absl::Status Forbidden(absl::string_view message) {
  return WithReason(absl::PermissionDeniedError(message), kReasonForbidden);
}

absl::Status Forbidden(absl::string_view message, absl::string_view reason) {
  return WithReason(absl::PermissionDeniedError(message), reason);
}

absl::Status InsufficientCredits(int needed, int available) {
  return WithReason(
      absl::PermissionDeniedError(absl::StrCat(
          "insufficient credits: this call costs ", needed,
          " and the account has ", available, "; top up to continue")),
      kReasonInsufficientCredits);
}

absl::Status NotFound(absl::string_view what, absl::string_view id) {
  return WithReason(absl::NotFoundError(
                        absl::StrCat(what, " '", EchoValue(id), "' not found")),
                    kReasonNotFound);
}

absl::Status RateLimited(int retry_after_seconds, int limit) {
  absl::Status status = WithReason(
      absl::ResourceExhaustedError(absl::StrCat(
          "rate limit of ", limit, " requests per minute exceeded; retry in ",
          retry_after_seconds, " s")),
      kReasonRateLimited);
  status.SetPayload(kRetryAfterUrl,
                    absl::Cord(absl::StrCat(retry_after_seconds)));
  return status;
}

absl::Status AccountRateLimited(int retry_after_seconds, int limit) {
  return LimitReached(
      kReasonAccountRateLimited,
      absl::StrCat("account-wide rate limit of ", limit,
                   " requests per minute (all API keys of the account "
                   "together) exceeded; retry in ",
                   retry_after_seconds, " s"),
      retry_after_seconds);
}

absl::Status TooManyKeys(int max) {
  return WithReason(
      absl::FailedPreconditionError(
          absl::StrCat("an account can have at most ", max,
                       " active API keys; revoke one before creating another")),
      kReasonTooManyKeys);
}

absl::Status LimitReached(absl::string_view reason, absl::string_view message,
                          std::optional<int> retry_after_seconds) {
  absl::Status status =
      WithReason(absl::ResourceExhaustedError(message), reason);
  if (retry_after_seconds.has_value()) {
    status.SetPayload(kRetryAfterUrl,
                      absl::Cord(absl::StrCat(*retry_after_seconds)));
  }
  return status;
}

absl::Status Unavailable(absl::string_view message) {
  return WithReason(absl::UnavailableError(message), kReasonUnavailable);
}

absl::Status PayloadTooLarge(absl::string_view message) {
  return WithReason(absl::ResourceExhaustedError(message),
                    kReasonPayloadTooLarge);
}

absl::Status TooManyStreams(absl::string_view message) {
  return WithReason(absl::ResourceExhaustedError(message),
                    kReasonTooManyStreams);
}

std::string EchoValue(absl::string_view value) {
  constexpr size_t kMax = 64;
  if (value.size() <= kMax) return std::string(value);
  size_t cut = kMax;
  // Back up over continuation bytes so a multi-byte character stays whole.
  while (cut > 0 && (static_cast<unsigned char>(value[cut]) & 0xC0) == 0x80) {
    --cut;
  }
  return absl::StrCat(value.substr(0, cut), "\xE2\x80\xA6");
}

absl::Status Internal(absl::string_view message) {
  return WithReason(absl::InternalError(message), kReasonInternal);
}

std::string ReasonOf(const absl::Status& status) {
  if (auto reason = status.GetPayload(kReasonUrl)) return std::string(*reason);
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
      return std::string(kReasonInvalidRequest);
    case absl::StatusCode::kUnauthenticated:
      return std::string(kReasonUnauthorized);
    case absl::StatusCode::kPermissionDenied:
      return std::string(kReasonForbidden);
    case absl::StatusCode::kNotFound:
      return std::string(kReasonNotFound);
    // Only the rate limiter says rate_limited, and it attaches its reason;
    // any other exhausted resource is a server-side condition.
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      return std::string(kReasonUnavailable);
    default:
      return std::string(kReasonInternal);
  }
}

std::optional<int> RetryAfterSecondsOf(const absl::Status& status) {
  auto payload = status.GetPayload(kRetryAfterUrl);
  int seconds = 0;
  if (!payload || !absl::SimpleAtoi(std::string(*payload), &seconds)) {
    return std::nullopt;
  }
  return seconds;
}

}  // namespace leadrelay
