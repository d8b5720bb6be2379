// HTTP <-> gRPC mapping of statuses, error bodies and headers. Pure logic.
#ifndef LEADRELAY_GATEWAY_HTTP_MAPPING_H_
#define LEADRELAY_GATEWAY_HTTP_MAPPING_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gateway/json_text.h"

namespace leadrelay::gateway {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// A complete non-streaming HTTP answer.
struct HttpReply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  HeaderList headers;
};

// ErrorInfo reasons that decide the HTTP status on their own (the gRPC code
// alone would be ambiguous: RESOURCE_EXHAUSTED is more than a rate limit).
inline constexpr absl::string_view kReasonRateLimited = "rate_limited";
inline constexpr absl::string_view kReasonAuthThrottled = "auth_throttled";
inline constexpr absl::string_view kReasonAccountRateLimited =
    "account_rate_limited";
inline constexpr absl::string_view kReasonTooManyStreams = "too_many_streams";
inline constexpr absl::string_view kReasonTooManyServerStreams =
    "too_many_server_streams";
inline constexpr absl::string_view kReasonPayloadTooLarge = "payload_too_large";
inline constexpr absl::string_view kReasonTooManyKeys = "too_many_keys";
inline constexpr absl::string_view kReasonQuotaExceeded = "quota_exceeded";
inline constexpr absl::string_view kReasonAccountSuspended =
    "account_suspended";
// The upstream's response exceeded a size limit (gRPC's or the gateway's).
inline constexpr absl::string_view kReasonResponseTooLarge =
    "response_too_large";

// The canonical google.rpc.Code -> HTTP status mapping.
int HttpStatusFromGrpcCode(int code);
// Public error code for a gRPC code when the status carries no ErrorInfo:
// "invalid_request", "unauthorized", "forbidden", "not_found",
// "internal_error", "unavailable", else the lower-case code name
// ("resource_exhausted", "already_exists", "unimplemented", ...). Never
// "rate_limited": only the rate limiter's ErrorInfo says that.
std::string ErrorCodeForGrpcCode(int code);

// What the gateway reads from a google.rpc.Status (grpc-status-details-bin).
struct StatusDetails {
  std::string reason;  // google.rpc.ErrorInfo.reason
  std::string domain;
  HeaderList metadata;  // ErrorInfo.metadata, sorted by key
  std::optional<int64_t>
      retry_after_seconds;  // ErrorInfo metadata or RetryInfo
  std::string
      details_json;  // JSON array of the details, for convert_grpc_status
};
// Empty details when `status_bytes` is empty or not a google.rpc.Status.
StatusDetails DecodeStatusDetails(absl::string_view status_bytes);

// How a failed gRPC call shows over HTTP.
struct GrpcErrorClass {
  int http_status = 500;
  std::string code;          // the body's "code"
  bool retry_after = false;  // send Retry-After when the delay is known
};
// The decision table (README, "Error mapping"): known ErrorInfo reasons
// first (rate_limited / account_rate_limited / auth_throttled -> 429 with
// Retry-After, too_many_streams -> 429 without, too_many_server_streams ->
// 503 with Retry-After (the server is full, not the caller over a limit),
// payload_too_large -> 413, too_many_keys -> 400, quota_exceeded /
// account_suspended -> 403); gRPC's own "message larger than max" -> 413 when
// its size is `request_bytes` (the request we sent), else 500
// response_too_large; any other RESOURCE_EXHAUSTED -> 503; the rest by the
// canonical code mapping.
GrpcErrorClass ClassifyGrpcError(int code, absl::string_view message,
                                 const StatusDetails& details,
                                 size_t request_bytes);

// The error answer for a failed gRPC call: {"code": "...", "message": "..."}
// (plus "retry_after_seconds" when it applies), or with `convert_grpc_status`
// the google.rpc.Status as JSON. `request_bytes`: size of the request
// message sent upstream.
HttpReply ErrorReplyFromGrpc(int code, absl::string_view message,
                             absl::string_view status_details,
                             bool convert_grpc_status,
                             size_t request_bytes = 0);
// The JSON object of an error, for in-stream errors.
std::string ErrorJsonFromGrpc(int code, absl::string_view message,
                              absl::string_view status_details,
                              bool convert_grpc_status);
// An error the gateway itself answers.
HttpReply GatewayErrorReply(int http_status, absl::string_view code,
                            absl::string_view message);
// A request the transcoder refused: 404, 405 (with Allow, when `allowed`
// lists the methods the path takes), 400, else 500.
HttpReply TranscodeErrorReply(const absl::Status& status,
                              absl::string_view http_method,
                              const std::vector<std::string>& allowed);
// A response that could not be turned into JSON (500; response_too_large
// when over max_response_body_size).
HttpReply ResponseErrorReply(const absl::Status& status);
// The HTTP server's own refusals.
HttpReply PayloadTooLargeReply(uint64_t limit);                    // 413
HttpReply MalformedRequestReply(absl::string_view what);           // 400
HttpReply UnsupportedTransferEncodingReply(absl::string_view te);  // 501
HttpReply OverCapacityReply();  // 503 over_capacity, Retry-After: 1
HttpReply ShuttingDownReply();  // 503 unavailable
// Transfer-Encoding the server decodes: none, or "chunked" alone (gzip and
// other codings are refused with 501 rather than passed on undecoded).
bool IsSupportedTransferEncoding(absl::string_view value);

// gRPC request metadata from HTTP request headers (names lower-case): drops
// hop-by-hop and transport headers, grpc-* headers, binary and invalid ones.
HeaderList MetadataFromHeaders(const HeaderList& headers);
// HTTP response headers from server metadata: x-ratelimit-* become
// X-RateLimit-*, other application metadata is passed on; reserved, binary
// and transport entries are dropped. Later duplicates are ignored.
HeaderList HeadersFromMetadata(const HeaderList& metadata);

// Parses a grpc-timeout value ("100m", "5S", "1H").
std::optional<absl::Duration> ParseGrpcTimeout(absl::string_view value);

}  // namespace leadrelay::gateway

#endif  // LEADRELAY_GATEWAY_HTTP_MAPPING_H_
