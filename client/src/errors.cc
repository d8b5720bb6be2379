#include "leadrelay/errors.h"

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace leadrelay {
namespace {

std::string ReasonFromCode(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return "";
    case absl::StatusCode::kUnavailable:
      return "unavailable";
    case absl::StatusCode::kDeadlineExceeded:
      return "deadline_exceeded";
    case absl::StatusCode::kCancelled:
      return "cancelled";
    case absl::StatusCode::kInvalidArgument:
      return "invalid_request";
    case absl::StatusCode::kUnauthenticated:
      return "unauthorized";
    case absl::StatusCode::kPermissionDenied:
      return "forbidden";
    case absl::StatusCode::kNotFound:
      return "not_found";
    case absl::StatusCode::kInternal:
      return "internal_error";
    default:
      return "unknown";
  }
}

}  // namespace

absl::Status FromGrpcStatus(const grpc::Status& grpc_status) {
  if (grpc_status.ok()) return absl::OkStatus();
  absl::Status status(static_cast<absl::StatusCode>(grpc_status.error_code()),
                      grpc_status.error_message());
  google::rpc::Status details;
  if (grpc_status.error_details().empty() ||
      !details.ParseFromString(grpc_status.error_details())) {
    return status;
  }
  for (const google::protobuf::Any& any : details.details()) {
    if (any.Is<google::rpc::ErrorInfo>()) {
      status.SetPayload(kErrorInfoUrl, absl::Cord(any.value()));
    } else if (any.Is<google::rpc::RetryInfo>()) {
      status.SetPayload(kRetryInfoUrl, absl::Cord(any.value()));
    }
  }
  return status;
}

std::string ErrorReason(const absl::Status& status) {
  if (auto payload = status.GetPayload(kErrorInfoUrl)) {
    google::rpc::ErrorInfo info;
    if (info.ParseFromString(std::string(*payload)) && !info.reason().empty()) {
      return info.reason();
    }
  }
  return ReasonFromCode(status.code());
}

std::optional<absl::Duration> RetryDelay(const absl::Status& status) {
  auto payload = status.GetPayload(kRetryInfoUrl);
  if (!payload.has_value()) return std::nullopt;
  google::rpc::RetryInfo info;
  if (!info.ParseFromString(std::string(*payload))) return std::nullopt;
  return absl::Seconds(info.retry_delay().seconds()) +
         absl::Nanoseconds(info.retry_delay().nanos());
}

std::string DescribeError(const absl::Status& status) {
  return absl::StrCat(ErrorReason(status), ": ", status.message());
}

}  // namespace leadrelay
