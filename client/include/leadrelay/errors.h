// Failures of leadrelay calls as absl::Status: the gRPC code and message,
// plus the server's google.rpc.ErrorInfo (public reason) and
// google.rpc.RetryInfo (retry delay) kept as status payloads.
#ifndef LEADRELAY_CLIENT_ERRORS_H_
#define LEADRELAY_CLIENT_ERRORS_H_

#include <grpcpp/grpcpp.h>

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace leadrelay {

// Payload type URLs under which the details are kept.
inline constexpr char kErrorInfoUrl[] =
    "type.googleapis.com/google.rpc.ErrorInfo";
inline constexpr char kRetryInfoUrl[] =
    "type.googleapis.com/google.rpc.RetryInfo";

// The absl::Status of a finished gRPC call, details decoded.
absl::Status FromGrpcStatus(const grpc::Status& status);

// The public reason ("not_found", "rate_limited", ...). A failure without an
// ErrorInfo (e.g. the transport could not reach the server) gets a reason
// derived from its code: "unavailable", "deadline_exceeded", "cancelled",
// "internal_error", "unknown". "" for OK.
std::string ErrorReason(const absl::Status& status);

// The server's retry delay (google.rpc.RetryInfo), when it sent one.
std::optional<absl::Duration> RetryDelay(const absl::Status& status);

// "<reason>: <message>", the form the CLI prints after "error: ".
std::string DescribeError(const absl::Status& status);

}  // namespace leadrelay

#endif  // LEADRELAY_CLIENT_ERRORS_H_
