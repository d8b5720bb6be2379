// Authenticated encryption of small secrets at rest (webhook signing
// secrets): AES-256-GCM under a key derived from a master key, a fresh
// 96-bit nonce per seal, and the id of the master key stored beside the
// ciphertext so that keys can be rotated. `context` (e.g. the row's id) is
// authenticated too: a ciphertext copied to another row does not open.
#ifndef LEADRELAY_SERVER_CRYPTO_SECRET_BOX_H_
#define LEADRELAY_SERVER_CRYPTO_SECRET_BOX_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "crypto/keyring.h"

namespace leadrelay::crypto {

struct SealedSecret {
  std::string key_id;
  std::string ciphertext;  // nonce (12) || encrypted bytes || tag (16)
};

class SecretBox {
 public:
  explicit SecretBox(const Keyring& keyring);

  const std::string& active_key_id() const { return keys_.front().first; }

  // Encrypts under the active key.
  absl::StatusOr<SealedSecret> Seal(absl::string_view plaintext,
                                    absl::string_view context) const;
  // FAILED_PRECONDITION when the key id is not loaded; DATA_LOSS when the
  // ciphertext, its key id or `context` was altered.
  absl::StatusOr<std::string> Open(const SealedSecret& sealed,
                                   absl::string_view context) const;

 private:
  std::vector<std::pair<std::string, std::string>> keys_;  // id, AES key
};

}  // namespace leadrelay::crypto

#endif  // LEADRELAY_SERVER_CRYPTO_SECRET_BOX_H_
