#include "crypto/key_source.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace leadrelay::crypto {

absl::StatusOr<Keyring> LoadMasterKeys(const std::string& file,
                                       const std::string& env_name) {
  std::string text;
  std::string source;
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot read the master key file ", file));
    }
    std::stringstream buffer;
    buffer << in.rdbuf();
    text = buffer.str();
    source = file;
  } else {
    const char* value =
        env_name.empty() ? nullptr : std::getenv(env_name.c_str());
    if (value == nullptr || *value == '\0') {
      return absl::FailedPreconditionError(absl::StrCat(
          "no master key: pass --secrets_key_file=PATH or set ",
          env_name.empty() ? "--secrets_key_env" : env_name,
          " (ID:BASE64 of 32 random bytes; scripts/run makes one)"));
    }
    text = value;
    source = absl::StrCat("$", env_name);
  }
  absl::StatusOr<Keyring> keyring = Keyring::Parse(text);
  if (!keyring.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": ", keyring.status().message()));
  }
  return keyring;
}

}  // namespace leadrelay::crypto
