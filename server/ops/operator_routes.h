// The operator endpoints (/metrics, /healthz, /readyz), served by the admin
// server and by the in-process REST gateway, and the gateway's per-request
// hook (REST metrics and access log).
#ifndef LEADRELAY_SERVER_OPS_OPERATOR_ROUTES_H_
#define LEADRELAY_SERVER_OPS_OPERATOR_ROUTES_H_

#include "gateway/gateway.h"
#include "ops/admin_server.h"
#include "ops/readiness.h"

namespace leadrelay::ops {

// /healthz: 200 while the process serves. /readyz: 200 or 503 with the
// readiness JSON. /metrics: the registry (404 when metrics are off).
PlainRoutes OperatorRoutes(Readiness& readiness);

// Adds `routes` to the gateway's local routes and its request hook.
void InstallInGateway(const PlainRoutes& routes,
                      gateway::GatewayConfig* config);

}  // namespace leadrelay::ops

#endif  // LEADRELAY_SERVER_OPS_OPERATOR_ROUTES_H_
