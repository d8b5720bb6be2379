// Webhook signing secrets at rest: opening a claim's sealed secrets to sign
// with, and the pass that encrypts rows written before encryption and
// re-encrypts rows under an older master key.
#ifndef LEADRELAY_SERVER_STORE_WEBHOOK_SECRETS_H_
#define LEADRELAY_SERVER_STORE_WEBHOOK_SECRETS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/secret_box.h"
#include "store/pg.h"

namespace leadrelay::store {

// A secret column and its key-id column as stored: base64 ciphertext, or
// plaintext when the key id is NULL (a row from before encryption).
crypto::SealedSecret StoredSecretFrom(const Result& r, int row, int column,
                                      int key_column);

// The plaintext of `secrets` (as a claim carries them) of `webhook_id`. A
// secret without key id is a row from before encryption, used as is until
// the start-up pass seals it.
absl::StatusOr<std::vector<std::string>> OpenWebhookSecrets(
    const crypto::SecretBox& box, const std::string& webhook_id,
    const std::vector<crypto::SealedSecret>& secrets);

struct SealCounts {
  int encrypted = 0;    // were plaintext
  int reencrypted = 0;  // were under another master key
};

// Encrypts every plaintext secret under the active key and, with
// `reencrypt`, re-encrypts those sealed under another key. Works in small
// batches; a row changed meanwhile (a rotation, another replica doing the
// same) is left to that writer. Fails, naming the webhook and key id, when
// a secret cannot be opened with the loaded keys.
absl::StatusOr<SealCounts> SealWebhookSecrets(Pool& pool,
                                              const crypto::SecretBox& box,
                                              bool reencrypt);

}  // namespace leadrelay::store

#endif  // LEADRELAY_SERVER_STORE_WEBHOOK_SECRETS_H_
