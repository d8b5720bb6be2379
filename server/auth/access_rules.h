// Pure access-control arithmetic: reading the key from request metadata,
// scope checks, the per-method policy declared in the proto, and the
// rate-limit verdict for a fixed 60-second window.
#ifndef LEADRELAY_SERVER_AUTH_ACCESS_RULES_H_
#define LEADRELAY_SERVER_AUTH_ACCESS_RULES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "leadrelay/v1/options.pb.h"

namespace leadrelay::auth {

// From `authorization: Bearer <key>` or `x-api-key: <key>`.
absl::StatusOr<std::string> ExtractApiKey(
    std::optional<absl::string_view> authorization,
    std::optional<absl::string_view> x_api_key);

// Scope names as stored and shown: read, write, ingest, admin.
std::string ScopeName(v1::Scope scope);
absl::Status ValidateScopes(const std::vector<std::string>& scopes);
// admin implies every scope.
bool HasScope(const std::vector<std::string>& granted, v1::Scope required);

// The policy declared on `method` ("leadrelay.v1.LeadService.GetLead") with
// the (leadrelay.v1.policy) option; NOT_FOUND-free: unknown methods get an
// admin-only policy so a missing declaration fails closed.
v1::MethodPolicy PolicyFor(absl::string_view method);

struct RateLimitVerdict {
  bool allowed = true;
  int limit = 0;  // 0: unlimited
  int remaining = 0;
  int64_t reset_unix = 0;  // when the window ends
  int retry_after_seconds = 0;
};

inline constexpr int kRateWindowSeconds = 60;

// Active (not revoked) keys an account may hold: keys are what an admin
// can mint, so without a cap an account could spread load over any number
// of them (the account-wide rate limit bounds the rate; this bounds the
// rows, the hashes to look up and what a leaked admin key can scatter).
inline constexpr int kMaxActiveKeysPerAccount = 100;

// `count` includes this request; `window_start_us` and `now_us` are the
// database's clock, so every replica agrees.
RateLimitVerdict DecideRateLimit(int limit, int64_t count,
                                 int64_t window_start_us, int64_t now_us);

// The per-key and the account-wide verdict as one: the key's when it
// refuses, else the account's when it refuses, else the one with fewer
// requests left (the headers then show the limit that bites first).
struct CombinedRateLimit {
  RateLimitVerdict verdict;
  bool account_wide = false;
};
CombinedRateLimit CombineRateLimits(const RateLimitVerdict& key,
                                    const RateLimitVerdict& account);

}  // namespace leadrelay::auth

#endif  // LEADRELAY_SERVER_AUTH_ACCESS_RULES_H_
