// Per-call observation of the gRPC server: a server interceptor that counts
// every call by method and code, times it, and writes the access-log line;
// and CallScope, the frame Serve() (services/call.h) puts around a unary
// handler so that its log lines and transactions carry the request id, and
// auth rejections are counted by reason.
#ifndef LEADRELAY_SERVER_OPS_CALL_OBSERVER_H_
#define LEADRELAY_SERVER_OPS_CALL_OBSERVER_H_

#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/request_context.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/server_interceptor.h"

namespace leadrelay::ops {

void SetAccessLogEnabled(bool enabled);
bool AccessLogEnabled();

// The interceptor factories for grpc::ServerBuilder; empty when neither
// metrics nor the access log is on (then calls pay nothing).
std::vector<
    std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
ServerInterceptors();

// The name of a gRPC status code ("OK", "NOT_FOUND", ...).
absl::string_view GrpcCodeName(int code);

class CallScope {
 public:
  CallScope(const grpc::ServerContextBase& context, absl::string_view method);
  ~CallScope() = default;
  CallScope(const CallScope&) = delete;
  CallScope& operator=(const CallScope&) = delete;

  // The authenticated caller's account, for log lines of this call.
  void SetAccount(absl::string_view account_id);
  // The handler's outcome: rejections are counted by reason.
  void Finished(const absl::Status& status);

 private:
  const grpc::ServerContextBase& context_;
  RequestContext request_;
  ScopedRequest scoped_;
};

}  // namespace leadrelay::ops

#endif  // LEADRELAY_SERVER_OPS_CALL_OBSERVER_H_
