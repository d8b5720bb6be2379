// HMAC-SHA256, the one keyed hash the server computes: webhook signatures,
// cursor tags and key derivation.
#ifndef LEADRELAY_SERVER_CRYPTO_HMAC_H_
#define LEADRELAY_SERVER_CRYPTO_HMAC_H_

#include <string>

#include "absl/strings/string_view.h"

namespace leadrelay::crypto {

// The 32-byte HMAC-SHA256 of `data` keyed by `key` (any length, empty too).
std::string HmacSha256(absl::string_view key, absl::string_view data);

}  // namespace leadrelay::crypto

#endif  // LEADRELAY_SERVER_CRYPTO_HMAC_H_
