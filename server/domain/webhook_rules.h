// Rules for webhook registration: URL shape and scheme, secrets, limits.
#ifndef LEADRELAY_SERVER_DOMAIN_WEBHOOK_RULES_H_
#define LEADRELAY_SERVER_DOMAIN_WEBHOOK_RULES_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace leadrelay::domain {

inline constexpr int kMaxWebhooksPerAccount = 5;

struct ParsedUrl {
  std::string scheme;  // lower-case
  std::string host;    // lower-case, IPv6 without brackets
  int port = 0;        // 0: scheme default
  std::string path;    // with query, "/" at least
};

absl::StatusOr<ParsedUrl> ParseHttpUrl(absl::string_view url);

// HTTPS only, unless the host is in `allowed_hosts` (local development),
// which may then also use http.
absl::Status ValidateWebhookUrl(absl::string_view url,
                                const std::vector<std::string>& allowed_hosts);

// A caller-chosen secret: 16 to 128 printable ASCII characters.
absl::Status ValidateWebhookSecret(absl::string_view secret);

// What the API shows of a signing secret (`secret_prefix`): "whsec_" and 4
// characters of one leadrelay generated, and only "(custom)" for one the
// caller chose, of which nothing may be revealed.
std::string SecretHint(absl::string_view secret, bool generated);

}  // namespace leadrelay::domain

#endif  // LEADRELAY_SERVER_DOMAIN_WEBHOOK_RULES_H_
