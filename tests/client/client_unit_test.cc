// The client's pure parts: retry decisions and backoff arithmetic, CSV and
// NDJSON lead rows, webhook signature checks (against an independent OpenSSL
// computation from the delivery tests), delivery bodies, profile files.
#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "delivery/test_crypto.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "leadrelay/errors.h"
#include "leadrelay/lead_rows.h"
#include "leadrelay/retry_policy.h"
#include "leadrelay/webhook_payload.h"
#include "leadrelay/webhook_signature.h"
#include "profile.h"

namespace leadrelay {
namespace {

using absl::StatusCode;

// ------------------------------------------------------------ retry policy

TEST(RetryPolicyTest, OnlySafeCallsAreRepeatable) {
  EXPECT_TRUE(IsSafeToRepeat("GetLead", false));
  EXPECT_TRUE(IsSafeToRepeat("ListEvents", false));
  EXPECT_TRUE(IsSafeToRepeat("CreateLead", true));
  EXPECT_TRUE(IsSafeToRepeat("EraseLead", false));
  EXPECT_TRUE(IsSafeToRepeat("EraseLeads", false));
  EXPECT_FALSE(IsSafeToRepeat("CreateLead", false));
  EXPECT_FALSE(IsSafeToRepeat("PublishEvent", false));
  EXPECT_FALSE(IsSafeToRepeat("UpdateLead", false));
  EXPECT_FALSE(IsSafeToRepeat("Redeliver", false));
  EXPECT_FALSE(IsSafeToRepeat("CreateApiKey", false));
}

TEST(RetryPolicyTest, TransientFailures) {
  EXPECT_TRUE(IsTransientFailure(StatusCode::kUnavailable, "unavailable"));
  EXPECT_TRUE(IsTransientFailure(StatusCode::kUnavailable, ""));
  EXPECT_TRUE(
      IsTransientFailure(StatusCode::kResourceExhausted, "rate_limited"));
  // Other exhausted resources (quotas, stream caps) do not come back soon.
  EXPECT_FALSE(
      IsTransientFailure(StatusCode::kResourceExhausted, "quota_exceeded"));
  EXPECT_FALSE(
      IsTransientFailure(StatusCode::kInvalidArgument, "invalid_request"));
  EXPECT_FALSE(IsTransientFailure(StatusCode::kInternal, "internal_error"));
}

TEST(RetryPolicyTest, BackoffGrowsAndIsCapped) {
  RetryPolicy p;
  p.initial_backoff = absl::Milliseconds(100);
  p.multiplier = 2;
  p.max_backoff = absl::Seconds(1);
  p.jitter = 0;
  EXPECT_EQ(Backoff(p, 1, 0.5), absl::Milliseconds(100));
  EXPECT_EQ(Backoff(p, 2, 0.5), absl::Milliseconds(200));
  EXPECT_EQ(Backoff(p, 3, 0.5), absl::Milliseconds(400));
  EXPECT_EQ(Backoff(p, 5, 0.5), absl::Seconds(1));
  EXPECT_EQ(Backoff(p, 50, 0.5), absl::Seconds(1));
}

TEST(RetryPolicyTest, JitterSpreadsAroundTheBase) {
  RetryPolicy p;
  p.initial_backoff = absl::Seconds(1);
  p.jitter = 0.2;
  EXPECT_EQ(Backoff(p, 1, 0.0), absl::Milliseconds(800));
  EXPECT_EQ(Backoff(p, 1, 0.5), absl::Seconds(1));
  EXPECT_GT(Backoff(p, 1, 0.999), absl::Milliseconds(1199));
}

FailedAttempt Failure(StatusCode code, absl::string_view reason) {
  FailedAttempt f;
  f.code = code;
  f.reason = reason;
  f.safe_to_repeat = true;
  f.time_left = absl::Seconds(30);
  return f;
}

TEST(RetryPolicyTest, RetriesUnavailableSafeCallsWithBackoff) {
  RetryPolicy p;
  p.jitter = 0;
  RetryDecision d = DecideRetry(p, Failure(StatusCode::kUnavailable, ""), 0.5);
  EXPECT_TRUE(d.retry);
  EXPECT_EQ(d.wait, p.initial_backoff);
}

TEST(RetryPolicyTest, NeverRetriesUnsafeCalls) {
  FailedAttempt f = Failure(StatusCode::kUnavailable, "unavailable");
  f.safe_to_repeat = false;
  EXPECT_FALSE(DecideRetry(RetryPolicy(), f, 0.5).retry);
}

TEST(RetryPolicyTest, StopsAfterMaxAttempts) {
  RetryPolicy p;
  p.max_attempts = 3;
  FailedAttempt f = Failure(StatusCode::kUnavailable, "");
  f.attempts_made = 2;
  EXPECT_TRUE(DecideRetry(p, f, 0.5).retry);
  f.attempts_made = 3;
  EXPECT_FALSE(DecideRetry(p, f, 0.5).retry);
}

TEST(RetryPolicyTest, HonoursTheServerDelay) {
  RetryPolicy p;
  p.jitter = 0.2;
  FailedAttempt f = Failure(StatusCode::kResourceExhausted, "rate_limited");
  f.server_delay = absl::Seconds(7);
  for (double r : {0.0, 0.5, 0.99}) {
    RetryDecision d = DecideRetry(p, f, r);
    ASSERT_TRUE(d.retry);
    EXPECT_GE(d.wait, absl::Seconds(7));
    EXPECT_LE(d.wait, absl::Seconds(7) * 1.2);
  }
}

TEST(RetryPolicyTest, GivesUpWhenTheWaitPassesTheDeadline) {
  FailedAttempt f = Failure(StatusCode::kResourceExhausted, "rate_limited");
  f.server_delay = absl::Seconds(40);
  f.time_left = absl::Seconds(30);
  EXPECT_FALSE(DecideRetry(RetryPolicy(), f, 0.5).retry);
  f.server_delay.reset();
  f.time_left = absl::Milliseconds(10);
  EXPECT_FALSE(DecideRetry(RetryPolicy(), f, 0.5).retry);
}

// ------------------------------------------------------------------ errors

TEST(ErrorsTest, ReasonAndRetryDelayFromStatusDetails) {
  google::rpc::Status details;
  google::rpc::RetryInfo retry;
  retry.mutable_retry_delay()->set_seconds(12);
  details.add_details()->PackFrom(retry);
  google::rpc::ErrorInfo info;
  info.set_reason("rate_limited");
  info.set_domain("leadrelay.dev");
  details.add_details()->PackFrom(info);
  grpc::Status wire(grpc::StatusCode::RESOURCE_EXHAUSTED, "slow down",
                    details.SerializeAsString());
  absl::Status status = FromGrpcStatus(wire);
  EXPECT_EQ(status.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(ErrorReason(status), "rate_limited");
  EXPECT_EQ(RetryDelay(status), absl::Seconds(12));
  EXPECT_EQ(DescribeError(status), "rate_limited: slow down");
}

TEST(ErrorsTest, TransportFailuresGetAReasonFromTheirCode) {
  absl::Status status = FromGrpcStatus(
      grpc::Status(grpc::StatusCode::UNAVAILABLE, "connection refused"));
  EXPECT_EQ(ErrorReason(status), "unavailable");
  EXPECT_FALSE(RetryDelay(status).has_value());
}

// ---------------------------------------------------------------- lead rows

TEST(LeadRowsTest, CsvWithQuotesCommasAndLineBreaks) {
  const std::string csv =
      "external_id,first_name,suburb,score\r\n"
      "a1,\"Smith, Jr\",Sandton,80\r\n"
      "\n"
      "a2,\"says \"\"hi\"\"\",\"Sea\nPoint\",12\n"
      "a3,Thabo,Umhlanga,7";
  auto rows = import::ParseLeadRows(csv, import::RowFormat::kCsv);
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[0].line, 2);
  EXPECT_EQ((*rows)[0].lead.first_name(), "Smith, Jr");
  EXPECT_EQ((*rows)[0].lead.score(), 80);
  EXPECT_EQ((*rows)[1].line, 4);
  EXPECT_EQ((*rows)[1].lead.first_name(), "says \"hi\"");
  EXPECT_EQ((*rows)[1].lead.suburb(), "Sea\nPoint");
  EXPECT_EQ((*rows)[2].line, 6);
  EXPECT_EQ((*rows)[2].lead.external_id(), "a3");
  for (const auto& row : *rows) EXPECT_EQ(row.error, "") << row.line;
}

TEST(LeadRowsTest, CsvNestedColumnsAndBadRows) {
  const std::string csv =
      "first_name,score,linkedin.headline,score_breakdown.phone_valid\n"
      "Ann,50,CTO,10\n"
      "Bob,lots,CEO,0\n"
      "Cy,1\n";
  auto rows = import::ParseLeadRows(csv, import::RowFormat::kCsv);
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[0].lead.linkedin().headline(), "CTO");
  EXPECT_EQ((*rows)[0].lead.score_breakdown().phone_valid(), 10);
  EXPECT_NE((*rows)[1].error.find("not a whole number"), std::string::npos);
  EXPECT_NE((*rows)[2].error.find("2 fields"), std::string::npos);
}

TEST(LeadRowsTest, UnknownColumnFailsTheFile) {
  auto rows = import::ParseLeadRows("first_name,shoe_size\nA,9\n",
                                    import::RowFormat::kCsv);
  EXPECT_EQ(rows.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(rows.status().message().find("shoe_size"), std::string::npos);
  EXPECT_FALSE(
      import::ParseLeadRows("a,\"open\n", import::RowFormat::kCsv).ok());
}

TEST(LeadRowsTest, Ndjson) {
  const std::string text =
      "{\"first_name\": \"Ann\", \"externalId\": \"n1\", \"score\": 9}\n"
      "\n"
      "{not json}\n"
      "{\"first_name\": \"Bob\", \"nope\": 1}\n";
  EXPECT_EQ(import::DetectFormat("x.txt", text), import::RowFormat::kNdjson);
  EXPECT_EQ(import::DetectFormat("leads.csv", text), import::RowFormat::kCsv);
  auto rows = import::ParseLeadRows(text, import::RowFormat::kNdjson);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[0].lead.external_id(), "n1");
  EXPECT_EQ((*rows)[0].line, 1);
  EXPECT_EQ((*rows)[1].line, 3);
  EXPECT_NE((*rows)[1].error, "");
  EXPECT_NE((*rows)[2].error, "");  // unknown field
}

TEST(LeadRowsTest, DerivedExternalIdDependsOnContentOnly) {
  v1::Lead a;
  a.set_first_name("Ann");
  a.set_score(5);
  v1::Lead b = a;
  EXPECT_EQ(import::DerivedExternalId(a), import::DerivedExternalId(b));
  b.set_score(6);
  EXPECT_NE(import::DerivedExternalId(a), import::DerivedExternalId(b));
  EXPECT_EQ(import::DerivedExternalId(a).rfind("imp_", 0), 0u);
}

// --------------------------------------------------------------- signatures

const char kSecret[] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

std::map<std::string, std::string> HeaderMap(
    const std::vector<std::pair<std::string, std::string>>& headers) {
  return {headers.begin(), headers.end()};
}

TEST(WebhookSignatureTest, SignsLikeTheSpecSays) {
  const std::string body = "{\"event\":\"lead.new\"}";
  auto headers = HeaderMap(
      webhooks::SignDelivery({kSecret}, "dlv_1", "lead.new", 1700000000, body));
  // Independent recomputation (OpenSSL directly, in the delivery tests).
  EXPECT_EQ(headers["X-LeadRelay-Signature"],
            dtest::LowerHex(dtest::HmacSha256Raw(kSecret, body)));
  auto key = dtest::Base64Decode(std::string(kSecret).substr(6));
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(headers["webhook-signature"],
            "v1," + dtest::Base64Encode(dtest::HmacSha256Raw(
                        *key, "dlv_1.1700000000." + body)));
  EXPECT_EQ(headers["webhook-id"], "dlv_1");
  EXPECT_EQ(headers["X-LeadRelay-Delivery"], "dlv_1");
  EXPECT_EQ(headers["webhook-timestamp"], "1700000000");
  EXPECT_EQ(headers["X-LeadRelay-Event"], "lead.new");
}

TEST(WebhookSignatureTest, VerifiesBothSchemesAndRejectsTampering) {
  const std::string body = "{\"a\":1}";
  const int64_t ts = absl::ToUnixSeconds(absl::Now());
  auto headers =
      HeaderMap(webhooks::SignDelivery({kSecret}, "dlv_2", "x", ts, body));
  webhooks::Verification ok =
      webhooks::VerifyDelivery({kSecret}, body, headers, absl::Now());
  EXPECT_TRUE(ok.hex_ok);
  EXPECT_TRUE(ok.standard_ok);
  webhooks::Verification tampered =
      webhooks::VerifyDelivery({kSecret}, body + " ", headers, absl::Now());
  EXPECT_FALSE(tampered.ok());
  EXPECT_NE(tampered.hex_detail, "");
  EXPECT_NE(tampered.standard_detail, "");
  webhooks::Verification wrong_secret = webhooks::VerifyDelivery(
      {"whsec_b3RoZXJzZWNyZXRvdGhlcnNlY3JldA=="}, body, headers, absl::Now());
  EXPECT_FALSE(wrong_secret.ok());
}

TEST(WebhookSignatureTest, AcceptsAnyOfSeveralSignaturesDuringRotation) {
  const std::string body = "{}";
  const int64_t ts = absl::ToUnixSeconds(absl::Now());
  const std::string old_secret = "whsec_b2xkb2xkb2xkb2xkb2xkb2xkb2xk";
  auto headers = HeaderMap(
      webhooks::SignDelivery({kSecret, old_secret}, "dlv_3", "x", ts, body));
  EXPECT_NE(headers["webhook-signature"].find(' '), std::string::npos);
  EXPECT_TRUE(webhooks::VerifyDelivery({old_secret}, body, headers, absl::Now())
                  .standard_ok);
  EXPECT_TRUE(webhooks::VerifyDelivery({old_secret}, body, headers, absl::Now())
                  .hex_ok);
}

TEST(WebhookSignatureTest, TimestampTolerance) {
  const std::string body = "{}";
  const absl::Time now = absl::FromUnixSeconds(1700000000);
  auto headers = HeaderMap(
      webhooks::SignDelivery({kSecret}, "dlv_4", "x", 1700000000, body));
  EXPECT_TRUE(webhooks::VerifyStandardWebhook(
                  kSecret, body, "dlv_4", "1700000000",
                  headers["webhook-signature"], now + absl::Minutes(4))
                  .ok());
  absl::Status stale = webhooks::VerifyStandardWebhook(
      kSecret, body, "dlv_4", "1700000000", headers["webhook-signature"],
      now + absl::Minutes(6));
  EXPECT_FALSE(stale.ok());
  EXPECT_NE(stale.message().find("tolerance"), std::string::npos);
  // The id is signed: another id does not verify.
  EXPECT_FALSE(
      webhooks::VerifyStandardWebhook(kSecret, body, "dlv_5", "1700000000",
                                      headers["webhook-signature"], now)
          .ok());
}

TEST(WebhookSignatureTest, NonWhsecSecretsAreRawKeys) {
  const std::string body = "x";
  auto headers = HeaderMap(
      webhooks::SignDelivery({"plain-secret"}, "d", "x", 1700000000, body));
  EXPECT_EQ(headers["webhook-signature"],
            "v1," + dtest::Base64Encode(dtest::HmacSha256Raw(
                        "plain-secret", "d.1700000000.x")));
}

TEST(WebhookPayloadTest, EnvelopeFields) {
  v1::Event event;
  event.set_id("evt_1");
  event.set_type("dm.sent");
  event.set_account_id("acct_1");
  event.mutable_created_at()->set_seconds(1700000000);
  event.mutable_dm()->set_message("hi \"there\"");
  auto body = webhooks::DeliveryBody(event, "dlv_9");
  ASSERT_TRUE(body.ok());
  auto parsed = dtest::ParseJsonObject(*body);
  ASSERT_TRUE(parsed.ok()) << *body;
  const auto& f = parsed->fields();
  EXPECT_EQ(f.at("delivery_id").string_value(), "dlv_9");
  EXPECT_EQ(f.at("event_id").string_value(), "evt_1");
  EXPECT_EQ(f.at("event").string_value(), "dm.sent");
  EXPECT_EQ(f.at("timestamp").string_value(), "2023-11-14T22:13:20Z");
  EXPECT_EQ(f.at("account_id").string_value(), "acct_1");
  EXPECT_EQ(f.at("data").struct_value().fields().at("message").string_value(),
            "hi \"there\"");
  EXPECT_EQ(f.count("test"), 0u);
}

// ------------------------------------------------------------------ profile

TEST(ProfileTest, SectionsAndComments) {
  auto profiles = cli::ParseProfiles(
      "grpc = a:1\n# comment\n[staging]\ngrpc=b:2\napi_key = lr_x=y\n");
  ASSERT_TRUE(profiles.ok());
  EXPECT_EQ((*profiles)["default"]["grpc"], "a:1");
  EXPECT_EQ((*profiles)["staging"]["grpc"], "b:2");
  EXPECT_EQ((*profiles)["staging"]["api_key"], "lr_x=y");
  EXPECT_FALSE(cli::ParseProfiles("[open\n").ok());
  EXPECT_FALSE(cli::ParseProfiles("just words\n").ok());
}

}  // namespace
}  // namespace leadrelay
