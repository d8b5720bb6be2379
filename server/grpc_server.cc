#include "grpc_server.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "ops/call_observer.h"
#include "services/account_admin_service.h"
#include "services/malformed_request_interceptor.h"
#include "services/services.h"

namespace leadrelay {
namespace {

constexpr int kMinIdleThreads = 4;
constexpr int kMaxIdleThreads = 128;

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

class GrpcServer : public RunningServer {
 public:
  explicit GrpcServer(const ServiceDeps& deps)
      : accounts_(deps),
        keys_(deps),
        leads_(deps),
        events_(deps),
        webhooks_(deps),
        max_receive_bytes_(domain::GrpcMaxReceiveBytes(deps.options.limits)),
        account_admin_(deps) {}

  absl::Status Start(const GrpcServerOptions& options) {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
    grpc::ServerBuilder builder;
    std::shared_ptr<grpc::ServerCredentials> credentials =
        grpc::InsecureServerCredentials();
    if (!options.tls_client_ca_file.empty() && options.tls_cert_file.empty()) {
      return absl::InvalidArgumentError("--tls_client_ca needs --tls_cert");
    }
    if (!options.tls_cert_file.empty() || !options.tls_key_file.empty()) {
      auto cert = ReadFile(options.tls_cert_file);
      auto key = ReadFile(options.tls_key_file);
      if (!cert.ok()) return cert.status();
      if (!key.ok()) return key.status();
      grpc::SslServerCredentialsOptions ssl;
      ssl.pem_key_cert_pairs.push_back({*key, *cert});
      if (!options.tls_client_ca_file.empty()) {
        auto ca = ReadFile(options.tls_client_ca_file);
        if (!ca.ok()) return ca.status();
        ssl.pem_root_certs = *ca;
        // Verify a certificate when one is sent, but do not require one:
        // callers with a key and no certificate keep working.
        ssl.client_certificate_request =
            GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY;
      }
      credentials = grpc::SslServerCredentials(ssl);
    }
    builder.AddListeningPort(options.address, credentials);
    builder.RegisterService(&accounts_);
    builder.RegisterService(&keys_);
    builder.RegisterService(&leads_);
    builder.RegisterService(&events_);
    builder.RegisterService(&webhooks_);
    builder.RegisterService(&account_admin_);
    // Above the request limit, so the server itself refuses most oversize
    // requests, with payload_too_large; beyond this gRPC refuses them.
    builder.SetMaxReceiveMessageSize(static_cast<int>(max_receive_bytes_));
    auto interceptors = ops::ServerInterceptors();
    interceptors.push_back(MalformedRequestInterceptorFactory());
    builder.experimental().SetInterceptorCreators(std::move(interceptors));
    // The synchronous server runs each call on a thread that was polling;
    // past MAX_POLLERS idle pollers a thread exits after its call, and
    // below MIN_POLLERS one is spawned. gRPC's defaults (1 and 2) make a
    // busy server create and destroy about one thread per call; keeping
    // enough idle threads to cover the concurrency avoids that churn.
    builder.SetSyncServerOption(grpc::ServerBuilder::MIN_POLLERS,
                                kMinIdleThreads);
    builder.SetSyncServerOption(grpc::ServerBuilder::MAX_POLLERS,
                                kMaxIdleThreads);
    server_ = builder.BuildAndStart();
    if (server_ == nullptr) {
      return absl::UnavailableError(
          absl::StrCat("cannot listen on ", options.address));
    }
    return absl::OkStatus();
  }

  std::shared_ptr<grpc::Channel> InProcessChannel() override {
    return server_->InProcessChannel(grpc::ChannelArguments());
  }

  grpc::HealthCheckServiceInterface* Health() override {
    return server_->GetHealthCheckService();
  }

  void Shutdown(std::chrono::system_clock::time_point deadline) override {
    server_->GetHealthCheckService()->Shutdown();
    server_->Shutdown(deadline);
    server_->Wait();
  }

 private:
  AccountServiceImpl accounts_;
  ApiKeyServiceImpl keys_;
  LeadServiceImpl leads_;
  EventServiceImpl events_;
  WebhookServiceImpl webhooks_;
  size_t max_receive_bytes_;
  AccountAdminServiceImpl account_admin_;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<RunningServer>> StartGrpcServer(
    const GrpcServerOptions& options, const ServiceDeps& deps) {
  auto server = std::make_unique<GrpcServer>(deps);
  absl::Status started = server->Start(options);
  if (!started.ok()) return started;
  return std::unique_ptr<RunningServer>(std::move(server));
}

}  // namespace leadrelay
