#include "domain/lead_erasure.h"

#include <string>

#include "common/status_util.h"
#include "domain/input_limits.h"
#include "gtest/gtest.h"

namespace leadrelay::domain {
namespace {

v1::Lead FullLead() {
  v1::Lead lead;
  lead.set_id("lead_1");
  lead.set_vertical("solar");
  lead.set_sub_vertical("residential");
  lead.set_first_name("Zanele");
  lead.set_last_name("Khumalo");
  lead.set_suburb("Soweto");
  lead.set_province("Gauteng");
  lead.set_service_type("rooftop_install");
  lead.set_budget_range("R50k-R100k");
  lead.set_urgency("asap");
  lead.set_phone("+27825550101");
  lead.set_email("zanele@example.com");
  lead.set_score(81);
  lead.set_score_tier("hot");
  lead.mutable_score_breakdown()->set_phone_valid(10);
  lead.set_status("contacted");
  lead.set_external_id("crm-77");
  lead.set_source("web_form");
  lead.mutable_linkedin()->set_full_name("Zanele Khumalo");
  lead.mutable_created_at()->set_seconds(1700000000);
  return lead;
}

TEST(ErasedLead, KeepsOnlyWhatSaysNothingAboutThePerson) {
  v1::Lead kept = ErasedLead(FullLead());
  EXPECT_EQ(kept.id(), "lead_1");
  EXPECT_EQ(kept.vertical(), "solar");
  EXPECT_EQ(kept.score(), 81);
  EXPECT_EQ(kept.score_tier(), "hot");
  EXPECT_EQ(kept.status(), "contacted");
  EXPECT_EQ(kept.created_at().seconds(), 1700000000);
  EXPECT_EQ(kept.score_breakdown().phone_valid(), 10);
  std::string bytes = kept.SerializeAsString();
  for (const char* personal :
       {"Zanele", "Khumalo", "Soweto", "Gauteng", "+27825550101",
        "zanele@example.com", "crm-77"}) {
    EXPECT_EQ(bytes.find(personal), std::string::npos) << personal;
  }
  EXPECT_FALSE(kept.has_linkedin());
}

TEST(ErasedLeadEvent, RemovesTheLeadAndItsContact) {
  v1::Event event;
  event.set_id("evt_1");
  event.set_type("lead.new");
  *event.mutable_lead()->mutable_lead() = FullLead();
  event.mutable_lead()->mutable_contact()->set_phone("+27825550101");
  event.mutable_lead()->mutable_contact()->set_email("zanele@example.com");
  event.mutable_lead()->add_changed_fields("status");
  v1::Event out = ErasedLeadEvent(event);
  EXPECT_EQ(out.id(), "evt_1");
  EXPECT_EQ(out.lead().lead().id(), "lead_1");
  EXPECT_FALSE(out.lead().has_contact());
  EXPECT_EQ(out.lead().changed_fields_size(), 1);
  EXPECT_EQ(out.SerializeAsString().find("Zanele"), std::string::npos);
}

TEST(ErasedLeadEvent, LeavesOtherEventsAlone) {
  v1::Event event;
  event.set_type("follower.gained");
  event.mutable_follower()->set_target_username("someone");
  EXPECT_EQ(ErasedLeadEvent(event).SerializeAsString(),
            event.SerializeAsString());
}

TEST(ValidateEraseLeads, NeedsAKey) {
  absl::Status status = ValidateEraseLeads(v1::EraseLeadsRequest());
  EXPECT_EQ(ReasonOf(status), kReasonInvalidRequest);
}

TEST(ValidateEraseLeads, CapsTheKeysWithAReasonOfItsOwn) {
  v1::EraseLeadsRequest request;
  for (int i = 0; i < kMaxEraseKeys; ++i) {
    request.add_external_ids("x" + std::to_string(i));
  }
  EXPECT_TRUE(ValidateEraseLeads(request).ok());
  request.add_emails("one-too-many@example.com");
  absl::Status status = ValidateEraseLeads(request);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReasonOf(status), kReasonEraseBatchTooLarge);
}

TEST(ValidateEraseLeads, OneListMayHoldEveryKey) {
  v1::EraseLeadsRequest request;
  for (int i = 0; i < kMaxEraseKeys; ++i) {
    request.add_phones("+2782555" + std::to_string(1000 + i));
  }
  EXPECT_TRUE(CheckFields(request).ok());
  EXPECT_TRUE(ValidateEraseLeads(request).ok());
  request.add_phones("+27825559999");
  EXPECT_EQ(ReasonOf(CheckEraseKeyCount(request)), kReasonEraseBatchTooLarge);
}

TEST(ValidateEraseLeads, RejectsMalformedKeys) {
  v1::EraseLeadsRequest phone;
  phone.add_phones("082 555 0101");
  EXPECT_EQ(ReasonOf(ValidateEraseLeads(phone)), kReasonInvalidRequest);
  v1::EraseLeadsRequest email;
  email.add_emails("not-an-address");
  EXPECT_EQ(ReasonOf(ValidateEraseLeads(email)), kReasonInvalidRequest);
  v1::EraseLeadsRequest empty;
  empty.add_external_ids("");
  EXPECT_EQ(ReasonOf(ValidateEraseLeads(empty)), kReasonInvalidRequest);
}

TEST(ContactKeysOf, NamesPhoneAndEmail) {
  v1::EraseLeadsRequest request;
  request.add_phones("+27825550101");
  request.add_emails("A@Example.com");
  auto keys = ContactKeysOf(request);
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].kind, "phone");
  EXPECT_EQ(keys[1].kind, "email");
  EXPECT_EQ(ContactKeysOf(FullLead()).size(), 2u);
  EXPECT_TRUE(ContactKeysOf(v1::Lead()).empty());
}

}  // namespace
}  // namespace leadrelay::domain
