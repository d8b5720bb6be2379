// Event-log cursors: opaque, URL-safe, bound to one account, and strict on
// the way back in (through store::EncodeCursor/DecodeCursor, the one place
// the server makes and reads them).
#include <bitset>
#include <cstdint>
#include <limits>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "common/status_util.h"
#include "crypto/cursor_cipher.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "store/events_repo.h"

namespace leadrelay::store {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

crypto::Keyring KeysOf(std::vector<std::pair<std::string, char>> keys) {
  std::vector<crypto::MasterKey> out;
  for (auto& [id, fill] : keys) out.push_back({id, std::string(32, fill)});
  return *crypto::Keyring::FromKeys(std::move(out));
}

constexpr char kAccount[] = "acct_a";
constexpr char kOther[] = "acct_b";

TEST(CursorTest, RoundTrips) {
  for (int64_t seq : {int64_t{0}, int64_t{1}, int64_t{42}, int64_t{1} << 40,
                      std::numeric_limits<int64_t>::max()}) {
    std::string cursor = EncodeCursor(kAccount, {seq});
    auto decoded = DecodeCursor(kAccount, cursor);
    ASSERT_TRUE(decoded.ok()) << seq << ": " << decoded.status();
    EXPECT_EQ(decoded->seq, seq);
    EXPECT_EQ(EncodeCursor(kAccount, {seq}), cursor) << "deterministic";
  }
}

TEST(CursorTest, IsUrlSafeAndRevealsNoPosition) {
  std::string previous;
  for (int64_t seq = 1; seq <= 64; ++seq) {
    std::string cursor = EncodeCursor(kAccount, {seq});
    EXPECT_THAT(cursor, MatchesRegex("[A-Za-z0-9_-]{22}")) << cursor;
    std::string raw;
    ASSERT_TRUE(absl::WebSafeBase64Unescape(cursor, &raw));
    ASSERT_EQ(raw.size(), 16u);
    // Neighbouring positions look unrelated: about half of the 128 bits
    // differ (a plain or XOR-masked counter would differ in a few).
    if (!previous.empty()) {
      int bits = 0;
      for (int i = 0; i < 16; ++i) {
        bits += static_cast<int>(
            std::bitset<8>(static_cast<unsigned char>(raw[i] ^ previous[i]))
                .count());
      }
      EXPECT_GE(bits, 24) << seq;
    }
    previous = raw;
  }
}

TEST(CursorTest, AnotherAccountsCursorIsInvalid) {
  std::string cursor = EncodeCursor(kAccount, {77});
  EXPECT_NE(EncodeCursor(kOther, {77}), cursor);
  absl::Status s = DecodeCursor(kOther, cursor).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReasonOf(s), "invalid_request");
}

TEST(CursorTest, GarbageAndForgeriesAreInvalidArgument) {
  std::string good = EncodeCursor(kAccount, {5});
  std::string flipped = good;
  flipped[3] = flipped[3] == 'A' ? 'B' : 'A';
  for (const std::string& bad : {
           std::string(""),
           std::string("not a cursor"),
           std::string("12345"),
           std::string("!!!!"),
           absl::WebSafeBase64Escape("e1:5"),  // the old format
           absl::WebSafeBase64Escape(std::string(16, '\0')),
           flipped,
           good + "A",
           good.substr(1),
       }) {
    absl::Status s = DecodeCursor(kAccount, bad).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(ReasonOf(s), "invalid_request") << bad;
    EXPECT_THAT(s.message(), HasSubstr("cursor")) << bad;
  }
}

TEST(CursorCipherTest, OlderKeysStillOpenAfterRotation) {
  crypto::CursorCipher old_keys(KeysOf({{"k1", 'a'}}));
  crypto::CursorCipher rotated(KeysOf({{"k2", 'b'}, {"k1", 'a'}}));
  crypto::CursorCipher new_only(KeysOf({{"k2", 'b'}}));
  std::string issued = old_keys.Seal(kAccount, 1234);
  EXPECT_EQ(rotated.Open(kAccount, issued), 1234);
  EXPECT_EQ(new_only.Open(kAccount, issued), std::nullopt);
  // The active key seals; every loaded key opens.
  std::string fresh = rotated.Seal(kAccount, 99);
  EXPECT_NE(fresh, old_keys.Seal(kAccount, 99));
  EXPECT_EQ(new_only.Open(kAccount, fresh), 99);
  EXPECT_EQ(old_keys.Open(kAccount, fresh), std::nullopt);
}

TEST(CursorCipherTest, SetCursorKeysChangesTheCursors) {
  std::string before = EncodeCursor(kAccount, {8});
  SetCursorKeys(KeysOf({{"unit", 'u'}}));
  std::string after = EncodeCursor(kAccount, {8});
  EXPECT_NE(before, after);
  EXPECT_EQ(after,
            crypto::CursorCipher(KeysOf({{"unit", 'u'}})).Seal(kAccount, 8));
  auto decoded = DecodeCursor(kAccount, after);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->seq, 8);
}

}  // namespace
}  // namespace leadrelay::store
