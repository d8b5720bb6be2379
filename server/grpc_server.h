// Builds and starts the gRPC server: services, health, reflection, TLS.
#ifndef LEADRELAY_SERVER_GRPC_SERVER_H_
#define LEADRELAY_SERVER_GRPC_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/channel.h"
#include "grpcpp/health_check_service_interface.h"
#include "services/call.h"

namespace leadrelay {

struct GrpcServerOptions {
  std::string address;
  std::string tls_cert_file;
  std::string tls_key_file;
  // PEM CA whose client certificates identify platform services (mutual
  // TLS). Clients may still connect without a certificate (and use a key);
  // a certificate from any other CA fails the handshake.
  std::string tls_client_ca_file;
};

class RunningServer {
 public:
  virtual ~RunningServer() = default;
  // Stops accepting calls and waits for running ones until `deadline`.
  virtual void Shutdown(std::chrono::system_clock::time_point deadline) = 0;
  // A channel to this server without a socket (for the in-process gateway).
  virtual std::shared_ptr<grpc::Channel> InProcessChannel() = 0;
  // The standard grpc.health.v1 service (per-service serving status).
  virtual grpc::HealthCheckServiceInterface* Health() = 0;
};

absl::StatusOr<std::unique_ptr<RunningServer>> StartGrpcServer(
    const GrpcServerOptions& options, const ServiceDeps& deps);

}  // namespace leadrelay

#endif  // LEADRELAY_SERVER_GRPC_SERVER_H_
