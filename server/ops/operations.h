// Everything an operator talks to, wired once for main(): the process,
// pool, backlog and stream gauges, readiness (HTTP and gRPC health) and the
// admin HTTP server.
#ifndef LEADRELAY_SERVER_OPS_OPERATIONS_H_
#define LEADRELAY_SERVER_OPS_OPERATIONS_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gateway/gateway.h"
#include "grpcpp/health_check_service_interface.h"
#include "ops/admin_server.h"
#include "ops/readiness.h"
#include "store/pg.h"
#include "stream/event_hub.h"

namespace leadrelay::ops {

struct OperationsOptions {
  // host:port of the admin HTTP server; off when empty.
  std::string admin_address;
  absl::Duration readiness_interval = absl::Seconds(1);
  // The backlog gauges query PostgreSQL at most this often.
  absl::Duration backlog_cache = absl::Seconds(2);
};

class Operations {
 public:
  // `dispatcher_running` is empty when this process runs no dispatcher;
  // `health` is the gRPC server's health service.
  static absl::StatusOr<std::unique_ptr<Operations>> Start(
      const OperationsOptions& options, store::Pool& pool,
      stream::EventHub& hub, std::function<bool()> dispatcher_running,
      grpc::HealthCheckServiceInterface* health);

  // Serves /metrics, /healthz, /readyz on the REST port too, and counts and
  // logs REST requests.
  void InstallInGateway(gateway::GatewayConfig* config);
  // Not ready from now on (SIGTERM).
  void BeginDrain() { readiness_.BeginDrain(); }
  void Stop();
  int admin_port() const { return admin_ ? admin_->port() : 0; }

 private:
  Operations(store::Pool& pool, std::function<bool()> dispatcher_running,
             absl::Duration readiness_interval)
      : readiness_(pool, std::move(dispatcher_running), readiness_interval) {}

  Readiness readiness_;
  PlainRoutes routes_;
  std::unique_ptr<AdminServer> admin_;
};

}  // namespace leadrelay::ops

#endif  // LEADRELAY_SERVER_OPS_OPERATIONS_H_
