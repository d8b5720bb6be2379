#include "ops/attempt_outcome.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"

namespace leadrelay::ops {

absl::string_view AttemptOutcomeLabel(int http_status, bool network_error,
                                      absl::string_view error) {
  if (!network_error && http_status > 0) {
    if (http_status < 300) return "2xx";
    if (http_status < 400) return "3xx";
    if (http_status < 500) return "4xx";
    return "5xx";
  }
  // http_sender words a policy refusal "refused to connect to a ... address";
  // curl words its timeouts "Timeout was reached".
  if (absl::StartsWith(error, "refused to connect to a")) {
    return "refused_by_policy";
  }
  const std::string lower = absl::AsciiStrToLower(error);
  if (absl::StrContains(lower, "timeout") ||
      absl::StrContains(lower, "timed out")) {
    return "timeout";
  }
  return "connect_error";
}

}  // namespace leadrelay::ops
