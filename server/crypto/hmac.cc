#include "crypto/hmac.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <cstdlib>

#include "common/log.h"

namespace leadrelay::crypto {
namespace {

// OpenSSL 3's one-shot HMAC() looks the algorithm up in the provider store
// (under a process-wide lock) and builds a context on every call: ~40% of
// the signing cost of a webhook delivery, which signs twice per secret. One
// context per thread, set to SHA-256 once, is re-keyed for each message
// instead.
class ThreadMac {
 public:
  ThreadMac() {
    EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (mac != nullptr) {
      ctx_ = EVP_MAC_CTX_new(mac);  // holds its own reference to `mac`
      EVP_MAC_free(mac);
    }
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end()};
    if (ctx_ == nullptr || EVP_MAC_CTX_set_params(ctx_, params) != 1) {
      Fail();
    }
  }
  ~ThreadMac() { EVP_MAC_CTX_free(ctx_); }
  ThreadMac(const ThreadMac&) = delete;
  ThreadMac& operator=(const ThreadMac&) = delete;

  std::string Compute(absl::string_view key, absl::string_view data) {
    // A null key would make EVP_MAC_init keep the previous message's key.
    static const unsigned char kNoKey = 0;
    const unsigned char* key_bytes =
        key.empty() ? &kNoKey
                    : reinterpret_cast<const unsigned char*>(key.data());
    unsigned char out[EVP_MAX_MD_SIZE];
    size_t length = 0;
    if (EVP_MAC_init(ctx_, key_bytes, key.size(), nullptr) != 1 ||
        EVP_MAC_update(ctx_,
                       reinterpret_cast<const unsigned char*>(data.data()),
                       data.size()) != 1 ||
        EVP_MAC_final(ctx_, out, &length, sizeof(out)) != 1) {
      Fail();
    }
    return std::string(reinterpret_cast<char*>(out), length);
  }

 private:
  // Only when OpenSSL has no SHA-256 HMAC or cannot allocate: nothing could
  // be signed or sealed, and a wrong MAC must never go out as a right one.
  [[noreturn]] static void Fail() {
    LogError("OpenSSL could not compute HMAC-SHA256; stopping");
    std::abort();
  }

  EVP_MAC_CTX* ctx_ = nullptr;
};

}  // namespace

std::string HmacSha256(absl::string_view key, absl::string_view data) {
  thread_local ThreadMac mac;
  return mac.Compute(key, data);
}

}  // namespace leadrelay::crypto
