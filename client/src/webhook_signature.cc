#include "leadrelay/webhook_signature.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace leadrelay::webhooks {
namespace {

std::string Hmac(absl::string_view key, absl::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out,
       &length);
  return std::string(reinterpret_cast<char*>(out), length);
}

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  return a.size() == b.size() &&
         CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string StandardKey(absl::string_view secret) {
  std::string key;
  if (absl::StartsWith(secret, "whsec_") &&
      absl::Base64Unescape(secret.substr(6), &key) && !key.empty()) {
    return key;
  }
  return std::string(secret);
}

std::string StandardSignature(absl::string_view secret, absl::string_view id,
                              absl::string_view timestamp,
                              absl::string_view body) {
  return absl::Base64Escape(
      Hmac(StandardKey(secret), absl::StrCat(id, ".", timestamp, ".", body)));
}

std::string HeaderOf(const std::map<std::string, std::string>& headers,
                     absl::string_view name) {
  for (const auto& [key, value] : headers) {
    if (absl::EqualsIgnoreCase(key, name)) return value;
  }
  return "";
}

}  // namespace

std::vector<std::pair<std::string, std::string>> SignDelivery(
    const std::vector<std::string>& secrets, absl::string_view delivery_id,
    absl::string_view event_type, int64_t timestamp, absl::string_view body) {
  const std::string ts = absl::StrCat(timestamp);
  std::vector<std::string> hex;
  std::vector<std::string> standard;
  for (const std::string& secret : secrets) {
    hex.push_back(absl::BytesToHexString(Hmac(secret, body)));
    standard.push_back(
        absl::StrCat("v1,", StandardSignature(secret, delivery_id, ts, body)));
  }
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

std::string NewSecret() {
  unsigned char bytes[24];
  RAND_bytes(bytes, sizeof(bytes));
  return absl::StrCat("whsec_",
                      absl::Base64Escape(absl::string_view(
                          reinterpret_cast<char*>(bytes), sizeof(bytes))));
}

absl::Status VerifyHexSignature(absl::string_view secret,
                                absl::string_view body,
                                absl::string_view header) {
  if (absl::StripAsciiWhitespace(header).empty()) {
    return absl::InvalidArgumentError("X-LeadRelay-Signature is missing");
  }
  const std::string expected = absl::BytesToHexString(Hmac(secret, body));
  for (absl::string_view candidate :
       absl::StrSplit(header, ' ', absl::SkipEmpty())) {
    if (ConstantTimeEquals(absl::AsciiStrToLower(candidate), expected)) {
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError(
      "X-LeadRelay-Signature: no signature matches the body under this secret");
}

absl::Status VerifyStandardWebhook(absl::string_view secret,
                                   absl::string_view body,
                                   absl::string_view webhook_id,
                                   absl::string_view webhook_timestamp,
                                   absl::string_view signature_header,
                                   absl::Time now, absl::Duration tolerance) {
  if (webhook_id.empty() || webhook_timestamp.empty() ||
      signature_header.empty()) {
    return absl::InvalidArgumentError(
        "webhook-id, webhook-timestamp or webhook-signature is missing");
  }
  int64_t timestamp = 0;
  if (!absl::SimpleAtoi(webhook_timestamp, &timestamp)) {
    return absl::InvalidArgumentError("webhook-timestamp is not unix seconds");
  }
  const absl::Duration skew =
      absl::AbsDuration(now - absl::FromUnixSeconds(timestamp));
  if (skew > tolerance) {
    return absl::InvalidArgumentError(absl::StrCat(
        "webhook-timestamp is ", absl::FormatDuration(skew),
        " away from now (tolerance ", absl::FormatDuration(tolerance), ")"));
  }
  const std::string expected =
      StandardSignature(secret, webhook_id, webhook_timestamp, body);
  for (absl::string_view candidate :
       absl::StrSplit(signature_header, ' ', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> parts =
        absl::StrSplit(candidate, absl::MaxSplits(',', 1));
    if (parts.first == "v1" && ConstantTimeEquals(parts.second, expected)) {
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError(
      "webhook-signature: no v1 signature matches id.timestamp.body under "
      "this secret");
}

Verification VerifyDelivery(const std::vector<std::string>& secrets,
                            absl::string_view body,
                            const std::map<std::string, std::string>& headers,
                            absl::Time now, absl::Duration tolerance) {
  Verification result;
  const std::string hex = HeaderOf(headers, "X-LeadRelay-Signature");
  const std::string id = HeaderOf(headers, "webhook-id");
  const std::string ts = HeaderOf(headers, "webhook-timestamp");
  const std::string sig = HeaderOf(headers, "webhook-signature");
  for (const std::string& secret : secrets) {
    absl::Status h = VerifyHexSignature(secret, body, hex);
    if (h.ok()) result.hex_ok = true;
    if (!result.hex_ok) result.hex_detail = std::string(h.message());
    absl::Status s =
        VerifyStandardWebhook(secret, body, id, ts, sig, now, tolerance);
    if (s.ok()) result.standard_ok = true;
    if (!result.standard_ok) result.standard_detail = std::string(s.message());
  }
  if (result.hex_ok) result.hex_detail.clear();
  if (result.standard_ok) result.standard_detail.clear();
  return result;
}

}  // namespace leadrelay::webhooks
