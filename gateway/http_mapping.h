// HTTP <-> gRPC mapping of statuses, error bodies and headers. Pure logic.
#ifndef LEADRELAY_GATEWAY_HTTP_MAPPING_H_
#define LEADRELAY_GATEWAY_HTTP_MAPPING_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace leadrelay::gateway {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// A complete non-streaming HTTP answer.
struct HttpReply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  HeaderList headers;
};

// The canonical google.rpc.Code -> HTTP status mapping.
int HttpStatusFromGrpcCode(int code);
// Public error code for a gRPC code when the status carries no ErrorInfo:
// "invalid_request", "unauthorized", "forbidden", "not_found",
// "rate_limited", "internal_error", "unavailable", else the lower-case code
// name ("already_exists", "unimplemented", ...).
std::string ErrorCodeForGrpcCode(int code);

// What the gateway reads from a google.rpc.Status (grpc-status-details-bin).
struct StatusDetails {
  std::string reason;  // google.rpc.ErrorInfo.reason
  std::string domain;
  HeaderList metadata;  // ErrorInfo.metadata
  std::optional<int64_t> retry_after_seconds;  // ErrorInfo metadata or RetryInfo
  std::string details_json;  // JSON array of the details, for convert_grpc_status
};
StatusDetails DecodeStatusDetails(absl::string_view status_bytes);

// The error answer for a failed gRPC call: {"code": "...", "message": "..."}
// (plus "retry_after_seconds" when known), or with `convert_grpc_status` the
// google.rpc.Status as JSON. Adds Retry-After to 429 and 503 when known.
HttpReply ErrorReplyFromGrpc(int code, absl::string_view message,
                             absl::string_view status_details,
                             bool convert_grpc_status);
// The JSON object of an error, for in-stream errors.
std::string ErrorJsonFromGrpc(int code, absl::string_view message,
                              absl::string_view status_details,
                              bool convert_grpc_status);
// An error the gateway itself answers (no route, bad JSON, too large...).
HttpReply GatewayErrorReply(int http_status, absl::string_view code,
                            absl::string_view message);

// Quotes and escapes `s` as a JSON string.
std::string JsonQuote(absl::string_view s);

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
