// Identifiers, keys, secrets, hashing and constant-time comparison.
#include "common/random_ids.h"

#include <set>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace leadrelay {
namespace {

using ::testing::MatchesRegex;

TEST(NewIdTest, PrefixAndLowerCaseBase32) {
  std::string id = NewId("ld_");
  EXPECT_EQ(id.size(), 3u + 20u);
  EXPECT_THAT(id, MatchesRegex("ld_[a-z2-7]+"));
  EXPECT_EQ(NewId("evt_", 8).size(), 12u);
  EXPECT_EQ(NewId("", 5).size(), 5u);
}

TEST(NewIdTest, IdsDoNotRepeat) {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    EXPECT_TRUE(seen.insert(NewId("x_")).second);
  }
}

TEST(NewIdTest, UsesTheWholeAlphabet) {
  std::set<char> chars;
  for (int i = 0; i < 200; ++i) {
    for (char c : NewId("", 20)) chars.insert(c);
  }
  EXPECT_EQ(chars.size(), 32u);
}

TEST(NewApiKeyTest, Shape) {
  std::string key = NewApiKey();
  EXPECT_THAT(key, MatchesRegex("lr_[a-z2-7]+"));
  EXPECT_EQ(key.size(), 35u);
  EXPECT_NE(key, NewApiKey());
}

TEST(NewWebhookSecretTest, StandardWebhooksShape) {
  std::string secret = NewWebhookSecret();
  ASSERT_TRUE(absl::StartsWith(secret, "whsec_")) << secret;
  std::string raw;
  ASSERT_TRUE(absl::Base64Unescape(secret.substr(6), &raw)) << secret;
  EXPECT_EQ(raw.size(), 24u);
  EXPECT_NE(secret, NewWebhookSecret());
}

TEST(Sha256Test, KnownDigests) {
  EXPECT_EQ(absl::BytesToHexString(Sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(absl::BytesToHexString(Sha256("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256("lr_key").size(), 32u);
}

TEST(ConstantTimeEqualsTest, ComparesBytes) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("secret", "secret"));
  EXPECT_FALSE(ConstantTimeEquals("secret", "secreT"));
  EXPECT_FALSE(ConstantTimeEquals("secret", "secret2"));
  EXPECT_FALSE(ConstantTimeEquals("secret", ""));
  EXPECT_TRUE(
      ConstantTimeEquals(std::string("a\0b", 3), std::string("a\0b", 3)));
  EXPECT_FALSE(
      ConstantTimeEquals(std::string("a\0b", 3), std::string("a\0c", 3)));
}

}  // namespace
}  // namespace leadrelay
