#include "ops/call_observer.h"

#include <atomic>
#include <iterator>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "ops/server_metrics.h"

namespace leadrelay::ops {
namespace {

using grpc::experimental::InterceptionHookPoints;

std::atomic<bool> g_access_log{false};

std::string RequestIdOf(const grpc::ServerContextBase& context) {
  const auto& md = context.client_metadata();
  auto it = md.find("x-request-id");
  if (it == md.end()) return "";
  return SanitizeRequestId(
      absl::string_view(it->second.data(), it->second.size()));
}

class CallInterceptor;

// Live calls by context, so that CallScope (on the handler's thread) can tell
// the interceptor the caller's account for the access log.
class LiveCalls {
 public:
  void Add(const grpc::ServerContextBase* context, CallInterceptor* call) {
    absl::MutexLock lock(&mu_);
    calls_[context] = call;
  }
  void Remove(const grpc::ServerContextBase* context, CallInterceptor* call) {
    absl::MutexLock lock(&mu_);
    auto it = calls_.find(context);
    if (it != calls_.end() && it->second == call) calls_.erase(it);
  }
  void SetAccount(const grpc::ServerContextBase* context,
                  absl::string_view account_id);

 private:
  absl::Mutex mu_;
  absl::flat_hash_map<const grpc::ServerContextBase*, CallInterceptor*> calls_
      ABSL_GUARDED_BY(mu_);
};

LiveCalls& Live() {
  static auto* live = new LiveCalls();
  return *live;
}

class CallInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit CallInterceptor(grpc::experimental::ServerRpcInfo* info)
      : info_(info), started_(absl::Now()), access_log_(AccessLogEnabled()) {
    if (access_log_) Live().Add(info_->server_context(), this);
  }
  ~CallInterceptor() override {
    if (access_log_) Live().Remove(info_->server_context(), this);
  }

  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_STATUS)) {
      OnStatus(methods->GetSendStatus());
    }
    methods->Proceed();
  }

  void SetAccount(absl::string_view account_id) {
    absl::MutexLock lock(&mu_);
    account_id_ = std::string(account_id);
  }

 private:
  void OnStatus(const grpc::Status& status) {
    absl::Duration elapsed = absl::Now() - started_;
    absl::string_view code = GrpcCodeName(status.error_code());
    RecordGrpcCall(info_->method(), code, elapsed);
    if (!access_log_) return;
    LogFields fields;
    fields.request_id = RequestIdOf(*info_->server_context());
    fields.method = info_->method();
    {
      absl::MutexLock lock(&mu_);
      fields.account_id = account_id_;
    }
    fields.duration_ms = absl::ToDoubleMilliseconds(elapsed);
    fields.code = std::string(code);
    LogAccess(fields);
  }

  grpc::experimental::ServerRpcInfo* info_;
  absl::Time started_;
  bool access_log_;
  absl::Mutex mu_;
  std::string account_id_ ABSL_GUARDED_BY(mu_);
};

void LiveCalls::SetAccount(const grpc::ServerContextBase* context,
                           absl::string_view account_id) {
  absl::MutexLock lock(&mu_);
  auto it = calls_.find(context);
  if (it != calls_.end()) it->second->SetAccount(account_id);
}

class CallInterceptorFactory
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new CallInterceptor(info);
  }
};

}  // namespace

void SetAccessLogEnabled(bool enabled) { g_access_log.store(enabled); }
bool AccessLogEnabled() { return g_access_log.load(std::memory_order_relaxed); }

std::vector<
    std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
ServerInterceptors() {
  std::vector<
      std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
      out;
  if (MetricsEnabled() || AccessLogEnabled()) {
    out.push_back(std::make_unique<CallInterceptorFactory>());
  }
  return out;
}

absl::string_view GrpcCodeName(int code) {
  static constexpr absl::string_view kNames[] = {"OK",
                                                 "CANCELLED",
                                                 "UNKNOWN",
                                                 "INVALID_ARGUMENT",
                                                 "DEADLINE_EXCEEDED",
                                                 "NOT_FOUND",
                                                 "ALREADY_EXISTS",
                                                 "PERMISSION_DENIED",
                                                 "RESOURCE_EXHAUSTED",
                                                 "FAILED_PRECONDITION",
                                                 "ABORTED",
                                                 "OUT_OF_RANGE",
                                                 "UNIMPLEMENTED",
                                                 "INTERNAL",
                                                 "UNAVAILABLE",
                                                 "DATA_LOSS",
                                                 "UNAUTHENTICATED"};
  if (code < 0 || code >= static_cast<int>(std::size(kNames))) {
    return "UNKNOWN";
  }
  return kNames[code];
}

CallScope::CallScope(const grpc::ServerContextBase& context,
                     absl::string_view method)
    : context_(context),
      request_{RequestIdOf(context), std::string(method), ""},
      scoped_(&request_) {}

void CallScope::SetAccount(absl::string_view account_id) {
  request_.account_id = std::string(account_id);
  if (AccessLogEnabled()) Live().SetAccount(&context_, account_id);
}

void CallScope::Finished(const absl::Status& status) {
  RecordAuthOutcome(status);
}

}  // namespace leadrelay::ops
