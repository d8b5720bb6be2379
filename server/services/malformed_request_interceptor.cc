#include "services/malformed_request_interceptor.h"

#include <string>

#include "common/status_util.h"
#include "services/grpc_status.h"

namespace leadrelay {
namespace {

using grpc::experimental::InterceptionHookPoints;

class MalformedRequestInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit MalformedRequestInterceptor(grpc::experimental::ServerRpcInfo* info)
      : method_(info->method() == nullptr ? "" : info->method()) {}

  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    // A unary request that failed to parse reaches this point as null.
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::POST_RECV_MESSAGE) &&
        methods->GetRecvMessage() == nullptr) {
      malformed_ = true;
    }
    if (malformed_ && methods->QueryInterceptionHookPoint(
                          InterceptionHookPoints::PRE_SEND_STATUS)) {
      methods->ModifySendStatus(ToGrpcStatus(
          InvalidRequest("the request is not a valid protobuf message of its "
                         "type (malformed bytes, or a string field that is "
                         "not UTF-8)"),
          method_));
    }
    methods->Proceed();
  }

 private:
  std::string method_;
  bool malformed_ = false;
};

class Factory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new MalformedRequestInterceptor(info);
  }
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MalformedRequestInterceptorFactory() {
  return std::make_unique<Factory>();
}

}  // namespace leadrelay
