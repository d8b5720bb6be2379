#include "ops/server_metrics.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/status_util.h"
#include "google/protobuf/descriptor.h"

namespace leadrelay::ops {

std::atomic<bool> g_metrics_enabled{true};

void SetMetricsEnabled(bool enabled) { g_metrics_enabled.store(enabled); }

metrics::Registry& Registry() {
  static auto* registry = new metrics::Registry();
  return *registry;
}

namespace {

using metrics::Counter;
using metrics::Family;
using metrics::Gauge;
using metrics::Histogram;

std::vector<double> DeliveryDelayBuckets() {
  return {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600};
}

// Every family, registered in one place so /metrics lists them all (with
// zero values) from the start.
struct Families {
  metrics::Registry& r = Registry();
  Family<Counter>& grpc_requests = r.AddCounter(
      "leadrelay_grpc_requests_total",
      "gRPC calls finished, by method and status code.", {"method", "code"});
  Family<Histogram>& grpc_latency = r.AddHistogram(
      "leadrelay_grpc_request_duration_seconds",
      "gRPC call latency (streams: their whole life), by method.", {"method"},
      metrics::LatencyBuckets());
  Family<Counter>& http_requests = r.AddCounter(
      "leadrelay_http_requests_total",
      "REST requests answered by the in-process gateway, by route and HTTP "
      "status.",
      {"route", "code"});
  Family<Histogram>& http_latency = r.AddHistogram(
      "leadrelay_http_request_duration_seconds",
      "REST request latency until the response is handed to the socket, by "
      "route.",
      {"route"}, metrics::LatencyBuckets());
  Family<Counter>& auth_rejects = r.AddCounter(
      "leadrelay_auth_rejects_total",
      "Calls refused before doing anything, by reason (unauthorized, "
      "forbidden, rate_limited, insufficient_credits).",
      {"reason"});
  Family<Counter>& attempts =
      r.AddCounter("leadrelay_delivery_attempts_total",
                   "Webhook attempts, by outcome (2xx, 3xx, 4xx, 5xx, timeout, "
                   "connect_error, refused_by_policy).",
                   {"outcome"});
  Family<Gauge>& in_flight =
      r.AddGauge("leadrelay_deliveries_in_flight",
                 "Webhook requests claimed and not yet recorded.");
  Family<Counter>& retries =
      r.AddCounter("leadrelay_delivery_retries_scheduled_total",
                   "Failed attempts that scheduled another attempt.");
  Family<Counter>& disabled = r.AddCounter(
      "leadrelay_endpoints_auto_disabled_total",
      "Webhook endpoints disabled by the dispatcher (410 Gone or failing too "
      "long).");
  Family<Histogram>& first_attempt = r.AddHistogram(
      "leadrelay_delivery_first_attempt_delay_seconds",
      "Time from an event's commit to the first attempt at its delivery.", {},
      DeliveryDelayBuckets());
  Family<Counter>& stream_opened = r.AddCounter(
      "leadrelay_streams_opened_total", "StreamEvents calls accepted.");
  Family<Counter>& stream_catch_up = r.AddCounter(
      "leadrelay_stream_catch_up_reads_total",
      "Reads from the event log for subscribers behind the in-memory ring "
      "(resumes, replays, slow readers).");
  Family<Counter>& stream_messages =
      r.AddCounter("leadrelay_stream_messages_sent_total",
                   "Events written to streams (heartbeats not included).");
  Family<Counter>& stream_heartbeats = r.AddCounter(
      "leadrelay_stream_heartbeats_total", "Heartbeats written to streams.");
  Family<Counter>& stream_ended = r.AddCounter(
      "leadrelay_streams_ended_total",
      "Streams ended, by reason (cancelled, client_gone, shutdown, log_down).",
      {"reason"});
  Family<Histogram>& db_latency =
      r.AddHistogram("leadrelay_db_query_duration_seconds",
                     "PostgreSQL statement latency (one round trip each).", {},
                     metrics::LatencyBuckets());
  Family<Counter>& db_connects = r.AddCounter(
      "leadrelay_db_connects_total",
      "PostgreSQL pool connection attempts, by result (ok, error). ok beyond "
      "the pool size means reconnects.",
      {"result"});
  Family<Counter>& db_lost =
      r.AddCounter("leadrelay_db_connections_lost_total",
                   "Pooled PostgreSQL connections dropped because they broke.");
  Family<Gauge>& db_waiting =
      r.AddGauge("leadrelay_db_pool_waiting",
                 "Callers waiting for a free PostgreSQL connection.");
  Family<Counter>& notify = r.AddCounter(
      "leadrelay_db_notify_wakeups_total",
      "PostgreSQL NOTIFY wake-ups received, by channel (resync: after the "
      "listener reconnected).",
      {"channel"});
};

Families& F() {
  static auto* families = new Families();
  return *families;
}

// A known method keeps its name; anything else (a client may call any path)
// is "unknown", so label values stay a fixed set.
std::string MethodLabel(absl::string_view path) {
  // gRPC's own services are not in the generated descriptor pool.
  if (path == "/grpc.health.v1.Health/Check" ||
      path == "/grpc.health.v1.Health/Watch" ||
      path ==
          "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo") {
    return std::string(path);
  }
  if (path.size() < 2 || path[0] != '/') return "unknown";
  std::string full(path.substr(1));
  size_t slash = full.find('/');
  if (slash == std::string::npos) return "unknown";
  full[slash] = '.';
  if (google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(
          full) == nullptr) {
    return "unknown";
  }
  return std::string(path);
}

// First use registers every family (so a scrape before any traffic lists
// them); done at static-init time of this file.
[[maybe_unused]] const bool kRegistered = (F(), true);

}  // namespace

void RecordGrpcCall(absl::string_view method, absl::string_view code,
                    absl::Duration elapsed) {
  if (!MetricsEnabled()) return;
  // Method labels are cached per path (a bounded set, see MethodLabel).
  thread_local absl::flat_hash_map<std::string, std::string> labels;
  auto it = labels.find(method);
  if (it == labels.end()) {
    if (labels.size() > 1000) labels.clear();
    it = labels.emplace(std::string(method), MethodLabel(method)).first;
  }
  F().grpc_requests.With({it->second, std::string(code)}).Inc();
  F().grpc_latency.With({it->second}).Observe(absl::ToDoubleSeconds(elapsed));
}

void RecordHttpRequest(absl::string_view route, int status,
                       absl::Duration elapsed) {
  if (!MetricsEnabled()) return;
  std::string label(route);
  F().http_requests.With({label, absl::StrCat(status)}).Inc();
  F().http_latency.With({label}).Observe(absl::ToDoubleSeconds(elapsed));
}

void RecordAuthOutcome(const absl::Status& status) {
  if (status.ok() || !MetricsEnabled()) return;
  std::string reason = ReasonOf(status);
  if (reason == kReasonUnauthorized || reason == kReasonForbidden ||
      reason == kReasonRateLimited || reason == kReasonInsufficientCredits) {
    F().auth_rejects.With({reason}).Inc();
  }
}

void RecordDeliveryAttempt(absl::string_view outcome, bool retry_scheduled) {
  if (!MetricsEnabled()) return;
  F().attempts.With({std::string(outcome)}).Inc();
  if (retry_scheduled) F().retries.Get().Inc();
}

void RecordDeliveriesInFlight(int delta) {
  if (MetricsEnabled()) F().in_flight.Get().Add(delta);
}

void RecordEndpointsDisabled(int count) {
  if (MetricsEnabled() && count > 0) F().disabled.Get().Inc(count);
}

void RecordFirstAttemptDelay(absl::Duration delay) {
  if (!MetricsEnabled()) return;
  F().first_attempt.Get().Observe(std::max(0.0, absl::ToDoubleSeconds(delay)));
}

void RecordStreamOpened(bool catch_up) {
  if (!MetricsEnabled()) return;
  (catch_up ? F().stream_catch_up : F().stream_opened).Get().Inc();
}

void RecordStreamEnded(absl::string_view reason) {
  if (MetricsEnabled()) F().stream_ended.With({std::string(reason)}).Inc();
}

void RecordStreamMessages(int count) {
  if (MetricsEnabled()) F().stream_messages.Get().Inc(count);
}

void RecordStreamHeartbeat() {
  if (MetricsEnabled()) F().stream_heartbeats.Get().Inc();
}

void RecordDbQuery(absl::Duration elapsed) {
  if (MetricsEnabled()) {
    F().db_latency.Get().Observe(absl::ToDoubleSeconds(elapsed));
  }
}

void RecordDbConnect(bool ok) {
  if (MetricsEnabled()) F().db_connects.With({ok ? "ok" : "error"}).Inc();
}

void RecordDbConnectionLost() {
  if (MetricsEnabled()) F().db_lost.Get().Inc();
}

void RecordDbPoolWaiting(int delta) {
  if (MetricsEnabled()) F().db_waiting.Get().Add(delta);
}

void RecordNotifyWakeup(absl::string_view channel) {
  if (!MetricsEnabled()) return;
  F().notify.With({channel.empty() ? "resync" : std::string(channel)}).Inc();
}

}  // namespace leadrelay::ops
