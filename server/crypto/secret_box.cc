#include "crypto/secret_box.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <memory>

#include "absl/strings/str_cat.h"

namespace leadrelay::crypto {
namespace {

constexpr char kLabel[] = "leadrelay secret-box v1";
constexpr int kNonceBytes = 12;
constexpr int kTagBytes = 16;

using CipherContext =
    std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

const unsigned char* Bytes(absl::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// The authenticated data: the key id and the caller's context, each
// length-prefixed so that no two pairs encode alike.
std::string AssociatedData(absl::string_view key_id,
                           absl::string_view context) {
  return absl::StrCat(key_id.size(), ":", key_id, context.size(), ":", context);
}

}  // namespace

SecretBox::SecretBox(const Keyring& keyring) {
  for (const MasterKey& key : keyring.keys()) {
    keys_.emplace_back(key.id, Keyring::Derive(key, kLabel));
  }
}

absl::StatusOr<SealedSecret> SecretBox::Seal(absl::string_view plaintext,
                                             absl::string_view context) const {
  const auto& [key_id, key] = keys_.front();
  std::string out(kNonceBytes + plaintext.size() + kTagBytes, '\0');
  auto* nonce = reinterpret_cast<unsigned char*>(out.data());
  if (RAND_bytes(nonce, kNonceBytes) != 1) {
    return absl::InternalError("no randomness for a nonce");
  }
  std::string aad = AssociatedData(key_id, context);
  CipherContext ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  int length = 0;
  int total = 0;
  unsigned char* body = nonce + kNonceBytes;
  if (ctx == nullptr ||
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, Bytes(key),
                         nonce) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &length, Bytes(aad),
                        static_cast<int>(aad.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), body, &length, Bytes(plaintext),
                        static_cast<int>(plaintext.size())) != 1) {
    return absl::InternalError("AES-GCM encryption failed");
  }
  total = length;
  if (EVP_EncryptFinal_ex(ctx.get(), body + total, &length) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes,
                          body + total + length) != 1) {
    return absl::InternalError("AES-GCM encryption failed");
  }
  return SealedSecret{key_id, std::move(out)};
}

absl::StatusOr<std::string> SecretBox::Open(const SealedSecret& sealed,
                                            absl::string_view context) const {
  const std::string* key = nullptr;
  for (const auto& [id, k] : keys_) {
    if (id == sealed.key_id) key = &k;
  }
  if (key == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("master key '", sealed.key_id,
                     "' is not loaded; add it to the key file to decrypt"));
  }
  const std::string& in = sealed.ciphertext;
  if (in.size() < kNonceBytes + kTagBytes) {
    return absl::DataLossError("sealed secret is truncated");
  }
  size_t body_size = in.size() - kNonceBytes - kTagBytes;
  std::string plaintext(body_size, '\0');
  std::string tag = in.substr(kNonceBytes + body_size);
  std::string aad = AssociatedData(sealed.key_id, context);
  CipherContext ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  int length = 0;
  auto* out = reinterpret_cast<unsigned char*>(plaintext.data());
  if (ctx == nullptr ||
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, Bytes(*key),
                         Bytes(in)) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &length, Bytes(aad),
                        static_cast<int>(aad.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), out, &length, Bytes(in) + kNonceBytes,
                        static_cast<int>(body_size)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes,
                          tag.data()) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), out + length, &length) != 1) {
    return absl::DataLossError(
        "sealed secret failed authentication (altered or wrong key)");
  }
  return plaintext;
}

}  // namespace leadrelay::crypto
