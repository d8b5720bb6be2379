// The server's master keys: one active key that encrypts, older ones kept so
// what they encrypted can still be read until it is re-encrypted. Every use
// (webhook secrets, cursors) works with its own key derived from a master
// key, never with the master key itself.
#ifndef LEADRELAY_SERVER_CRYPTO_KEYRING_H_
#define LEADRELAY_SERVER_CRYPTO_KEYRING_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace leadrelay::crypto {

inline constexpr size_t kMasterKeyBytes = 32;

struct MasterKey {
  std::string id;     // [A-Za-z0-9_-], 1..32 characters; stored with data
  std::string bytes;  // kMasterKeyBytes raw bytes
};

class Keyring {
 public:
  // Parses "ID:BASE64" entries (each key 32 bytes, standard or URL-safe
  // base64) separated by whitespace or commas; '#' comments out the rest of
  // its line. The first entry is the active key. Error messages never quote
  // key material.
  static absl::StatusOr<Keyring> Parse(absl::string_view text);
  static absl::StatusOr<Keyring> FromKeys(std::vector<MasterKey> keys);

  const MasterKey& active() const { return keys_.front(); }
  const std::vector<MasterKey>& keys() const { return keys_; }

  // HMAC-SHA256(master key, label): a 32-byte key for one purpose.
  static std::string Derive(const MasterKey& key, absl::string_view label);

 private:
  explicit Keyring(std::vector<MasterKey> keys) : keys_(std::move(keys)) {}
  std::vector<MasterKey> keys_;  // never empty
};

}  // namespace leadrelay::crypto

#endif  // LEADRELAY_SERVER_CRYPTO_KEYRING_H_
