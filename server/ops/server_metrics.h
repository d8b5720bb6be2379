// The metrics leadrelay exports, defined once, and the one-line recording
// calls the rest of the server makes. Every call is a no-op when metrics are
// off (--metrics=false), so the hot paths cost a relaxed load then.
//
// Label values come from fixed vocabularies only: gRPC method names known to
// the descriptor pool, status code names, route templates, outcomes. Never an
// account id, URL, key or anything else a client chooses.
#ifndef LEADRELAY_SERVER_OPS_SERVER_METRICS_H_
#define LEADRELAY_SERVER_OPS_SERVER_METRICS_H_

#include <atomic>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "metrics/registry.h"

namespace leadrelay::ops {

// The process-wide registry that /metrics renders.
metrics::Registry& Registry();

extern std::atomic<bool> g_metrics_enabled;
inline bool MetricsEnabled() {
  return g_metrics_enabled.load(std::memory_order_relaxed);
}
void SetMetricsEnabled(bool enabled);

// --- requests ---------------------------------------------------------------
// One finished gRPC call: `method` is "/pkg.Service/Method" of a known
// method (anything else is counted as "unknown").
void RecordGrpcCall(absl::string_view method, absl::string_view code,
                    absl::Duration elapsed);
// One finished REST request: `route` is "GET /v1/leads/{id}" or a fixed word
// ("unmatched", "metrics", ...); `status` the HTTP status.
void RecordHttpRequest(absl::string_view route, int status,
                       absl::Duration elapsed);
// A call refused by authentication, authorization, rate limit or credits.
// Other statuses are ignored.
void RecordAuthOutcome(const absl::Status& status);

// --- delivery ---------------------------------------------------------------
// `outcome` is one of AttemptOutcomeLabel()'s words.
void RecordDeliveryAttempt(absl::string_view outcome, bool retry_scheduled);
void RecordDeliveriesInFlight(int delta);
void RecordEndpointsDisabled(int count);
// Time from the event's commit to the first attempt at one of its deliveries.
void RecordFirstAttemptDelay(absl::Duration delay);

// --- stream -----------------------------------------------------------------
void RecordStreamOpened(bool catch_up);
void RecordStreamEnded(absl::string_view reason);
void RecordStreamMessages(int count);
void RecordStreamHeartbeat();

// --- database ---------------------------------------------------------------
void RecordDbQuery(absl::Duration elapsed);
void RecordDbConnect(bool ok);
void RecordDbConnectionLost();
void RecordDbPoolWaiting(int delta);
void RecordNotifyWakeup(absl::string_view channel);

}  // namespace leadrelay::ops

#endif  // LEADRELAY_SERVER_OPS_SERVER_METRICS_H_
