// Event-log cursors that reveal nothing: the server keeps one global,
// gap-free sequence, and a cursor is that position and a tag of the account
// encrypted together as one AES-256 block (a keyed permutation). Cursors
// of one account look random, their differences say nothing about how many
// events other accounts wrote in between, and a cursor forged or taken from
// another account does not open (the 64-bit account tag must match).
// The encoding is deterministic: one position always has one cursor.
#ifndef LEADRELAY_SERVER_CRYPTO_CURSOR_CIPHER_H_
#define LEADRELAY_SERVER_CRYPTO_CURSOR_CIPHER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "crypto/keyring.h"

namespace leadrelay::crypto {

class CursorCipher {
 public:
  // Seals with keys derived from the active master key; opens with those
  // of any loaded key, so cursors survive a master-key rotation while the
  // old key stays loaded.
  explicit CursorCipher(const Keyring& keyring);

  // 22 URL-safe characters.
  std::string Seal(absl::string_view account_id, int64_t seq) const;
  // nullopt unless `cursor` was sealed for `account_id` by a loaded key.
  std::optional<int64_t> Open(absl::string_view account_id,
                              absl::string_view cursor) const;

 private:
  struct Keys {
    std::string block_key;  // AES-256
    std::string tag_key;    // HMAC-SHA256 of the account id
  };
  std::vector<Keys> keys_;  // active first
};

}  // namespace leadrelay::crypto

#endif  // LEADRELAY_SERVER_CRYPTO_CURSOR_CIPHER_H_
