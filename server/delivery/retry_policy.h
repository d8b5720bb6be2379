// What happens after an attempt: success, retry at a time, or give up.
// Pure: the caller supplies the clock reading and the random jitter.
#ifndef LEADRELAY_SERVER_DELIVERY_RETRY_POLICY_H_
#define LEADRELAY_SERVER_DELIVERY_RETRY_POLICY_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace leadrelay::delivery {

struct RetryPolicy {
  // Delay before retry N (N = 1..size); the seeds' 1m, 5m, 30m, 2h, 12h.
  std::vector<absl::Duration> schedule = {absl::Minutes(1), absl::Minutes(5),
                                          absl::Minutes(30), absl::Hours(2),
                                          absl::Hours(12)};
  double jitter = 0.2;  // +-20 %
  // Retry-After is honoured within [its value, max_retry_after].
  absl::Duration max_retry_after = absl::Hours(12);
};

// Parses "1m,5m,30m,2h,12h" (absl duration syntax).
std::optional<std::vector<absl::Duration>> ParseSchedule(absl::string_view s);

struct AttemptOutcome {
  int http_status = 0;         // 0: no response (network error)
  bool network_error = false;  // DNS, refused, TLS, timeout, blocked
  // Retry-After header of the response, if any.
  std::optional<absl::Duration> retry_after;
};

enum class Verdict { kSucceeded, kRetry, kFailed, kDisableEndpoint };

struct Decision {
  Verdict verdict;
  absl::Time next_attempt_at;  // for kRetry
};

// `attempts_made` includes the attempt just made (1 after the first).
// `unit_random` is uniform in [0, 1) and drives the jitter.
Decision Decide(const RetryPolicy& policy, const AttemptOutcome& outcome,
                int attempts_made, absl::Time now, double unit_random);

// Parses a Retry-After header: delta-seconds or an HTTP date.
std::optional<absl::Duration> ParseRetryAfter(absl::string_view value,
                                              absl::Time now);

}  // namespace leadrelay::delivery

#endif  // LEADRELAY_SERVER_DELIVERY_RETRY_POLICY_H_
