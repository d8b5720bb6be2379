// Signing and verifying leadrelay webhook deliveries, both schemes a
// delivery carries:
//  - X-LeadRelay-Signature: lower-case hex HMAC-SHA256 of the raw body, keyed
//    by the secret string as given;
//  - Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature):
//    "v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">", keyed by the
//    base64-decoded part after "whsec_" (the raw secret otherwise).
// During a secret rotation a header holds several space-separated
// signatures; any one matching is enough. Comparisons are constant-time.
// Pure functions (the clock is a parameter).
#ifndef LEADRELAY_CLIENT_WEBHOOK_SIGNATURE_H_
#define LEADRELAY_CLIENT_WEBHOOK_SIGNATURE_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace leadrelay::webhooks {

inline constexpr absl::Duration kDefaultTolerance = absl::Minutes(5);

// The headers a delivery with this id, type and timestamp carries when
// signed with each of `secrets` (current first), Content-Type included.
std::vector<std::pair<std::string, std::string>> SignDelivery(
    const std::vector<std::string>& secrets, absl::string_view delivery_id,
    absl::string_view event_type, int64_t timestamp, absl::string_view body);

// A new "whsec_<base64 of 24 random bytes>" secret.
std::string NewSecret();

// OK when one signature in `header` (X-LeadRelay-Signature) is the hex
// HMAC of `body` under `secret`; otherwise an error saying why.
absl::Status VerifyHexSignature(absl::string_view secret,
                                absl::string_view body,
                                absl::string_view header);

// OK when `signature_header` holds a v1 signature of id.timestamp.body under
// `secret` and the timestamp is within `tolerance` of `now`.
absl::Status VerifyStandardWebhook(
    absl::string_view secret, absl::string_view body,
    absl::string_view webhook_id, absl::string_view webhook_timestamp,
    absl::string_view signature_header, absl::Time now,
    absl::Duration tolerance = kDefaultTolerance);

// The result of checking a captured delivery against both schemes.
struct Verification {
  bool hex_ok = false;
  bool standard_ok = false;
  std::string hex_detail;       // why the hex header did not match
  std::string standard_detail;  // why the Standard Webhooks headers did not
  bool ok() const { return hex_ok || standard_ok; }
};

// Headers by name, any case. Tries each secret with each scheme.
Verification VerifyDelivery(const std::vector<std::string>& secrets,
                            absl::string_view body,
                            const std::map<std::string, std::string>& headers,
                            absl::Time now,
                            absl::Duration tolerance = kDefaultTolerance);

}  // namespace leadrelay::webhooks

#endif  // LEADRELAY_CLIENT_WEBHOOK_SIGNATURE_H_
