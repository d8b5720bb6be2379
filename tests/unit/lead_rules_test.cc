// Lead validation, normalisation, updates and list-query parsing.
#include "domain/lead_rules.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/status_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "leadrelay/v1/lead.pb.h"

namespace leadrelay::domain {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

absl::Time Day(int y, int m, int d) {
  return absl::FromCivil(absl::CivilDay(y, m, d), absl::UTCTimeZone());
}

// The smallest lead CreateLead accepts.
v1::Lead MinimalLead() {
  v1::Lead lead;
  lead.set_vertical("solar");
  lead.set_first_name("Thandi");
  lead.set_score(70);
  return lead;
}

// vocabularies

TEST(VocabularyTest, AcceptsEveryDeclaredVertical) {
  for (const char* v : {"solar", "insurance", "financial", "property", "b2b"}) {
    EXPECT_TRUE(IsValidVertical(v)) << v;
  }
}

TEST(VocabularyTest, RejectsUnknownOrNonCanonicalVertical) {
  EXPECT_FALSE(IsValidVertical(""));
  EXPECT_FALSE(IsValidVertical("crypto"));
  EXPECT_FALSE(IsValidVertical("Solar"));  // callers lower-case first
  EXPECT_FALSE(IsValidVertical("solar "));
}

TEST(VocabularyTest, TiersAndStatuses) {
  for (const char* t : {"hot", "warm", "qualified"}) {
    EXPECT_TRUE(IsValidScoreTier(t)) << t;
  }
  EXPECT_FALSE(IsValidScoreTier("cold"));
  for (const char* s : {"new", "contacted", "qualified", "converted", "lost"}) {
    EXPECT_TRUE(IsValidLeadStatus(s)) << s;
  }
  EXPECT_FALSE(IsValidLeadStatus("won"));
  EXPECT_FALSE(IsValidLeadStatus(""));
}

// tiers

TEST(TierForScoreTest, BoundariesAtEightyAndSixty) {
  EXPECT_EQ(TierForScore(100), "hot");
  EXPECT_EQ(TierForScore(80), "hot");
  EXPECT_EQ(TierForScore(79), "warm");
  EXPECT_EQ(TierForScore(60), "warm");
  EXPECT_EQ(TierForScore(59), "qualified");
  EXPECT_EQ(TierForScore(0), "qualified");
}

// phone

TEST(PhoneTest, AcceptsE164) {
  EXPECT_TRUE(IsValidPhone("+27823456789"));
  EXPECT_TRUE(IsValidPhone("+12345678"));         // 8 digits: shortest
  EXPECT_TRUE(IsValidPhone("+123456789012345"));  // 15 digits: longest
}

TEST(PhoneTest, RejectsNonE164) {
  EXPECT_FALSE(IsValidPhone(""));
  EXPECT_FALSE(IsValidPhone("+"));
  EXPECT_FALSE(IsValidPhone("27823456789"));        // no plus
  EXPECT_FALSE(IsValidPhone("0823456789"));         // national format
  EXPECT_FALSE(IsValidPhone("+1234567"));           // 7 digits
  EXPECT_FALSE(IsValidPhone("+1234567890123456"));  // 16 digits
  EXPECT_FALSE(IsValidPhone("+0823456789"));        // country code 0
  EXPECT_FALSE(IsValidPhone("+27 82 345 6789"));
  EXPECT_FALSE(IsValidPhone("+27-82-345-6789"));
  EXPECT_FALSE(IsValidPhone("+2782345678x"));
}

// email

TEST(EmailTest, AcceptsOrdinaryAddresses) {
  EXPECT_TRUE(IsValidEmail("jane@example.com"));
  EXPECT_TRUE(IsValidEmail("jane.doe+leads@mail.example.co.za"));
  EXPECT_TRUE(IsValidEmail("a@b.c"));
}

TEST(EmailTest, RejectsMalformedAddresses) {
  EXPECT_FALSE(IsValidEmail(""));
  EXPECT_FALSE(IsValidEmail("jane"));
  EXPECT_FALSE(IsValidEmail("@example.com"));
  EXPECT_FALSE(IsValidEmail("jane@"));
  EXPECT_FALSE(IsValidEmail("jane@example"));
  EXPECT_FALSE(IsValidEmail("jane@example."));
  EXPECT_FALSE(IsValidEmail("jane@.com"));
  EXPECT_FALSE(IsValidEmail("jane@@example.com"));
  EXPECT_FALSE(IsValidEmail("jane@doe@example.com"));
  EXPECT_FALSE(IsValidEmail("jane@exa..mple.com"));
  EXPECT_FALSE(IsValidEmail("jane doe@example.com"));
  EXPECT_FALSE(IsValidEmail("<jane@example.com>"));
  EXPECT_FALSE(IsValidEmail("jane@example.com,bob@example.com"));
}

TEST(EmailTest, RejectsOverlongAddress) {
  std::string local(64, 'a');
  std::string domain = std::string(186, 'b') + ".com";  // 64+1+190 = 255
  EXPECT_FALSE(IsValidEmail(local + "@" + domain));
  EXPECT_TRUE(IsValidEmail(local + "@" + domain.substr(1)));  // 254
}

// NormalizeNewLead

TEST(NormalizeNewLeadTest, MinimalLeadGetsTierAndStatus) {
  v1::Lead lead = MinimalLead();
  ASSERT_TRUE(NormalizeNewLead(lead).ok());
  EXPECT_EQ(lead.score_tier(), "warm");
  EXPECT_EQ(lead.status(), "new");
}

TEST(NormalizeNewLeadTest, LowerCasesVocabularies) {
  v1::Lead lead = MinimalLead();
  lead.set_vertical("SOLAR");
  lead.set_score_tier("Hot");
  lead.mutable_linkedin()->set_engagement_type("Comment");
  ASSERT_TRUE(NormalizeNewLead(lead).ok());
  EXPECT_EQ(lead.vertical(), "solar");
  EXPECT_EQ(lead.score_tier(), "hot");
  EXPECT_EQ(lead.linkedin().engagement_type(), "comment");
}

TEST(NormalizeNewLeadTest, ExplicitTierWinsOverScore) {
  v1::Lead lead = MinimalLead();
  lead.set_score(95);
  lead.set_score_tier("qualified");
  ASSERT_TRUE(NormalizeNewLead(lead).ok());
  EXPECT_EQ(lead.score_tier(), "qualified");
}

TEST(NormalizeNewLeadTest, ScoreBoundaries) {
  for (int score : {0, 100}) {
    v1::Lead lead = MinimalLead();
    lead.set_score(score);
    EXPECT_TRUE(NormalizeNewLead(lead).ok()) << score;
  }
  for (int score : {-1, 101}) {
    v1::Lead lead = MinimalLead();
    lead.set_score(score);
    absl::Status s = NormalizeNewLead(lead);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << score;
    EXPECT_THAT(s.message(), HasSubstr("score must be between 0 and 100"));
  }
}

TEST(NormalizeNewLeadTest, ClientChosenIdIsRejected) {
  v1::Lead lead = MinimalLead();
  lead.set_id("ld_mine");
  absl::Status s = NormalizeNewLead(lead);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("id"));
  EXPECT_EQ(ReasonOf(s), "invalid_request");
}

TEST(NormalizeNewLeadTest, UnknownVerticalNamesFieldAndChoices) {
  v1::Lead lead = MinimalLead();
  lead.set_vertical("crypto");
  absl::Status s = NormalizeNewLead(lead);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), AllOf(HasSubstr("vertical"), HasSubstr("solar"),
                                 HasSubstr("crypto")));
}

TEST(NormalizeNewLeadTest, MissingVerticalIsRejected) {
  v1::Lead lead = MinimalLead();
  lead.clear_vertical();
  EXPECT_EQ(NormalizeNewLead(lead).code(), absl::StatusCode::kInvalidArgument);
}

TEST(NormalizeNewLeadTest, UnknownTierIsRejected) {
  v1::Lead lead = MinimalLead();
  lead.set_score_tier("cold");
  absl::Status s = NormalizeNewLead(lead);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("score_tier"));
}

TEST(NormalizeNewLeadTest, NameRequiredButLinkedInNameSuffices) {
  v1::Lead nameless = MinimalLead();
  nameless.clear_first_name();
  absl::Status s = NormalizeNewLead(nameless);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("first_name"));

  v1::Lead enriched = MinimalLead();
  enriched.clear_first_name();
  enriched.mutable_linkedin()->set_full_name("Sipho Dlamini");
  EXPECT_TRUE(NormalizeNewLead(enriched).ok());
}

TEST(NormalizeNewLeadTest, BadPhoneAndEmailAreNamed) {
  v1::Lead lead = MinimalLead();
  lead.set_phone("082 345 6789");
  absl::Status s = NormalizeNewLead(lead);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), AllOf(HasSubstr("phone"), HasSubstr("E.164"),
                                 HasSubstr("082 345 6789")));

  lead = MinimalLead();
  lead.set_email("not-an-email");
  s = NormalizeNewLead(lead);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("email"));
}

TEST(NormalizeNewLeadTest, ValidContactIsKept) {
  v1::Lead lead = MinimalLead();
  lead.set_phone("+27823456789");
  lead.set_email("thandi@example.co.za");
  ASSERT_TRUE(NormalizeNewLead(lead).ok());
  EXPECT_EQ(lead.phone(), "+27823456789");
  EXPECT_EQ(lead.email(), "thandi@example.co.za");
}

TEST(NormalizeNewLeadTest, StatusMayOnlyBeNew) {
  v1::Lead lead = MinimalLead();
  lead.set_status("new");
  EXPECT_TRUE(NormalizeNewLead(lead).ok());

  lead = MinimalLead();
  lead.set_status("converted");
  absl::Status s = NormalizeNewLead(lead);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("status"));
}

TEST(NormalizeNewLeadTest, UnknownEngagementTypeIsRejected) {
  v1::Lead lead = MinimalLead();
  lead.mutable_linkedin()->set_engagement_type("like");
  absl::Status s = NormalizeNewLead(lead);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("linkedin.engagement_type"));
}

TEST(NormalizeNewLeadTest, FreeTextFieldsCappedAt200Characters) {
  v1::Lead lead = MinimalLead();
  lead.set_last_name(std::string(200, 'x'));
  EXPECT_TRUE(NormalizeNewLead(lead).ok());

  lead = MinimalLead();
  lead.set_suburb(std::string(201, 'x'));
  absl::Status s = NormalizeNewLead(lead);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), AllOf(HasSubstr("suburb"), HasSubstr("200")));

  lead = MinimalLead();
  lead.set_external_id(std::string(201, 'x'));
  EXPECT_THAT(NormalizeNewLead(lead).message(), HasSubstr("external_id"));
}

// ApplyLeadUpdate

v1::Lead StoredLead() {
  v1::Lead lead = MinimalLead();
  lead.set_id("ld_1");
  lead.set_score(65);
  lead.set_score_tier("warm");
  lead.set_status("new");
  return lead;
}

TEST(ApplyLeadUpdateTest, StatusChangeIsReported) {
  v1::Lead lead = StoredLead();
  v1::UpdateLeadRequest update;
  update.set_status("Contacted");
  auto changed = ApplyLeadUpdate(update, lead);
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_THAT(*changed, ElementsAre("status"));
  EXPECT_EQ(lead.status(), "contacted");
}

TEST(ApplyLeadUpdateTest, SameValuesChangeNothing) {
  v1::Lead lead = StoredLead();
  v1::UpdateLeadRequest update;
  update.set_status("new");
  update.set_score(65);
  auto changed = ApplyLeadUpdate(update, lead);
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_THAT(*changed, IsEmpty());
}

TEST(ApplyLeadUpdateTest, ScoreAcrossTierBoundaryRetiers) {
  v1::Lead lead = StoredLead();
  v1::UpdateLeadRequest update;
  update.set_score(80);
  auto changed = ApplyLeadUpdate(update, lead);
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_THAT(*changed, ElementsAre("score", "score_tier"));
  EXPECT_EQ(lead.score(), 80);
  EXPECT_EQ(lead.score_tier(), "hot");
}

TEST(ApplyLeadUpdateTest, ScoreWithinTierKeepsTier) {
  v1::Lead lead = StoredLead();
  v1::UpdateLeadRequest update;
  update.set_score(79);
  auto changed = ApplyLeadUpdate(update, lead);
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_THAT(*changed, ElementsAre("score"));
  EXPECT_EQ(lead.score_tier(), "warm");
}

TEST(ApplyLeadUpdateTest, ExplicitTierOverridesDerivedOne) {
  v1::Lead lead = StoredLead();
  v1::UpdateLeadRequest update;
  update.set_score(90);
  update.set_score_tier("qualified");
  auto changed = ApplyLeadUpdate(update, lead);
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_THAT(*changed, ElementsAre("score", "score_tier"));
  EXPECT_EQ(lead.score_tier(), "qualified");
}

TEST(ApplyLeadUpdateTest, ScoreBreakdownIsReplaced) {
  v1::Lead lead = StoredLead();
  v1::UpdateLeadRequest update;
  update.mutable_score_breakdown()->set_phone_valid(20);
  auto changed = ApplyLeadUpdate(update, lead);
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_THAT(*changed, ElementsAre("score_breakdown"));
  EXPECT_EQ(lead.score_breakdown().phone_valid(), 20);
}

TEST(ApplyLeadUpdateTest, RejectsInvalidValues) {
  v1::Lead lead = StoredLead();
  v1::UpdateLeadRequest update;
  update.set_status("won");
  absl::Status s = ApplyLeadUpdate(update, lead).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), AllOf(HasSubstr("status"), HasSubstr("won")));
  EXPECT_EQ(lead.status(), "new");

  update.Clear();
  update.set_score(101);
  EXPECT_EQ(ApplyLeadUpdate(update, lead).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(lead.score(), 65);

  update.Clear();
  update.set_score_tier("lukewarm");
  EXPECT_EQ(ApplyLeadUpdate(update, lead).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ApplyLeadUpdateTest, EmptyUpdateIsRejected) {
  v1::Lead lead = StoredLead();
  v1::UpdateLeadRequest update;
  update.set_id("ld_1");
  absl::Status s = ApplyLeadUpdate(update, lead).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("nothing to update"));
}

// ParseDate

TEST(ParseDateTest, IsoDateIsMidnightUtc) {
  auto t = ParseDate("date_from", "2026-05-01");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(*t, Day(2026, 5, 1));
}

TEST(ParseDateTest, LeapDay) {
  EXPECT_TRUE(ParseDate("date_from", "2024-02-29").ok());
  EXPECT_FALSE(ParseDate("date_from", "2025-02-29").ok());
}

TEST(ParseDateTest, RejectsOtherShapesNamingTheField) {
  for (const char* bad : {"", "2026-5-1", "01/05/2026", "2026-05-01T00:00:00Z",
                          "2026-13-01", "2026-02-30", "tomorrow"}) {
    absl::Status s = ParseDate("date_to", bad).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(s.message(), HasSubstr("date_to")) << bad;
  }
}

// KNOWN BUG (server/domain/lead_rules.cc, ParseDate): absl::ParseTime skips
// whitespace, so a padded, single-digit day passes the 10-character check and
// is read as 2026-05-01. Enable once fixed.
TEST(ParseDateTest, RejectsPaddedDates) {
  EXPECT_FALSE(ParseDate("date_from", "2026-05-1 ").ok());
  EXPECT_FALSE(ParseDate("date_from", " 2026-05-1").ok());
}

// ParseLeadQuery

TEST(ParseLeadQueryTest, Defaults) {
  auto q = ParseLeadQuery(v1::ListLeadsRequest());
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->page, 1);
  EXPECT_EQ(q->limit, 25);
  EXPECT_FALSE(q->from.has_value());
  EXPECT_FALSE(q->until.has_value());
  EXPECT_EQ(q->vertical, "");
}

TEST(ParseLeadQueryTest, LimitUpToOneHundred) {
  v1::ListLeadsRequest r;
  r.set_limit(100);
  auto q = ParseLeadQuery(r);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->limit, 100);

  r.set_limit(1);
  EXPECT_EQ(ParseLeadQuery(r)->limit, 1);
}

TEST(ParseLeadQueryTest, LimitOverOneHundredIsRejectedNamingTheLimit) {
  v1::ListLeadsRequest r;
  r.set_limit(101);
  absl::Status s = ParseLeadQuery(r).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(),
              AllOf(HasSubstr("limit"), HasSubstr("100"), HasSubstr("101")));
}

TEST(ParseLeadQueryTest, NegativePagingIsRejected) {
  v1::ListLeadsRequest r;
  r.set_limit(-5);
  EXPECT_EQ(ParseLeadQuery(r).status().code(),
            absl::StatusCode::kInvalidArgument);
  r.Clear();
  r.set_page(-1);
  absl::Status s = ParseLeadQuery(r).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("page"));
}

TEST(ParseLeadQueryTest, HugePageIsRejected) {
  v1::ListLeadsRequest r;
  r.set_page(1000000);
  EXPECT_TRUE(ParseLeadQuery(r).ok());
  r.set_page(1000001);
  EXPECT_EQ(ParseLeadQuery(r).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ParseLeadQueryTest, FiltersAreNormalised) {
  v1::ListLeadsRequest r;
  r.set_vertical("Insurance");
  r.set_score_tier("HOT");
  r.set_status("Converted");
  r.set_suburb("Sea Point");
  r.set_page(3);
  auto q = ParseLeadQuery(r);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->vertical, "insurance");
  EXPECT_EQ(q->score_tier, "hot");
  EXPECT_EQ(q->status, "converted");
  EXPECT_EQ(q->suburb, "Sea Point");
  EXPECT_EQ(q->page, 3);
}

TEST(ParseLeadQueryTest, UnknownFilterValuesAreRejected) {
  v1::ListLeadsRequest r;
  r.set_vertical("crypto");
  EXPECT_THAT(ParseLeadQuery(r).status().message(), HasSubstr("vertical"));
  r.Clear();
  r.set_score_tier("cold");
  EXPECT_THAT(ParseLeadQuery(r).status().message(), HasSubstr("score_tier"));
  r.Clear();
  r.set_status("won");
  EXPECT_THAT(ParseLeadQuery(r).status().message(), HasSubstr("status"));
  r.Clear();
  r.set_suburb(std::string(201, 's'));
  EXPECT_THAT(ParseLeadQuery(r).status().message(), HasSubstr("suburb"));
}

TEST(ParseLeadQueryTest, DateToIncludesTheWholeDay) {
  v1::ListLeadsRequest r;
  r.set_date_from("2026-05-01");
  r.set_date_to("2026-05-31");
  auto q = ParseLeadQuery(r);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(*q->from, Day(2026, 5, 1));
  EXPECT_EQ(*q->until, Day(2026, 6, 1));  // exclusive bound
}

TEST(ParseLeadQueryTest, SingleDayRangeIsAllowed) {
  v1::ListLeadsRequest r;
  r.set_date_from("2026-05-01");
  r.set_date_to("2026-05-01");
  auto q = ParseLeadQuery(r);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(*q->until - *q->from, absl::Hours(24));
}

TEST(ParseLeadQueryTest, ReversedRangeIsRejected) {
  v1::ListLeadsRequest r;
  r.set_date_from("2026-05-02");
  r.set_date_to("2026-05-01");
  absl::Status s = ParseLeadQuery(r).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("date_from"));
}

TEST(ParseLeadQueryTest, MalformedDateNamesItsField) {
  v1::ListLeadsRequest r;
  r.set_date_from("yesterday");
  EXPECT_THAT(ParseLeadQuery(r).status().message(), HasSubstr("date_from"));
  r.Clear();
  r.set_date_to("2026/05/01");
  EXPECT_THAT(ParseLeadQuery(r).status().message(), HasSubstr("date_to"));
}

TEST(ParseLeadQueryTest, OpenEndedRanges) {
  v1::ListLeadsRequest r;
  r.set_date_from("2026-01-01");
  auto q = ParseLeadQuery(r);
  ASSERT_TRUE(q.ok());
  EXPECT_TRUE(q->from.has_value());
  EXPECT_FALSE(q->until.has_value());
}

}  // namespace
}  // namespace leadrelay::domain
