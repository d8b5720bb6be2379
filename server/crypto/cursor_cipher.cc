#include "crypto/cursor_cipher.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstdlib>
#include <memory>

#include "absl/strings/escaping.h"
#include "crypto/hmac.h"

namespace leadrelay::crypto {
namespace {

constexpr int kBlock = 16;
constexpr int kTagBytes = 8;

using CipherContext =
    std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

// One AES-256 block, no padding: the block cipher as a permutation.
bool CryptBlock(const std::string& key, const unsigned char* in,
                unsigned char* out, bool encrypt) {
  CipherContext ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  int length = 0;
  return ctx != nullptr &&
         EVP_CipherInit_ex(ctx.get(), EVP_aes_256_ecb(), nullptr,
                           reinterpret_cast<const unsigned char*>(key.data()),
                           nullptr, encrypt ? 1 : 0) == 1 &&
         EVP_CIPHER_CTX_set_padding(ctx.get(), 0) == 1 &&
         EVP_CipherUpdate(ctx.get(), out, &length, in, kBlock) == 1 &&
         length == kBlock;
}

void AccountTag(const std::string& key, absl::string_view account_id,
                unsigned char* out) {
  std::string mac = HmacSha256(key, account_id);
  std::copy(mac.begin(), mac.begin() + kTagBytes, out);
}

}  // namespace

CursorCipher::CursorCipher(const Keyring& keyring) {
  for (const MasterKey& key : keyring.keys()) {
    keys_.push_back({Keyring::Derive(key, "leadrelay cursor-block v1"),
                     Keyring::Derive(key, "leadrelay cursor-account v1")});
  }
}

std::string CursorCipher::Seal(absl::string_view account_id,
                               int64_t seq) const {
  const Keys& keys = keys_.front();
  unsigned char block[kBlock];
  auto value = static_cast<uint64_t>(seq);
  for (int i = 0; i < 8; ++i) block[i] = (value >> (56 - 8 * i)) & 0xff;
  AccountTag(keys.tag_key, account_id, block + 8);
  unsigned char sealed[kBlock];
  // AES on a fixed-size block cannot fail with a valid key; a cursor that
  // leaked the position in clear would be worse than stopping.
  if (!CryptBlock(keys.block_key, block, sealed, true)) std::abort();
  return absl::WebSafeBase64Escape(
      absl::string_view(reinterpret_cast<char*>(sealed), kBlock));
}

std::optional<int64_t> CursorCipher::Open(absl::string_view account_id,
                                          absl::string_view cursor) const {
  std::string raw;
  if (cursor.size() != 22 || !absl::WebSafeBase64Unescape(cursor, &raw) ||
      raw.size() != kBlock || absl::WebSafeBase64Escape(raw) != cursor) {
    return std::nullopt;  // one spelling per cursor
  }
  for (const Keys& keys : keys_) {
    unsigned char block[kBlock];
    if (!CryptBlock(keys.block_key,
                    reinterpret_cast<const unsigned char*>(raw.data()), block,
                    false)) {
      return std::nullopt;
    }
    unsigned char tag[kTagBytes];
    AccountTag(keys.tag_key, account_id, tag);
    if (CRYPTO_memcmp(tag, block + 8, kTagBytes) != 0) continue;
    uint64_t value = 0;
    for (int i = 0; i < 8; ++i) value = (value << 8) | block[i];
    if (value > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<int64_t>(value);
  }
  return std::nullopt;
}

}  // namespace leadrelay::crypto
