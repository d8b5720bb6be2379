// Webhook secrets at rest: AES-256-GCM with the key id beside the
// ciphertext; master keys parsed from the key file format.
#include "crypto/secret_box.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "crypto/keyring.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace leadrelay::crypto {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string Key(char fill) { return std::string(kMasterKeyBytes, fill); }

Keyring KeysOf(std::vector<std::pair<std::string, char>> keys) {
  std::vector<MasterKey> out;
  for (auto& [id, fill] : keys) out.push_back({id, Key(fill)});
  auto keyring = Keyring::FromKeys(std::move(out));
  EXPECT_TRUE(keyring.ok()) << keyring.status();
  return *keyring;
}

constexpr char kSecret[] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

TEST(SecretBoxTest, RoundTripsUnderTheActiveKey) {
  SecretBox box(KeysOf({{"k1", 'a'}}));
  auto sealed = box.Seal(kSecret, "webhook wh_1");
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  EXPECT_EQ(sealed->key_id, "k1");
  EXPECT_THAT(sealed->ciphertext, Not(HasSubstr("whsec_")));
  EXPECT_EQ(sealed->ciphertext.size(), 12 + sizeof(kSecret) - 1 + 16);
  auto opened = box.Open(*sealed, "webhook wh_1");
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, kSecret);
}

TEST(SecretBoxTest, EachSealUsesAFreshNonce) {
  SecretBox box(KeysOf({{"k1", 'a'}}));
  EXPECT_NE(box.Seal(kSecret, "c")->ciphertext,
            box.Seal(kSecret, "c")->ciphertext);
}

TEST(SecretBoxTest, WrongKeyFailsAuthentication) {
  auto sealed = SecretBox(KeysOf({{"k1", 'a'}})).Seal(kSecret, "c");
  ASSERT_TRUE(sealed.ok());
  // Same id, other bytes: the tag does not verify.
  auto opened = SecretBox(KeysOf({{"k1", 'b'}})).Open(*sealed, "c");
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kDataLoss);
}

TEST(SecretBoxTest, UnknownKeyIdIsNamed) {
  auto sealed = SecretBox(KeysOf({{"k1", 'a'}})).Seal(kSecret, "c");
  auto opened = SecretBox(KeysOf({{"k2", 'a'}})).Open(*sealed, "c");
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(opened.status().message(), HasSubstr("'k1'"));
  EXPECT_THAT(opened.status().message(), Not(HasSubstr(kSecret)));
}

TEST(SecretBoxTest, TamperingAnyPartFails) {
  SecretBox box(KeysOf({{"k1", 'a'}}));
  SealedSecret sealed = *box.Seal(kSecret, "webhook wh_1");
  for (size_t i = 0; i < sealed.ciphertext.size(); ++i) {
    SealedSecret altered = sealed;
    altered.ciphertext[i] ^= 0x01;
    EXPECT_EQ(box.Open(altered, "webhook wh_1").status().code(),
              absl::StatusCode::kDataLoss)
        << "byte " << i;
  }
  SealedSecret truncated = sealed;
  truncated.ciphertext.resize(20);
  EXPECT_EQ(box.Open(truncated, "webhook wh_1").status().code(),
            absl::StatusCode::kDataLoss);
  // Moved to another row: the context no longer matches.
  EXPECT_EQ(box.Open(sealed, "webhook wh_2").status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(SecretBoxTest, KeyIdIsAuthenticated) {
  // Both keys loaded with equal bytes: relabelling the key id must still
  // fail, since the id is part of the authenticated data.
  SecretBox box(KeysOf({{"k1", 'a'}, {"k2", 'a'}}));
  SealedSecret sealed = *box.Seal(kSecret, "c");
  sealed.key_id = "k2";
  EXPECT_EQ(box.Open(sealed, "c").status().code(), absl::StatusCode::kDataLoss);
}

TEST(SecretBoxTest, RotationSealsWithNewKeyAndOpensOld) {
  SealedSecret old = *SecretBox(KeysOf({{"k1", 'a'}})).Seal(kSecret, "c");
  SecretBox rotated(KeysOf({{"k2", 'b'}, {"k1", 'a'}}));
  EXPECT_EQ(rotated.active_key_id(), "k2");
  EXPECT_EQ(*rotated.Open(old, "c"), kSecret);
  SealedSecret fresh = *rotated.Seal(kSecret, "c");
  EXPECT_EQ(fresh.key_id, "k2");
  EXPECT_EQ(*SecretBox(KeysOf({{"k2", 'b'}})).Open(fresh, "c"), kSecret);
}

TEST(KeyringTest, ParsesTheKeyFileFormat) {
  std::string k1 = absl::Base64Escape(Key('a'));
  std::string k2 = absl::WebSafeBase64Escape(Key('b'));
  auto keyring = Keyring::Parse("# master keys\nk2:" + k2 +
                                "  # active\n\nk1:" + k1 + "\n");
  ASSERT_TRUE(keyring.ok()) << keyring.status();
  ASSERT_EQ(keyring->keys().size(), 2u);
  EXPECT_EQ(keyring->active().id, "k2");
  EXPECT_EQ(keyring->active().bytes, Key('b'));
  EXPECT_EQ(keyring->keys()[1].bytes, Key('a'));
  // Comma-separated (an environment variable) works too.
  auto env = Keyring::Parse("k2:" + k2 + ",k1:" + k1);
  ASSERT_TRUE(env.ok()) << env.status();
  EXPECT_EQ(env->keys().size(), 2u);
}

TEST(KeyringTest, RejectsBadEntriesWithoutQuotingKeys) {
  std::string good = absl::Base64Escape(Key('a'));
  std::string short_key = absl::Base64Escape(std::string(16, 'z'));
  for (const std::string& text :
       {std::string(""), std::string("# nothing\n"), "no-colon" + good,
        "k1:" + short_key, std::string("k1:not*base64"), "bad id:" + good,
        "k1:" + good + "\nk1:" + good, ":" + good}) {
    auto keyring = Keyring::Parse(text);
    EXPECT_EQ(keyring.status().code(), absl::StatusCode::kInvalidArgument)
        << text;
    EXPECT_THAT(keyring.status().message(), Not(HasSubstr(short_key)));
    EXPECT_THAT(keyring.status().message(), Not(HasSubstr(good)));
  }
}

TEST(KeyringTest, DerivedKeysDifferByPurposeAndMasterKey) {
  MasterKey a{"a", Key('a')};
  MasterKey b{"b", Key('b')};
  EXPECT_EQ(Keyring::Derive(a, "x").size(), 32u);
  EXPECT_NE(Keyring::Derive(a, "x"), Keyring::Derive(a, "y"));
  EXPECT_NE(Keyring::Derive(a, "x"), Keyring::Derive(b, "x"));
  EXPECT_NE(Keyring::Derive(a, "x"), a.bytes);
}

}  // namespace
}  // namespace leadrelay::crypto
