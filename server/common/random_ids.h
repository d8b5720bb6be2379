// Identifiers and secrets from OpenSSL's CSPRNG.
#ifndef LEADRELAY_SERVER_COMMON_RANDOM_IDS_H_
#define LEADRELAY_SERVER_COMMON_RANDOM_IDS_H_

#include <string>

#include "absl/strings/string_view.h"

namespace leadrelay {

// `n` bytes from the CSPRNG.
std::string RandomBytes(int n);

// `prefix` + `chars` characters of lower-case base32 (5 bits each).
std::string NewId(absl::string_view prefix, int chars = 20);

// A new API key: "lr_" + 32 base32 characters (160 bits).
std::string NewApiKey();

// A new Standard Webhooks secret: "whsec_" + base64 of 24 random bytes.
std::string NewWebhookSecret();

// SHA-256 of `data`, 32 raw bytes.
std::string Sha256(absl::string_view data);

// Constant-time equality of two byte strings.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

}  // namespace leadrelay

#endif  // LEADRELAY_SERVER_COMMON_RANDOM_IDS_H_
