#include "common/random_ids.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cstdlib>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace leadrelay {
std::string RandomBytes(int n) {
  std::string out(n, '\0');
  // RAND_bytes only fails when the CSPRNG cannot be seeded; running on
  // predictable ids or keys would be worse than stopping.
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), n) != 1) {
    std::abort();
  }
  return out;
}

std::string NewId(absl::string_view prefix, int chars) {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
  std::string random = RandomBytes(chars);
  std::string out(prefix);
  out.reserve(prefix.size() + chars);
  for (unsigned char c : random) out.push_back(kAlphabet[c & 31]);
  return out;
}

std::string NewApiKey() { return NewId("lr_", 32); }

std::string NewWebhookSecret() {
  return absl::StrCat("whsec_", absl::Base64Escape(RandomBytes(24)));
}

std::string Sha256(absl::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(),
         digest);
  return std::string(reinterpret_cast<char*>(digest), sizeof(digest));
}

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace leadrelay
