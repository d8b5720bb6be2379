// HMAC-SHA256 against RFC 4231's vectors, including when one thread's
// context is re-keyed from one message to the next.
#include "crypto/hmac.h"

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace leadrelay::crypto {
namespace {

struct Vector {
  std::string key;
  std::string data;
  std::string hex;
};

std::vector<Vector> Vectors() {
  return {
      // RFC 4231 test case 1.
      {std::string(20, '\x0b'), "Hi There",
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      // Test case 2: a key shorter than the output.
      {"Jefe", "what do ya want for nothing?",
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      // Test case 6: a key longer than SHA-256's block, hashed first.
      {std::string(131, '\xaa'),
       "Test Using Larger Than Block-Size Key - Hash Key First",
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
      // The empty key and message.
      {"", "",
       "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad"},
  };
}

TEST(HmacSha256Test, MatchesRfc4231) {
  for (const Vector& v : Vectors()) {
    EXPECT_EQ(absl::BytesToHexString(HmacSha256(v.key, v.data)), v.hex)
        << "key of " << v.key.size() << " bytes";
  }
}

TEST(HmacSha256Test, EachMessageUsesItsOwnKeyOnAReusedContext) {
  std::vector<Vector> vectors = Vectors();
  // Every order of two vectors, the empty key after a non-empty one too:
  // nothing of the previous key may carry over.
  for (const Vector& first : vectors) {
    for (const Vector& second : vectors) {
      ASSERT_EQ(absl::BytesToHexString(HmacSha256(first.key, first.data)),
                first.hex);
      EXPECT_EQ(absl::BytesToHexString(HmacSha256(second.key, second.data)),
                second.hex);
    }
    // A key with no bytes behind it at all (a default string_view).
    ASSERT_EQ(absl::BytesToHexString(HmacSha256(first.key, first.data)),
              first.hex);
    EXPECT_EQ(absl::BytesToHexString(HmacSha256(absl::string_view(), "")),
              vectors.back().hex);
  }
}

TEST(HmacSha256Test, ThreadsComputeConcurrently) {
  std::vector<Vector> vectors = Vectors();
  std::vector<int> wrong(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        const Vector& v = vectors[(i + t) % vectors.size()];
        if (absl::BytesToHexString(HmacSha256(v.key, v.data)) != v.hex) {
          ++wrong[t];
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(wrong[t], 0) << "thread " << t;
}

}  // namespace
}  // namespace leadrelay::crypto
