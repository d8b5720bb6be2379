#include "leadrelay/retry_policy.h"

#include <algorithm>
#include <cmath>

#include "absl/container/flat_hash_set.h"

namespace leadrelay {

bool IsSafeToRepeat(absl::string_view method, bool has_external_id) {
  // Reads, and erasures: erasing an erased lead changes nothing.
  static const auto* const kRepeatable =
      new absl::flat_hash_set<absl::string_view>{
          "GetMe",          "GetCredits",  "GetAccountStats", "ListApiKeys",
          "ListLeads",      "GetLead",     "ListWebhooks",    "GetWebhook",
          "ListDeliveries", "GetDelivery", "ListEvents",      "ListEventTypes",
          "StreamEvents",   "EraseLead",   "EraseLeads"};
  if (method == "CreateLead") return has_external_id;
  return kRepeatable->contains(method);
}

bool IsTransientFailure(absl::StatusCode code, absl::string_view reason) {
  if (code == absl::StatusCode::kUnavailable) return true;
  return code == absl::StatusCode::kResourceExhausted &&
         reason == "rate_limited";
}

absl::Duration Backoff(const RetryPolicy& policy, int attempt,
                       double unit_random) {
  const double exponent = std::max(0, attempt - 1);
  const double base_s =
      std::min(absl::ToDoubleSeconds(policy.initial_backoff) *
                   std::pow(std::max(1.0, policy.multiplier), exponent),
               absl::ToDoubleSeconds(policy.max_backoff));
  const double unit = std::clamp(unit_random, 0.0, 1.0);
  const double scale = 1.0 + policy.jitter * (2.0 * unit - 1.0);
  return absl::Seconds(std::max(0.0, base_s * scale));
}

RetryDecision DecideRetry(const RetryPolicy& policy,
                          const FailedAttempt& failure, double unit_random) {
  RetryDecision decision;
  if (!failure.safe_to_repeat ||
      !IsTransientFailure(failure.code, failure.reason) ||
      failure.attempts_made >= policy.max_attempts) {
    return decision;
  }
  absl::Duration wait = Backoff(policy, failure.attempts_made, unit_random);
  if (failure.server_delay.has_value()) {
    // The server knows when its window reopens: never come back earlier, and
    // spread the callers it sent away by up to `jitter` after that.
    absl::Duration server = *failure.server_delay;
    wait = std::max(
        wait,
        server + server * (policy.jitter * std::clamp(unit_random, 0.0, 1.0)));
  }
  if (wait >= failure.time_left) return decision;
  decision.retry = true;
  decision.wait = wait;
  return decision;
}

}  // namespace leadrelay
