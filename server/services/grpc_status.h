// absl::Status -> grpc::Status with google.rpc.Status details: ErrorInfo
// carrying the public reason, RetryInfo for rate limits. Internal errors are
// logged in full and reach the client as a generic message.
#ifndef LEADRELAY_SERVER_SERVICES_GRPC_STATUS_H_
#define LEADRELAY_SERVER_SERVICES_GRPC_STATUS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "grpcpp/support/status.h"

namespace leadrelay {

inline constexpr char kErrorDomain[] = "leadrelay.dev";

grpc::Status ToGrpcStatus(const absl::Status& status, absl::string_view method);

}  // namespace leadrelay

#endif  // LEADRELAY_SERVER_SERVICES_GRPC_STATUS_H_
