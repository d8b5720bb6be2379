#include "delivery/retry_policy.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace leadrelay::delivery {

std::optional<std::vector<absl::Duration>> ParseSchedule(absl::string_view s) {
  std::vector<absl::Duration> out;
  for (absl::string_view part : absl::StrSplit(s, ',', absl::SkipEmpty())) {
    absl::Duration d;
    if (!absl::ParseDuration(absl::StripAsciiWhitespace(part), &d) ||
        d <= absl::ZeroDuration()) {
      return std::nullopt;
    }
    out.push_back(d);
  }
  if (out.empty()) return std::nullopt;
  return out;
}

Decision Decide(const RetryPolicy& policy, const AttemptOutcome& outcome,
                int attempts_made, absl::Time now, double unit_random) {
  if (!outcome.network_error && outcome.http_status >= 200 &&
      outcome.http_status < 300) {
    return {Verdict::kSucceeded, now};
  }
  if (!outcome.network_error && outcome.http_status == 410) {
    return {Verdict::kDisableEndpoint, now};
  }
  // attempts_made - 1 retries have happened; is there another one?
  size_t retry_index = static_cast<size_t>(std::max(attempts_made, 1)) - 1;
  if (retry_index >= policy.schedule.size()) {
    return {Verdict::kFailed, now};
  }
  absl::Duration delay = policy.schedule[retry_index];
  double factor = 1.0 + policy.jitter * (2.0 * unit_random - 1.0);
  delay = delay * factor;
  if (outcome.retry_after.has_value()) {
    absl::Duration asked =
        std::min(*outcome.retry_after, policy.max_retry_after);
    delay = std::max(delay, asked);
  }
  return {Verdict::kRetry, now + delay};
}

std::optional<absl::Duration> ParseRetryAfter(absl::string_view value,
                                              absl::Time now) {
  value = absl::StripAsciiWhitespace(value);
  int64_t seconds = 0;
  if (absl::SimpleAtoi(value, &seconds)) {
    if (seconds < 0) return std::nullopt;
    return absl::Seconds(seconds);
  }
  absl::Time when;
  std::string err;
  if (absl::ParseTime("%a, %d %b %Y %H:%M:%S GMT", value, absl::UTCTimeZone(),
                      &when, &err)) {
    return std::max(absl::ZeroDuration(), when - now);
  }
  return std::nullopt;
}

}  // namespace leadrelay::delivery
