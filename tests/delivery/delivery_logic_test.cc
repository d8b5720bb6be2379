// The dispatcher's pure logic, checked against values computed here:
// signatures (recomputed with OpenSSL), retry decisions, Retry-After and
// schedule parsing, the payload envelope, and the address policy.

#include <arpa/inet.h>
#include <netinet/in.h>

#include <map>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "delivery/payload.h"
#include "delivery/retry_policy.h"
#include "delivery/signing.h"
#include "delivery/test_crypto.h"
#include "domain/address_policy.h"
#include "gtest/gtest.h"
#include "leadrelay/v1/event.pb.h"

namespace leadrelay::dtest {
namespace {

using delivery::AttemptOutcome;
using delivery::Decide;
using delivery::RetryPolicy;
using delivery::Verdict;

// --- Signing ---------------------------------------------------------------

TEST(SigningTest, HexSignatureIsHmacOfTheRawBodyKeyedByTheSecretString) {
  const std::string secret = "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ=";
  const std::string body = R"({"event":"lead.new","data":{"a":"é"}})";
  EXPECT_EQ(delivery::HexBodySignature(secret, body),
            LowerHex(HmacSha256Raw(secret, body)));
  // A well-known vector (RFC 4231 test case 2).
  EXPECT_EQ(delivery::HexBodySignature("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(SigningTest, StandardWebhooksSignatureIsKeyedByTheDecodedSecret) {
  const std::string raw_key = "0123456789abcdef0123456789abcdef";
  const std::string secret = "whsec_" + Base64Encode(raw_key);
  const std::string body = R"({"x":1})";
  std::string expected =
      "v1," + Base64Encode(HmacSha256Raw(raw_key, "msg_1.1700000000." + body));
  EXPECT_EQ(
      delivery::StandardWebhooksSignature(secret, "msg_1", 1700000000, body),
      expected);
  // The Standard Webhooks reference vector.
  EXPECT_EQ(delivery::StandardWebhooksSignature(
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                R"({"test": 2432232314})"),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

TEST(SigningTest, SignedHeadersCarryBothSchemesAndEverySecretDuringRotation) {
  const std::string next = "whsec_" + Base64Encode("new-key-new-key-new-key!");
  const std::string old = "an-own-secret-of-32-characters!!";
  const std::string body = R"({"event":"dm.sent"})";
  auto headers = delivery::SignedHeaders({next, old}, "dlv_1", "dm.sent",
                                         1700000001, body);
  std::map<std::string, std::string> h(headers.begin(), headers.end());
  EXPECT_EQ(h["X-LeadRelay-Signature"], LowerHex(HmacSha256Raw(next, body)) +
                                            " " +
                                            LowerHex(HmacSha256Raw(old, body)));
  const std::string content = "dlv_1.1700000001." + body;
  EXPECT_EQ(
      h["webhook-signature"],
      "v1," + Base64Encode(HmacSha256Raw("new-key-new-key-new-key!", content)) +
          " v1," + Base64Encode(HmacSha256Raw(old, content)));
  EXPECT_EQ(h["webhook-id"], "dlv_1");
  EXPECT_EQ(h["X-LeadRelay-Delivery"], "dlv_1");
  EXPECT_EQ(h["webhook-timestamp"], "1700000001");
  EXPECT_EQ(h["X-LeadRelay-Timestamp"], "1700000001");
  EXPECT_EQ(h["X-LeadRelay-Event"], "dm.sent");
  EXPECT_EQ(h["Content-Type"], "application/json");
}

// --- Retry policy
// -------------------------------------------------------------

RetryPolicy NoJitter(std::vector<absl::Duration> schedule) {
  RetryPolicy p;
  p.schedule = std::move(schedule);
  p.jitter = 0;
  return p;
}

AttemptOutcome Http(int status) {
  AttemptOutcome o;
  o.http_status = status;
  return o;
}

TEST(RetryPolicyTest, DefaultScheduleIsTheSeeds) {
  RetryPolicy p;
  EXPECT_EQ(p.schedule,
            (std::vector<absl::Duration>{absl::Minutes(1), absl::Minutes(5),
                                         absl::Minutes(30), absl::Hours(2),
                                         absl::Hours(12)}));
  EXPECT_DOUBLE_EQ(p.jitter, 0.2);
}

TEST(RetryPolicyTest, Only2xxSucceeds) {
  RetryPolicy p = NoJitter({absl::Seconds(1)});
  absl::Time now = absl::FromUnixSeconds(1000);
  for (int status : {200, 201, 204, 299}) {
    EXPECT_EQ(Decide(p, Http(status), 1, now, 0.5).verdict, Verdict::kSucceeded)
        << status;
  }
  for (int status : {100, 301, 302, 304, 400, 401, 404, 429, 500, 503}) {
    EXPECT_EQ(Decide(p, Http(status), 1, now, 0.5).verdict, Verdict::kRetry)
        << status;
  }
  AttemptOutcome network;
  network.network_error = true;
  EXPECT_EQ(Decide(p, network, 1, now, 0.5).verdict, Verdict::kRetry);
}

TEST(RetryPolicyTest, FollowsTheScheduleThenFails) {
  RetryPolicy p = NoJitter({absl::Minutes(1), absl::Minutes(5)});
  absl::Time now = absl::FromUnixSeconds(1000);
  auto first = Decide(p, Http(500), 1, now, 0.9);
  EXPECT_EQ(first.verdict, Verdict::kRetry);
  EXPECT_EQ(first.next_attempt_at, now + absl::Minutes(1));
  auto second = Decide(p, Http(500), 2, now, 0.1);
  EXPECT_EQ(second.verdict, Verdict::kRetry);
  EXPECT_EQ(second.next_attempt_at, now + absl::Minutes(5));
  EXPECT_EQ(Decide(p, Http(500), 3, now, 0.5).verdict, Verdict::kFailed);
}

TEST(RetryPolicyTest, JitterStaysWithinTwentyPercent) {
  RetryPolicy p;
  absl::Time now = absl::FromUnixSeconds(1000);
  for (double r : {0.0, 0.25, 0.5, 0.75, 0.999999}) {
    absl::Duration d = Decide(p, Http(503), 1, now, r).next_attempt_at - now;
    EXPECT_GE(d, absl::Seconds(48)) << r;
    EXPECT_LE(d, absl::Seconds(72)) << r;
  }
  EXPECT_LT(Decide(p, Http(503), 1, now, 0.0).next_attempt_at,
            Decide(p, Http(503), 1, now, 0.99).next_attempt_at);
}

TEST(RetryPolicyTest, RetryAfterIsHonouredWithinBounds) {
  RetryPolicy p = NoJitter({absl::Seconds(1), absl::Seconds(2)});
  p.max_retry_after = absl::Minutes(10);
  absl::Time now = absl::FromUnixSeconds(1000);
  AttemptOutcome o = Http(429);
  o.retry_after = absl::Seconds(30);
  EXPECT_EQ(Decide(p, o, 1, now, 0.5).next_attempt_at, now + absl::Seconds(30));
  o.retry_after = absl::Hours(5);  // capped
  EXPECT_EQ(Decide(p, o, 1, now, 0.5).next_attempt_at, now + absl::Minutes(10));
  o.retry_after = absl::ZeroDuration();  // never earlier than the schedule
  EXPECT_EQ(Decide(p, o, 1, now, 0.5).next_attempt_at, now + absl::Seconds(1));
}

TEST(RetryPolicyTest, GoneDisablesTheEndpoint) {
  RetryPolicy p = NoJitter({absl::Seconds(1)});
  EXPECT_EQ(Decide(p, Http(410), 1, absl::Now(), 0.5).verdict,
            Verdict::kDisableEndpoint);
}

TEST(RetryPolicyTest, ParseRetryAfter) {
  absl::Time now =
      absl::FromUnixSeconds(1445412480);  // Wed, 21 Oct 2015 07:28:00
  EXPECT_EQ(delivery::ParseRetryAfter("120", now), absl::Seconds(120));
  EXPECT_EQ(delivery::ParseRetryAfter(" 3 ", now), absl::Seconds(3));
  EXPECT_EQ(delivery::ParseRetryAfter("Wed, 21 Oct 2015 07:28:30 GMT", now),
            absl::Seconds(30));
  EXPECT_EQ(delivery::ParseRetryAfter("Wed, 21 Oct 2015 07:27:00 GMT", now),
            absl::ZeroDuration());
  EXPECT_FALSE(delivery::ParseRetryAfter("-5", now).has_value());
  EXPECT_FALSE(delivery::ParseRetryAfter("soon", now).has_value());
  EXPECT_FALSE(delivery::ParseRetryAfter("", now).has_value());
}

TEST(RetryPolicyTest, ParseSchedule) {
  EXPECT_EQ(delivery::ParseSchedule("1m,5m,30m,2h,12h"),
            (std::vector<absl::Duration>{absl::Minutes(1), absl::Minutes(5),
                                         absl::Minutes(30), absl::Hours(2),
                                         absl::Hours(12)}));
  EXPECT_EQ(
      delivery::ParseSchedule("1s, 250ms"),
      (std::vector<absl::Duration>{absl::Seconds(1), absl::Milliseconds(250)}));
  EXPECT_FALSE(delivery::ParseSchedule("").has_value());
  EXPECT_FALSE(delivery::ParseSchedule("1m,banana").has_value());
  EXPECT_FALSE(delivery::ParseSchedule("0s").has_value());
  EXPECT_FALSE(delivery::ParseSchedule("-1m").has_value());
}

// --- Payload
// -------------------------------------------------------------------

TEST(PayloadTest, EnvelopeHasEveryFieldWithProtoNames) {
  v1::Event event;
  event.set_id("evt_1");
  event.set_type("job.completed");
  event.set_account_id("acct_1");
  event.mutable_created_at()->set_seconds(1700000000);
  event.mutable_job()->set_job_id(42);
  event.mutable_job()->set_job_type("scrape");
  event.mutable_job()->set_total_leads_stored(7);
  absl::StatusOr<std::string> body =
      delivery::BuildPayload(event, "dlv_9", false);
  ASSERT_TRUE(body.ok()) << body.status();
  absl::StatusOr<google::protobuf::Struct> json = ParseJsonObject(*body);
  ASSERT_TRUE(json.ok()) << json.status();
  const auto& f = json->fields();
  EXPECT_EQ(f.at("delivery_id").string_value(), "dlv_9");
  EXPECT_EQ(f.at("event").string_value(), "job.completed");
  EXPECT_EQ(f.at("account_id").string_value(), "acct_1");
  EXPECT_EQ(f.at("timestamp").string_value(), "2023-11-14T22:13:20Z");
  const auto& data = f.at("data").struct_value().fields();
  EXPECT_EQ(data.at("job_id").number_value(), 42);
  EXPECT_EQ(data.at("job_type").string_value(), "scrape");
  EXPECT_EQ(data.at("total_leads_stored").number_value(), 7);
  EXPECT_EQ(f.count("test"), 0u);
}

TEST(PayloadTest, TestDeliveriesSayTestTrueAndStringsAreEscaped) {
  v1::Event event;
  event.set_id("evt_\"2");
  event.set_type("webhook.test");
  event.set_account_id("acct\n\x01");
  event.mutable_webhook_test()->set_message("quote \" back \\ slash");
  absl::StatusOr<std::string> body =
      delivery::BuildPayload(event, "dlv_\\", true);
  ASSERT_TRUE(body.ok()) << body.status();
  absl::StatusOr<google::protobuf::Struct> json = ParseJsonObject(*body);
  ASSERT_TRUE(json.ok()) << json.status();
  const auto& f = json->fields();
  EXPECT_TRUE(f.at("test").bool_value());
  EXPECT_EQ(f.at("delivery_id").string_value(), "dlv_\\");
  EXPECT_EQ(f.at("account_id").string_value(), "acct\n\x01");
  EXPECT_EQ(f.at("data").struct_value().fields().at("message").string_value(),
            "quote \" back \\ slash");
}

TEST(PayloadTest, EventWithoutPayloadHasEmptyData) {
  v1::Event event;
  event.set_type("webhook.test");
  absl::StatusOr<std::string> body = delivery::BuildPayload(event, "d", false);
  ASSERT_TRUE(body.ok());
  absl::StatusOr<google::protobuf::Struct> json = ParseJsonObject(*body);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_TRUE(json->fields().at("data").has_struct_value());
  EXPECT_TRUE(json->fields().at("data").struct_value().fields().empty());
}

// --- Address policy
// -------------------------------------------------------------

TEST(AddressPolicyTest, ForbiddenLiteralsNameTheirRange) {
  struct Case {
    const char* host;
    const char* range_word;
  };
  const Case kCases[] = {
      {"127.0.0.1", "loopback"},
      {"127.255.255.254", "loopback"},
      {"0.0.0.0", "this-network"},
      {"10.0.0.1", "private"},
      {"172.16.0.1", "private"},
      {"172.31.255.255", "private"},
      {"192.168.1.1", "private"},
      {"169.254.169.254", "metadata"},
      {"100.64.0.1", "NAT"},
      {"100.127.255.255", "NAT"},
      {"224.0.0.1", "multicast"},
      {"239.255.255.250", "multicast"},
      {"240.0.0.1", "reserved"},
      {"255.255.255.255", "reserved"},
      {"192.0.2.1", "documentation"},
      {"198.51.100.7", "documentation"},
      {"203.0.113.9", "documentation"},
      {"198.18.0.1", "benchmarking"},
      {"[::1]", "loopback"},
      {"::", "unspecified"},
      {"[fe80::1]", "link-local"},
      {"[fc00::1]", "unique local"},
      {"fd12:3456::1", "unique local"},
      {"[ff02::1]", "multicast"},
      {"[::ffff:127.0.0.1]", "loopback"},
      {"::ffff:10.1.2.3", "private"},
      {"[::ffff:169.254.169.254]", "metadata"},
      {"[64:ff9b::a00:1]", "private"},
      {"64:ff9b::7f00:1", "loopback"},
      {"[2001:db8::1]", "documentation"},
      {"2002:7f00:1::", "loopback"},  // 6to4 of 127.0.0.1
  };
  for (const Case& c : kCases) {
    std::optional<std::string> range = domain::ForbiddenLiteral(c.host);
    ASSERT_TRUE(range.has_value()) << c.host << " should be refused";
    EXPECT_NE(range->find(c.range_word), std::string::npos)
        << c.host << " -> " << *range;
  }
}

TEST(AddressPolicyTest, PublicAddressesAndNamesPass) {
  for (const char* host :
       {"8.8.8.8", "1.1.1.1", "93.184.216.34", "172.32.0.1", "172.15.255.255",
        "100.128.0.1", "100.63.255.255", "169.253.1.1", "192.169.0.1",
        "[2606:4700:4700::1111]", "2a00:1450:4001::200e", "::ffff:8.8.8.8",
        "64:ff9b::808:808", "example.com", "hooks.zapier.com"}) {
    EXPECT_FALSE(domain::ForbiddenLiteral(host).has_value()) << host;
  }
}

TEST(AddressPolicyTest, ConnectedSocketAddressesAreChecked) {
  sockaddr_in v4{};
  v4.sin_family = AF_INET;
  inet_pton(AF_INET, "127.0.0.1", &v4.sin_addr);
  auto loopback = domain::ForbiddenRange(reinterpret_cast<sockaddr*>(&v4));
  ASSERT_TRUE(loopback.has_value());
  EXPECT_NE(loopback->find("loopback"), std::string::npos);
  inet_pton(AF_INET, "8.8.4.4", &v4.sin_addr);
  EXPECT_FALSE(domain::ForbiddenRange(reinterpret_cast<sockaddr*>(&v4)));

  sockaddr_in6 v6{};
  v6.sin6_family = AF_INET6;
  inet_pton(AF_INET6, "::ffff:192.168.0.10", &v6.sin6_addr);
  auto mapped = domain::ForbiddenRange(reinterpret_cast<sockaddr*>(&v6));
  ASSERT_TRUE(mapped.has_value());
  EXPECT_NE(mapped->find("private"), std::string::npos);
  inet_pton(AF_INET6, "2606:4700::1", &v6.sin6_addr);
  EXPECT_FALSE(domain::ForbiddenRange(reinterpret_cast<sockaddr*>(&v6)));
}

}  // namespace
}  // namespace leadrelay::dtest
