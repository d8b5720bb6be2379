// Webhook signatures, both schemes at once:
//  - the seeds' scheme: hex HMAC-SHA256 of the raw body, keyed by the secret
//    string as given (X-LeadRelay-Signature);
//  - Standard Webhooks: base64 HMAC-SHA256 of "id.timestamp.body", keyed by
//    the base64-decoded part of a "whsec_" secret (webhook-signature: v1,...).
// During a secret rotation both the new and the old secret sign; signatures
// are space-separated. Pure functions.
#ifndef LEADRELAY_SERVER_DELIVERY_SIGNING_H_
#define LEADRELAY_SERVER_DELIVERY_SIGNING_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace leadrelay::delivery {

// Hex HMAC-SHA256(body) keyed by the secret's bytes, as the seeds verify it.
std::string HexBodySignature(absl::string_view secret, absl::string_view body);

// The Standard Webhooks key: base64-decoded part after "whsec_"; a secret
// that is not in that form is used as raw bytes.
std::string StandardWebhooksKey(absl::string_view secret);

// "v1,<base64>" for one secret.
std::string StandardWebhooksSignature(absl::string_view secret,
                                      absl::string_view message_id,
                                      int64_t timestamp,
                                      absl::string_view body);

// Every header a delivery carries, in order, signed with each of `secrets`
// (current first). Content-Type and User-Agent included.
std::vector<std::pair<std::string, std::string>> SignedHeaders(
    const std::vector<std::string>& secrets, absl::string_view delivery_id,
    absl::string_view event_type, int64_t timestamp, absl::string_view body);

}  // namespace leadrelay::delivery

#endif  // LEADRELAY_SERVER_DELIVERY_SIGNING_H_
