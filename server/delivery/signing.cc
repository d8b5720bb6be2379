#include "delivery/signing.h"

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "crypto/hmac.h"

namespace leadrelay::delivery {

using crypto::HmacSha256;

std::string HexBodySignature(absl::string_view secret, absl::string_view body) {
  return absl::BytesToHexString(HmacSha256(secret, body));
}

std::string StandardWebhooksKey(absl::string_view secret) {
  std::string key;
  if (absl::StartsWith(secret, "whsec_") &&
      absl::Base64Unescape(secret.substr(6), &key) && !key.empty()) {
    return key;
  }
  return std::string(secret);
}

std::string StandardWebhooksSignature(absl::string_view secret,
                                      absl::string_view message_id,
                                      int64_t timestamp,
                                      absl::string_view body) {
  std::string signed_content =
      absl::StrCat(message_id, ".", timestamp, ".", body);
  return absl::StrCat("v1,", absl::Base64Escape(HmacSha256(
                                 StandardWebhooksKey(secret), signed_content)));
}

std::vector<std::pair<std::string, std::string>> SignedHeaders(
    const std::vector<std::string>& secrets, absl::string_view delivery_id,
    absl::string_view event_type, int64_t timestamp, absl::string_view body) {
  std::vector<std::string> hex;
  std::vector<std::string> standard;
  for (const std::string& secret : secrets) {
    hex.push_back(HexBodySignature(secret, body));
    standard.push_back(
        StandardWebhooksSignature(secret, delivery_id, timestamp, body));
  }
  std::string ts = absl::StrCat(timestamp);
  return {
      {"Content-Type", "application/json"},
      {"User-Agent", "leadrelay-webhooks/1"},
      {"X-LeadRelay-Signature", absl::StrJoin(hex, " ")},
      {"X-LeadRelay-Timestamp", ts},
      {"X-LeadRelay-Event", std::string(event_type)},
      {"X-LeadRelay-Delivery", std::string(delivery_id)},
      {"webhook-id", std::string(delivery_id)},
      {"webhook-timestamp", ts},
      {"webhook-signature", absl::StrJoin(standard, " ")},
  };
}

}  // namespace leadrelay::delivery
