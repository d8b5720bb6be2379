#include "crypto/keyring.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "crypto/hmac.h"

namespace leadrelay::crypto {
namespace {

bool ValidKeyId(absl::string_view id) {
  if (id.empty() || id.size() > 32) return false;
  for (char c : id) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' &&
        c != '-') {
      return false;
    }
  }
  return true;
}

}  // namespace

absl::StatusOr<Keyring> Keyring::Parse(absl::string_view text) {
  std::vector<MasterKey> keys;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = line.substr(0, line.find('#'));
    for (absl::string_view entry :
         absl::StrSplit(line, absl::ByAnyChar(" \t\r,"), absl::SkipEmpty())) {
      int number = static_cast<int>(keys.size()) + 1;
      size_t colon = entry.find(':');
      if (colon == absl::string_view::npos) {
        return absl::InvalidArgumentError(absl::StrCat(
            "master key entry ", number, ": expected ID:BASE64KEY"));
      }
      MasterKey key;
      key.id = std::string(entry.substr(0, colon));
      absl::string_view encoded = entry.substr(colon + 1);
      if (!absl::Base64Unescape(encoded, &key.bytes) &&
          !absl::WebSafeBase64Unescape(encoded, &key.bytes)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "master key entry ", number, ": the key is not base64"));
      }
      keys.push_back(std::move(key));
    }
  }
  return FromKeys(std::move(keys));
}

absl::StatusOr<Keyring> Keyring::FromKeys(std::vector<MasterKey> keys) {
  if (keys.empty()) {
    return absl::InvalidArgumentError("no master key given");
  }
  absl::flat_hash_set<std::string> ids;
  for (const MasterKey& key : keys) {
    if (!ValidKeyId(key.id)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "master key id '", absl::CHexEscape(key.id.substr(0, 32)),
          "' must be 1 to 32 of A-Z a-z 0-9 _ -"));
    }
    if (key.bytes.size() != kMasterKeyBytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "master key '", key.id, "' must be ", kMasterKeyBytes,
          " bytes (base64 of 32 random bytes), not ", key.bytes.size()));
    }
    if (!ids.insert(key.id).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("master key id '", key.id, "' is given twice"));
    }
  }
  return Keyring(std::move(keys));
}

std::string Keyring::Derive(const MasterKey& key, absl::string_view label) {
  return HmacSha256(key.bytes, label);
}

}  // namespace leadrelay::crypto
