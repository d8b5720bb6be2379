// Which failed calls the client repeats, and how long it waits in between.
// Pure arithmetic, no I/O and no clock: the caller passes the time left and a
// random number, so every decision can be unit-tested.
//
// A failure is retried when all of these hold:
//  - it is UNAVAILABLE (server down, restarting, database away) or the rate
//    limiter's `rate_limited`;
//  - the call is safe to repeat: a read, or CreateLead with an external_id
//    (the server returns the lead it already made for that id);
//  - fewer than max_attempts attempts were made;
//  - the wait fits in the time left before the call's deadline.
// The wait is exponential backoff with jitter, but never shorter than the
// server's own retry delay (google.rpc.RetryInfo).
#ifndef LEADRELAY_CLIENT_RETRY_POLICY_H_
#define LEADRELAY_CLIENT_RETRY_POLICY_H_

#include <optional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace leadrelay {

struct RetryPolicy {
  int max_attempts = 5;  // attempts in all, the first included
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(10);
  double multiplier = 2.0;
  double jitter = 0.2;  // the wait varies by up to +-20 %
};

// True for the RPCs (short method names, e.g. "GetLead") that can be sent
// twice without a second effect. `has_external_id` matters for CreateLead.
bool IsSafeToRepeat(absl::string_view method, bool has_external_id);

// True for failures worth another attempt: UNAVAILABLE, and
// RESOURCE_EXHAUSTED whose reason is rate_limited.
bool IsTransientFailure(absl::StatusCode code, absl::string_view reason);

// The backoff after `attempt` failed attempts (1 = after the first):
// initial * multiplier^(attempt-1), capped at max_backoff, scaled by
// 1 + jitter * (2 * unit_random - 1). unit_random is in [0, 1).
absl::Duration Backoff(const RetryPolicy& policy, int attempt,
                       double unit_random);

struct RetryDecision {
  bool retry = false;
  absl::Duration wait = absl::ZeroDuration();
};

struct FailedAttempt {
  int attempts_made = 1;
  absl::StatusCode code = absl::StatusCode::kUnknown;
  absl::string_view reason;
  std::optional<absl::Duration> server_delay;  // google.rpc.RetryInfo
  bool safe_to_repeat = false;
  absl::Duration time_left = absl::InfiniteDuration();  // until the deadline
};

// Whether to try again, and after how long.
RetryDecision DecideRetry(const RetryPolicy& policy,
                          const FailedAttempt& failure, double unit_random);

}  // namespace leadrelay

#endif  // LEADRELAY_CLIENT_RETRY_POLICY_H_
