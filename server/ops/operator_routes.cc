#include "ops/operator_routes.h"

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/request_context.h"
#include "ops/call_observer.h"
#include "ops/server_metrics.h"

namespace leadrelay::ops {

PlainRoutes OperatorRoutes(Readiness& readiness) {
  PlainRoutes routes;
  routes["/healthz"] = [] { return PlainResponse{200, "text/plain", "ok\n"}; };
  routes["/readyz"] = [&readiness] {
    ReadinessState state = readiness.Current();
    return PlainResponse{IsReady(state) ? 200 : 503, "application/json",
                         ReadinessJson(state)};
  };
  routes["/metrics"] = [] {
    if (!MetricsEnabled()) {
      return PlainResponse{404, "text/plain", "metrics are off\n"};
    }
    return PlainResponse{200, metrics::kTextContentType, Registry().Render()};
  };
  return routes;
}

void InstallInGateway(const PlainRoutes& routes,
                      gateway::GatewayConfig* config) {
  for (const auto& [path, handler] : routes) {
    config->extra_routes[path] =
        [handler = handler](const gateway::HttpRequestInfo& request) {
          gateway::HttpResponseInfo response;
          if (request.method != "GET" && request.method != "HEAD") {
            response.status = 405;
            response.content_type = "application/json";
            response.body =
                R"({"code":"invalid_request","message":"only GET and HEAD"})";
            response.headers.emplace_back("Allow", "GET, HEAD");
            return response;
          }
          PlainResponse r = handler();
          response.status = r.status;
          response.content_type = std::move(r.content_type);
          response.body = std::move(r.body);
          return response;
        };
  }
  config->on_request = [](const gateway::RequestRecord& record) {
    RecordHttpRequest(record.route, record.status, record.elapsed);
    if (!AccessLogEnabled()) return;
    LogFields fields;
    fields.request_id = SanitizeRequestId(record.request_id);
    fields.method = record.route;
    fields.duration_ms = absl::ToDoubleMilliseconds(record.elapsed);
    fields.code = absl::StrCat(record.status);
    LogAccess(fields);
  };
}

}  // namespace leadrelay::ops
