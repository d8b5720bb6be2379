// Where the server's master keys come from: a file named by a flag, else an
// environment variable (its name also a flag), in Keyring::Parse's format.
#ifndef LEADRELAY_SERVER_CRYPTO_KEY_SOURCE_H_
#define LEADRELAY_SERVER_CRYPTO_KEY_SOURCE_H_

#include <string>

#include "absl/status/statusor.h"
#include "crypto/keyring.h"

namespace leadrelay::crypto {

// From `file` when not empty, else from the environment variable `env_name`.
// Errors name the source, never its contents.
absl::StatusOr<Keyring> LoadMasterKeys(const std::string& file,
                                       const std::string& env_name);

}  // namespace leadrelay::crypto

#endif  // LEADRELAY_SERVER_CRYPTO_KEY_SOURCE_H_
