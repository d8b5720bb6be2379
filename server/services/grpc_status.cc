#include "services/grpc_status.h"

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/random_ids.h"
#include "common/status_util.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace leadrelay {

grpc::Status ToGrpcStatus(const absl::Status& status,
                          absl::string_view method) {
  if (status.ok()) return grpc::Status::OK;
  std::string reason = ReasonOf(status);
  std::string message(status.message());
  auto code = static_cast<grpc::StatusCode>(status.code());
  if (reason == kReasonInternal) {
    std::string ref = NewId("err_", 12);
    LogError(absl::StrCat(method, " failed (", ref, "): ", status.message()));
    message = absl::StrCat("internal error; retry with backoff (reference ",
                           ref, ")");
    code = grpc::StatusCode::INTERNAL;
  }
  google::rpc::Status details;
  details.set_code(static_cast<int>(code));
  details.set_message(message);
  google::rpc::ErrorInfo info;
  info.set_reason(reason);
  info.set_domain(kErrorDomain);
  if (auto retry = RetryAfterSecondsOf(status)) {
    (*info.mutable_metadata())["retry_after_seconds"] = absl::StrCat(*retry);
    google::rpc::RetryInfo retry_info;
    retry_info.mutable_retry_delay()->set_seconds(*retry);
    details.add_details()->PackFrom(retry_info);
  }
  ForEachMetadata(status, [&](absl::string_view key, std::string value) {
    (*info.mutable_metadata())[std::string(key)] = std::move(value);
  });
  details.add_details()->PackFrom(info);
  return grpc::Status(code, message, details.SerializeAsString());
}

}  // namespace leadrelay
