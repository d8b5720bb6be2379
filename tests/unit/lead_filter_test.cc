// The lead filter shared by webhooks and the live stream: validation (the
// field named in the error), normalisation, and matching.
#include "domain/lead_filter.h"

#include <string>

#include "common/status_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace leadrelay::domain {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

v1::Lead MakeLead(const std::string& vertical, const std::string& tier,
                  int score) {
  v1::Lead lead;
  lead.set_vertical(vertical);
  lead.set_score_tier(tier);
  lead.set_score(score);
  return lead;
}

v1::LeadFilter Proto(std::vector<std::string> verticals,
                     std::vector<std::string> tiers, int min_score) {
  v1::LeadFilter f;
  for (auto& v : verticals) f.add_verticals(v);
  for (auto& t : tiers) f.add_score_tiers(t);
  f.set_min_score(min_score);
  return f;
}

TEST(LeadFilterTest, EmptyFilterMatchesEveryLead) {
  LeadFilter f;
  EXPECT_TRUE(f.Empty());
  EXPECT_TRUE(f.Matches(MakeLead("solar", "hot", 90)));
  EXPECT_TRUE(f.Matches(MakeLead("b2b", "qualified", 0)));
}

TEST(LeadFilterTest, EverySetPartMustMatch) {
  auto f = ParseLeadFilter(Proto({"solar", "property"}, {"hot", "warm"}, 70),
                           "filters.");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_FALSE(f->Empty());
  EXPECT_TRUE(f->Matches(MakeLead("solar", "hot", 85)));
  EXPECT_TRUE(f->Matches(MakeLead("property", "warm", 70)));   // bound included
  EXPECT_FALSE(f->Matches(MakeLead("insurance", "hot", 95)));  // vertical
  EXPECT_FALSE(f->Matches(MakeLead("solar", "qualified", 75)));  // tier
  EXPECT_FALSE(f->Matches(MakeLead("solar", "warm", 69)));       // score
}

TEST(LeadFilterTest, MinScoreAloneFilters) {
  auto f = ParseLeadFilter(Proto({}, {}, 1), "");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_FALSE(f->Empty());
  EXPECT_FALSE(f->Matches(MakeLead("solar", "qualified", 0)));
  EXPECT_TRUE(f->Matches(MakeLead("solar", "qualified", 1)));
}

TEST(LeadFilterTest, LowerCasesAndDeduplicates) {
  auto f = ParseLeadFilter(Proto({"Solar", "SOLAR", "b2b"}, {"Hot", "hot"}, 0),
                           "filters.");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_THAT(f->verticals, ElementsAre("solar", "b2b"));
  EXPECT_THAT(f->score_tiers, ElementsAre("hot"));
  v1::LeadFilter back = f->ToProto();
  EXPECT_THAT(back.verticals(), ElementsAre("solar", "b2b"));
  EXPECT_THAT(back.score_tiers(), ElementsAre("hot"));
  EXPECT_EQ(back.min_score(), 0);
}

TEST(LeadFilterTest, ErrorsNameTheFieldWithItsPrefix) {
  struct Case {
    v1::LeadFilter filter;
    std::string field;
  };
  for (const Case& c : {Case{Proto({"solar", "cars"}, {}, 0), "verticals"},
                        Case{Proto({}, {"lukewarm"}, 0), "score_tiers"},
                        Case{Proto({}, {}, -1), "min_score"},
                        Case{Proto({}, {}, 101), "min_score"}}) {
    for (const std::string prefix : {"", "filters."}) {
      auto f = ParseLeadFilter(c.filter, prefix);
      ASSERT_FALSE(f.ok()) << prefix << c.field;
      EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_EQ(ReasonOf(f.status()), "invalid_request");
      EXPECT_THAT(f.status().message(), HasSubstr(prefix + c.field))
          << f.status();
    }
  }
}

TEST(LeadFilterTest, VocabularyErrorListsTheAllowedValues) {
  auto f = ParseLeadFilter(Proto({"cars"}, {}, 0), "filters.");
  ASSERT_FALSE(f.ok());
  EXPECT_THAT(f.status().message(), HasSubstr("solar"));
  EXPECT_THAT(f.status().message(), HasSubstr("'cars'"));
}

v1::Lead PlacedLead(const std::string& suburb, const std::string& province) {
  v1::Lead lead = MakeLead("solar", "hot", 80);
  lead.set_suburb(suburb);
  lead.set_province(province);
  return lead;
}

TEST(LeadFilterTest, PlaceKeyIgnoresAsciiCaseAndSpacing) {
  EXPECT_EQ(PlaceKey("  Bondi   BEACH "), "bondi beach");
  EXPECT_EQ(PlaceKey("Bondi\tBeach"), "bondi beach");
  EXPECT_EQ(PlaceKey("NSW"), "nsw");
  EXPECT_EQ(PlaceKey("   "), "");
  // Bytes outside ASCII are compared as they are (in SQL too).
  EXPECT_EQ(PlaceKey("M\xC4\x81ngere East"), "m\xC4\x81ngere east");
}

TEST(LeadFilterTest, SuburbsAndProvincesMatchTheLeadsPlace) {
  v1::LeadFilter proto;
  proto.add_suburbs(" Bondi  Beach");
  proto.add_suburbs("Manly");
  proto.add_suburbs("manly");
  proto.add_provinces("NSW");
  auto f = ParseLeadFilter(proto, "filters.");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_FALSE(f->Empty());
  EXPECT_THAT(f->suburbs, ElementsAre("bondi beach", "manly"));
  EXPECT_THAT(f->provinces, ElementsAre("nsw"));
  EXPECT_THAT(f->ToProto().suburbs(), ElementsAre("bondi beach", "manly"));
  EXPECT_THAT(f->ToProto().provinces(), ElementsAre("nsw"));
  EXPECT_TRUE(f->Matches(PlacedLead("BONDI BEACH", "nsw")));
  EXPECT_TRUE(f->Matches(PlacedLead("Manly", " NSW ")));
  EXPECT_FALSE(f->Matches(PlacedLead("Bondi", "NSW")));       // suburb
  EXPECT_FALSE(f->Matches(PlacedLead("Manly", "VIC")));       // province
  EXPECT_FALSE(f->Matches(PlacedLead("", "NSW")));            // no suburb
  EXPECT_FALSE(f->Matches(PlacedLead("BondiBeach", "NSW")));  // not a word gap
}

TEST(LeadFilterTest, ProvincesAloneFilter) {
  v1::LeadFilter proto;
  proto.add_provinces("Gauteng");
  auto f = ParseLeadFilter(proto, "");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_TRUE(f->Matches(PlacedLead("Sandton", "gauteng")));
  EXPECT_FALSE(f->Matches(PlacedLead("Sandton", "Western Cape")));
}

TEST(LeadFilterTest, ABlankPlaceIsRefusedNamingItsField) {
  for (const std::string prefix : {"", "filters."}) {
    v1::LeadFilter suburbs;
    suburbs.add_suburbs("Manly");
    suburbs.add_suburbs("  ");
    auto f = ParseLeadFilter(suburbs, prefix);
    ASSERT_FALSE(f.ok());
    EXPECT_EQ(ReasonOf(f.status()), "invalid_request");
    EXPECT_THAT(f.status().message(), HasSubstr(prefix + "suburbs"));
    v1::LeadFilter provinces;
    provinces.add_provinces("");
    f = ParseLeadFilter(provinces, prefix);
    ASSERT_FALSE(f.ok());
    EXPECT_THAT(f.status().message(), HasSubstr(prefix + "provinces"));
  }
}

TEST(LeadFilterTest, ScoreBoundsAreAccepted) {
  EXPECT_TRUE(ParseLeadFilter(Proto({}, {}, 0), "").ok());
  EXPECT_TRUE(ParseLeadFilter(Proto({}, {}, 100), "").ok());
}

}  // namespace
}  // namespace leadrelay::domain
