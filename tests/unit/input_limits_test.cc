// The input limits: per-field lengths by class, NUL bytes, UTF-8, repeated
// counts, timestamps, request and event sizes, deduplication, echo
// truncation, and the page budget and tokens.
#include "domain/input_limits.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/status_util.h"
#include "domain/page_budget.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "leadrelay/v1/account.pb.h"
#include "leadrelay/v1/event.pb.h"
#include "leadrelay/v1/lead.pb.h"
#include "leadrelay/v1/webhook.pb.h"

namespace leadrelay::domain {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const google::protobuf::FieldDescriptor& Field(
    const google::protobuf::Descriptor* d, const char* name) {
  return *d->FindFieldByName(name);
}

void ExpectInvalid(const absl::Status& status, const std::string& needle) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_EQ(ReasonOf(status), "invalid_request");
  EXPECT_THAT(std::string(status.message()), HasSubstr(needle));
}

TEST(FieldClassTest, ClassesFieldsByName) {
  auto* lead = v1::Lead::descriptor();
  auto* profile = v1::LinkedInProfile::descriptor();
  EXPECT_EQ(ClassOf(Field(lead, "external_id")), FieldClass::kId);
  EXPECT_EQ(ClassOf(Field(lead, "id")), FieldClass::kId);
  EXPECT_EQ(ClassOf(Field(lead, "first_name")), FieldClass::kName);
  EXPECT_EQ(ClassOf(Field(profile, "linkedin_url")), FieldClass::kUrl);
  EXPECT_EQ(ClassOf(Field(profile, "comment_text")), FieldClass::kFreeText);
  EXPECT_EQ(ClassOf(Field(v1::DirectMessageData::descriptor(), "message")),
            FieldClass::kFreeText);
  EXPECT_EQ(ClassOf(Field(v1::CreateWebhookRequest::descriptor(), "url")),
            FieldClass::kUrl);
  EXPECT_EQ(ClassOf(Field(v1::StreamEventsRequest::descriptor(), "after")),
            FieldClass::kId);
}

TEST(CheckFieldsTest, AcceptsEachClassAtItsLimit) {
  v1::CreateLeadRequest r;
  r.mutable_lead()->set_first_name(std::string(kMaxNameBytes, 'a'));
  r.mutable_lead()->set_external_id(std::string(kMaxIdBytes, 'b'));
  r.mutable_lead()->mutable_linkedin()->set_comment_text(
      std::string(kMaxFreeTextBytes, 'c'));
  r.mutable_lead()->mutable_linkedin()->set_linkedin_url(
      std::string(kMaxUrlBytes, 'd'));
  EXPECT_TRUE(CheckFields(r).ok());
}

TEST(CheckFieldsTest, RejectsEachClassOneBytePastItsLimitNamingFieldAndLimit) {
  v1::CreateLeadRequest r;
  r.mutable_lead()->mutable_linkedin()->set_comment_text(
      std::string(kMaxFreeTextBytes + 1, 'c'));
  ExpectInvalid(CheckFields(r),
                "lead.linkedin.comment_text is 16385 bytes; "
                "the limit is 16384");
  r.Clear();
  r.mutable_lead()->set_first_name(std::string(kMaxNameBytes + 1, 'a'));
  ExpectInvalid(CheckFields(r), "lead.first_name is 201 bytes");
  r.Clear();
  r.mutable_lead()->set_external_id(std::string(kMaxIdBytes + 1, 'a'));
  ExpectInvalid(CheckFields(r), "lead.external_id is 129 bytes");
  v1::CreateWebhookRequest w;
  w.set_url(std::string(kMaxUrlBytes + 1, 'u'));
  ExpectInvalid(CheckFields(w), "url is 2049 bytes; the limit is 2048");
}

TEST(CheckFieldsTest, RejectsNulBytesAnywhere) {
  v1::CreateLeadRequest r;
  r.mutable_lead()->set_external_id(std::string("ord\0-1001", 9));
  ExpectInvalid(CheckFields(r), "lead.external_id must not contain NUL");
  v1::StreamEventsRequest s;
  s.add_types("lead.new");
  s.add_types(std::string("dm\0", 3));
  ExpectInvalid(CheckFields(s), "types[1] must not contain NUL");
}

TEST(CheckFieldsTest, RejectsInvalidUtf8) {
  v1::CreateLeadRequest r;
  r.mutable_lead()->set_first_name("caf\xC3");  // truncated sequence
  ExpectInvalid(CheckFields(r), "lead.first_name is not valid UTF-8");
  r.mutable_lead()->set_first_name("\xC0\xAF");  // overlong '/'
  ExpectInvalid(CheckFields(r), "not valid UTF-8");
  r.mutable_lead()->set_first_name("\xED\xA0\x80");  // a surrogate
  ExpectInvalid(CheckFields(r), "not valid UTF-8");
  r.mutable_lead()->set_first_name("Zoë 李 \xF0\x9F\x98\x80");
  EXPECT_TRUE(CheckFields(r).ok());
}

TEST(CheckFieldsTest, LimitsRepeatedCounts) {
  v1::CreateWebhookRequest w;
  for (int i = 0; i < kMaxListEntries; ++i) w.add_events("lead.new");
  EXPECT_TRUE(CheckFields(w).ok());
  w.add_events("lead.new");
  ExpectInvalid(CheckFields(w), "events has 33 entries; the limit is 32");
  v1::PublishEventRequest p;
  for (int i = 0; i <= kMaxRepeatedMessages; ++i) {
    p.mutable_lead_enriched()->add_posts();
  }
  ExpectInvalid(CheckFields(p), "lead_enriched.posts has 1001 entries");
}

TEST(CheckTimestampTest, AcceptsPostgresRepresentableRange) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(-62135596800);  // 0001-01-01
  EXPECT_TRUE(CheckTimestamp("since", ts).ok());
  ts.set_seconds(253402300799);  // 9999-12-31T23:59:59
  ts.set_nanos(999999999);
  EXPECT_TRUE(CheckTimestamp("since", ts).ok());
}

TEST(CheckTimestampTest, RejectsOutOfRangeSecondsAndNanos) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(-62135596801);
  ExpectInvalid(CheckTimestamp("since", ts), "since must be between");
  ts.set_seconds(INT64_MAX);
  ExpectInvalid(CheckTimestamp("until", ts), "until must be between");
  ts.set_seconds(0);
  ts.set_nanos(-1);
  ExpectInvalid(CheckTimestamp("since", ts), "nanos 0 to 999999999");
  ts.set_nanos(1000000000);
  EXPECT_FALSE(CheckTimestamp("since", ts).ok());
}

TEST(CheckFieldsTest, ChecksTimestampsInsideRequests) {
  v1::ListDeliveriesRequest r;
  r.mutable_until()->set_seconds(INT64_MIN);
  ExpectInvalid(CheckFields(r), "until must be between");
}

TEST(CheckRequestTest, OversizeRequestIsPayloadTooLarge) {
  InputLimits limits;
  limits.max_request_bytes = 1000;
  v1::CreateLeadRequest r;
  r.mutable_lead()->mutable_linkedin()->set_comment_text(
      std::string(2000, 'x'));
  absl::Status status = CheckRequest(r, limits);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ReasonOf(status), "payload_too_large");
  EXPECT_THAT(std::string(status.message()), HasSubstr("the limit is 1000"));
  EXPECT_FALSE(RetryAfterSecondsOf(status).has_value());
}

TEST(CheckEventSizeTest, RejectsEventsOverTheLimit) {
  InputLimits limits;
  limits.max_event_bytes = 4096;
  v1::Event event;
  event.mutable_dm()->set_message(std::string(4000, 'm'));
  EXPECT_TRUE(CheckEventSize(event, limits).ok());
  event.mutable_dm()->set_message(std::string(4100, 'm'));
  ExpectInvalid(CheckEventSize(event, limits), "the limit is 4096");
}

TEST(CheckEventSizeTest, TheLargestValidLeadFitsTheDefaultEventLimit) {
  // Lead events are built from leads, which only field limits bound.
  v1::Event event;
  v1::Lead* lead = event.mutable_lead()->mutable_lead();
  const auto* d = v1::Lead::descriptor();
  auto fill = [](google::protobuf::Message& m) {
    const auto* r = m.GetReflection();
    for (int i = 0; i < m.GetDescriptor()->field_count(); ++i) {
      const auto* f = m.GetDescriptor()->field(i);
      if (f->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_STRING &&
          !f->is_repeated()) {
        r->SetString(&m, f, std::string(MaxBytes(ClassOf(*f)), 'x'));
      }
    }
  };
  fill(*lead);
  fill(*lead->mutable_linkedin());
  ASSERT_NE(d, nullptr);
  EXPECT_TRUE(CheckEventSize(event, InputLimits{}).ok())
      << event.ByteSizeLong();
}

TEST(DeduplicatedTest, KeepsFirstOccurrencesInOrder) {
  EXPECT_THAT(Deduplicated({"read", "admin", "read", "write", "admin"}),
              ElementsAre("read", "admin", "write"));
}

TEST(EchoValueTest, CutsLongValuesAtACharacterBoundary) {
  EXPECT_EQ(EchoValue("short"), "short");
  std::string echoed = EchoValue(std::string(4000, 'x'));
  EXPECT_EQ(echoed, std::string(64, 'x') + "\xE2\x80\xA6");
  // 63 ASCII bytes then a two-byte character straddling the cut.
  std::string straddling = std::string(63, 'a') + "\xC3\xA9" + "tail";
  EXPECT_EQ(EchoValue(straddling), std::string(63, 'a') + "\xE2\x80\xA6");
}

TEST(PageBudgetTest, FitsAtLeastOneItemAndStopsAtTheBudget) {
  v1::ListLeadsResponse r;
  for (int i = 0; i < 10; ++i) {
    r.add_leads()->set_first_name(std::string(1000, 'n'));
  }
  EXPECT_EQ(FittingCount(r.leads(), 100), 1);
  EXPECT_EQ(FittingCount(r.leads(), 3100), 3);
  EXPECT_EQ(FittingCount(r.leads(), 1 << 20), 10);
  EXPECT_EQ(FittingCount(v1::ListLeadsResponse().leads(), 10), 0);
}

TEST(PageBudgetTest, TokensRoundTripAndForeignTokensAreRejected) {
  EXPECT_EQ(*DecodePageToken(EncodePageToken(250)), 250);
  ExpectInvalid(DecodePageToken("nonsense").status(), "page_token");
  ExpectInvalid(DecodePageToken(EncodePageToken(-5)).status(), "page_token");
  EXPECT_EQ(*PageOffset("", 3, 25), 50);
  EXPECT_EQ(*PageOffset(EncodePageToken(7), 3, 25), 7);
  EXPECT_EQ(NextPageToken(0, 10, 10), "");
  EXPECT_EQ(*DecodePageToken(NextPageToken(20, 5, 30)), 25);
}

}  // namespace
}  // namespace leadrelay::domain
