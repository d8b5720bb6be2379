#include "ops/operations.h"

#include "ops/operator_routes.h"
#include "ops/process_metrics.h"

namespace leadrelay::ops {

absl::StatusOr<std::unique_ptr<Operations>> Operations::Start(
    const OperationsOptions& options, store::Pool& pool, stream::EventHub& hub,
    std::function<bool()> dispatcher_running,
    grpc::HealthCheckServiceInterface* health) {
  std::unique_ptr<Operations> ops(new Operations(
      pool, std::move(dispatcher_running), options.readiness_interval));
  RegisterProcessMetrics();
  RegisterPoolMetrics(pool);
  RegisterBacklogMetrics(pool, options.backlog_cache);
  RegisterValueGauge(
      "leadrelay_streams_open", "StreamEvents calls open now.",
      [&hub] { return static_cast<double>(hub.open_streams()); });
  RegisterValueGauge(
      "leadrelay_stream_buffered_bytes",
      "Bytes of events held for streams, all accounts (rings and queues); "
      "bounded by --stream_total_bytes.",
      [&hub] { return static_cast<double>(hub.total_bytes()); });
  RegisterValueGauge(
      "leadrelay_ready",
      "1 when /readyz answers 200 (database reachable, "
      "migrations applied, dispatcher running, not draining).",
      [r = &ops->readiness_] { return IsReady(r->Current()) ? 1.0 : 0.0; });
  RegisterValueGauge(
      "leadrelay_database_up",
      "1 when the last readiness check reached PostgreSQL.",
      [r = &ops->readiness_] { return r->Current().database ? 1.0 : 0.0; });
  std::vector<std::string> services = {
      "leadrelay.v1.AccountService", "leadrelay.v1.ApiKeyService",
      "leadrelay.v1.LeadService", "leadrelay.v1.EventService",
      "leadrelay.v1.WebhookService"};
  ops->readiness_.Start(health, std::move(services));
  ops->routes_ = OperatorRoutes(ops->readiness_);
  if (!options.admin_address.empty()) {
    auto admin = StartAdminServer(options.admin_address, ops->routes_);
    if (!admin.ok()) return admin.status();
    ops->admin_ = *std::move(admin);
  }
  return {std::move(ops)};
}

void Operations::InstallInGateway(gateway::GatewayConfig* config) {
  ops::InstallInGateway(routes_, config);
}

void Operations::Stop() {
  if (admin_ != nullptr) admin_->Shutdown();
  readiness_.Stop();
}

}  // namespace leadrelay::ops
