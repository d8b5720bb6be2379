// Webhook URL parsing and the https-only rule; caller-chosen secrets.
#include "domain/webhook_rules.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/random_ids.h"
#include "common/status_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace leadrelay::domain {
namespace {

using ::testing::HasSubstr;

// ParseHttpUrl

TEST(ParseHttpUrlTest, SplitsAnOrdinaryUrl) {
  auto url = ParseHttpUrl("https://hooks.example.com/in/leads?src=lr#frag");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->scheme, "https");
  EXPECT_EQ(url->host, "hooks.example.com");
  EXPECT_EQ(url->port, 0);
  EXPECT_EQ(url->path, "/in/leads?src=lr");  // fragment is never sent
}

TEST(ParseHttpUrlTest, LowerCasesSchemeAndHostButNotPath) {
  auto url = ParseHttpUrl("HTTPS://Hooks.Example.COM./CaseSensitive");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->scheme, "https");
  EXPECT_EQ(url->host, "hooks.example.com");  // trailing dot dropped too
  EXPECT_EQ(url->path, "/CaseSensitive");
}

TEST(ParseHttpUrlTest, PathDefaultsToSlash) {
  EXPECT_EQ(ParseHttpUrl("https://example.com")->path, "/");
  EXPECT_EQ(ParseHttpUrl("https://example.com?x=1")->path, "/?x=1");
  EXPECT_EQ(ParseHttpUrl("https://example.com#top")->path, "/");
}

TEST(ParseHttpUrlTest, ExplicitPort) {
  auto url = ParseHttpUrl("https://example.com:8443/hook");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->host, "example.com");
  EXPECT_EQ(url->port, 8443);
  EXPECT_EQ(ParseHttpUrl("http://example.com:1/")->port, 1);
  EXPECT_EQ(ParseHttpUrl("http://example.com:65535/")->port, 65535);
}

TEST(ParseHttpUrlTest, BadPortsAreRejected) {
  for (const char* bad :
       {"https://example.com:0/", "https://example.com:65536/",
        "https://example.com:https/", "https://example.com:-1/",
        "https://example.com:99999999999999999999/"}) {
    absl::Status s = ParseHttpUrl(bad).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(s.message(), HasSubstr("port")) << bad;
  }
}

TEST(ParseHttpUrlTest, Ipv6Literals) {
  auto url = ParseHttpUrl("https://[2001:db8::1]:8443/hook");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->host, "2001:db8::1");
  EXPECT_EQ(url->port, 8443);
  EXPECT_EQ(url->path, "/hook");

  url = ParseHttpUrl("http://[::1]/");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->port, 0);

  url = ParseHttpUrl("https://[FE80::AB]");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->host, "fe80::ab");
  EXPECT_EQ(url->path, "/");
}

TEST(ParseHttpUrlTest, MalformedIpv6Literals) {
  EXPECT_THAT(ParseHttpUrl("https://[::1/hook").status().message(),
              HasSubstr("unclosed"));
  EXPECT_THAT(ParseHttpUrl("https://[::1]8443/").status().message(),
              HasSubstr("junk"));
  EXPECT_FALSE(ParseHttpUrl("https://[]/").ok());
}

TEST(ParseHttpUrlTest, Ipv4Literal) {
  auto url = ParseHttpUrl("http://127.0.0.1:9000/cb");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->host, "127.0.0.1");
  EXPECT_EQ(url->port, 9000);
}

TEST(ParseHttpUrlTest, RejectsNonUrls) {
  struct Case {
    const char* url;
    const char* why;
  };
  for (const Case& c : std::vector<Case>{
           {"", "required"},
           {"example.com/hook", "missing scheme"},
           {"ftp://example.com/", "scheme"},
           {"javascript://example.com/", "scheme"},
           {"https:///hook", "missing host"},
           {"https://", "missing host"},
           {"https://:443/", "missing host"},
           {"https://user:pw@example.com/", "credentials"},
           {"https://example.com/a b", "spaces"},
           {"https://example.com/\tx", "spaces"},
           {"https://exämple.com/", "non-ASCII"},
       }) {
    absl::Status s = ParseHttpUrl(c.url).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.url;
    EXPECT_THAT(s.message(), HasSubstr(c.why)) << c.url;
    EXPECT_EQ(ReasonOf(s), "invalid_request");
  }
}

TEST(ParseHttpUrlTest, LengthCap) {
  std::string prefix = "https://example.com/";
  EXPECT_TRUE(
      ParseHttpUrl(prefix + std::string(2048 - prefix.size(), 'a')).ok());
  absl::Status s =
      ParseHttpUrl(prefix + std::string(2049 - prefix.size(), 'a')).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("2048"));
}

// KNOWN BUG (server/domain/webhook_rules.cc, ParseHttpUrl): the host is not
// checked after the trailing dot is dropped nor for stray colons, so URLs no
// delivery can ever reach are accepted and registered. Enable once fixed.
TEST(ParseHttpUrlTest, RejectsHostsThatAreNotHostnames) {
  for (const char* bad : {"https://./",                    // host becomes ""
                          "https://::1/",                  // unbracketed IPv6
                          "https://example.com:443:443/",  // host "x:443"
                          "https://exa%20mple.com/"}) {
    EXPECT_FALSE(ParseHttpUrl(bad).ok()) << bad;
    EXPECT_FALSE(ValidateWebhookUrl(bad, {}).ok()) << bad;
  }
}

// ValidateWebhookUrl

TEST(ValidateWebhookUrlTest, HttpsIsAccepted) {
  EXPECT_TRUE(ValidateWebhookUrl("https://example.com/hook", {}).ok());
  EXPECT_TRUE(ValidateWebhookUrl("HTTPS://example.com", {}).ok());
}

TEST(ValidateWebhookUrlTest, PlainHttpIsRejected) {
  absl::Status s = ValidateWebhookUrl("http://example.com", {});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("https"));
  EXPECT_FALSE(ValidateWebhookUrl("http://localhost:8080/", {}).ok());
}

TEST(ValidateWebhookUrlTest, HttpAllowedForAllowListedHostOnly) {
  const std::vector<std::string> allowed = {"localhost", "127.0.0.1", "::1"};
  EXPECT_TRUE(ValidateWebhookUrl("http://localhost:8080/hook", allowed).ok());
  EXPECT_TRUE(ValidateWebhookUrl("http://LOCALHOST/hook", allowed).ok());
  EXPECT_TRUE(ValidateWebhookUrl("http://127.0.0.1:9/", allowed).ok());
  EXPECT_TRUE(ValidateWebhookUrl("http://[::1]:9/", allowed).ok());
  EXPECT_TRUE(ValidateWebhookUrl("https://localhost/", allowed).ok());
  EXPECT_FALSE(ValidateWebhookUrl("http://example.com/", allowed).ok());
  EXPECT_FALSE(ValidateWebhookUrl("http://localhost.evil.com/", allowed).ok());
  EXPECT_FALSE(ValidateWebhookUrl("http://evil-localhost/", allowed).ok());
}

// A resolver reads these as 127.0.0.1 / 10.0.0.1: refused at registration,
// not only when the delivery connects.
TEST(ValidateWebhookUrlTest, LegacyIpv4FormsAreJudgedByTheirAddress) {
  for (const char* url :
       {"https://127.1/", "https://2130706433/", "https://0x7f.1/",
        "https://017700000001/", "https://10.1/", "https://0xa000001/"}) {
    absl::Status s = ValidateWebhookUrl(url, {});
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << url;
    EXPECT_THAT(s.message(), HasSubstr("public address")) << url;
  }
  EXPECT_TRUE(ValidateWebhookUrl("https://134744072/", {}).ok());  // 8.8.8.8
  EXPECT_TRUE(ValidateWebhookUrl("https://1e100.net/", {}).ok());
}

TEST(ValidateWebhookUrlTest, AllowListDoesNotExcuseMalformedUrls) {
  EXPECT_FALSE(ValidateWebhookUrl("ftp://localhost/", {"localhost"}).ok());
  EXPECT_FALSE(ValidateWebhookUrl("http://u:p@localhost/", {"localhost"}).ok());
}

// ValidateWebhookSecret

TEST(ValidateWebhookSecretTest, LengthBetween16And128) {
  EXPECT_FALSE(ValidateWebhookSecret("").ok());
  EXPECT_FALSE(ValidateWebhookSecret(std::string(15, 'k')).ok());
  EXPECT_TRUE(ValidateWebhookSecret(std::string(16, 'k')).ok());
  EXPECT_TRUE(ValidateWebhookSecret(std::string(128, 'k')).ok());
  absl::Status s = ValidateWebhookSecret(std::string(129, 'k'));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("16 to 128"));
}

TEST(ValidateWebhookSecretTest, PrintableAsciiWithoutSpaces) {
  EXPECT_TRUE(ValidateWebhookSecret("!\"#$%&'()*+,-./0123456789:;<=>?@~").ok());
  EXPECT_FALSE(ValidateWebhookSecret("correct horse battery staple").ok());
  EXPECT_FALSE(ValidateWebhookSecret("tab\tinside-the-secret").ok());
  EXPECT_FALSE(ValidateWebhookSecret("non-ascii-s\xC3\xA9"
                                     "cret-value")
                   .ok());
  EXPECT_FALSE(
      ValidateWebhookSecret(std::string("nul\0in-the-secret", 17)).ok());
}

TEST(ValidateWebhookSecretTest, GeneratedSecretsWouldBeAcceptedToo) {
  for (int i = 0; i < 50; ++i) {
    std::string secret = NewWebhookSecret();
    EXPECT_TRUE(ValidateWebhookSecret(secret).ok()) << secret;
  }
}

// SecretHint

TEST(SecretHintTest, GeneratedShowsPrefixAndFourCharacters) {
  EXPECT_EQ(SecretHint("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", true),
            "whsec_MfKQ");
}

TEST(SecretHintTest, CustomRevealsNothing) {
  for (const char* secret :
       {"my-own-secret-value-123", "whsec_lookslikeagenerated000000000000"}) {
    std::string hint = SecretHint(secret, false);
    EXPECT_EQ(hint, "(custom)") << secret;
  }
}

}  // namespace
}  // namespace leadrelay::domain
