// The event catalogue: known types, webhook subscriptions, publishing.
#include "domain/event_catalogue.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "common/status_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "leadrelay/v1/event.pb.h"

namespace leadrelay::domain {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsSupersetOf;

TEST(EventTypesTest, CataloguesEveryTypeTheDesignPromises) {
  EXPECT_THAT(EventTypes(),
              IsSupersetOf({"lead.new", "lead.updated", "lead.enriched",
                            "stats.updated", "follower.gained", "follower.lost",
                            "dm.sent", "dm.failed", "job.completed",
                            "job.failed", "connection.completed"}));
  EXPECT_EQ(EventTypes().front(), "lead.new");
}

TEST(EventTypesTest, NamesAreUniqueAndLowerCase) {
  const std::vector<std::string>& types = EventTypes();
  for (size_t i = 0; i < types.size(); ++i) {
    for (char c : types[i]) {
      EXPECT_FALSE(c >= 'A' && c <= 'Z') << types[i];
    }
    for (size_t j = i + 1; j < types.size(); ++j) {
      EXPECT_NE(types[i], types[j]);
    }
  }
}

TEST(IsKnownEventTypeTest, ExactMatchOnly) {
  EXPECT_TRUE(IsKnownEventType("lead.new"));
  EXPECT_TRUE(IsKnownEventType("connection.completed"));
  EXPECT_FALSE(IsKnownEventType(""));
  EXPECT_FALSE(IsKnownEventType("Lead.New"));
  EXPECT_FALSE(IsKnownEventType("lead.*"));
  EXPECT_FALSE(IsKnownEventType("lead"));
  EXPECT_FALSE(IsKnownEventType("lead.new "));
}

TEST(ValidateSubscriptionTest, AcceptsKnownTypes) {
  EXPECT_TRUE(ValidateSubscription({"lead.new"}).ok());
  EXPECT_TRUE(
      ValidateSubscription({"lead.new", "lead.updated", "dm.sent"}).ok());
  EXPECT_TRUE(ValidateSubscription(EventTypes()).ok());
}

TEST(ValidateSubscriptionTest, EmptyListIsRejectedListingChoices) {
  absl::Status s = ValidateSubscription({});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReasonOf(s), "invalid_request");
  EXPECT_THAT(s.message(),
              AllOf(HasSubstr("at least one"), HasSubstr("lead.new")));
}

TEST(ValidateSubscriptionTest, UnknownTypeIsNamed) {
  absl::Status s = ValidateSubscription({"lead.new", "lead.deleted"});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(),
              AllOf(HasSubstr("'lead.deleted'"), HasSubstr("known types")));
}

// BuildPublishedEvent

TEST(BuildPublishedEventTest, LeadEventsAreLeftToTheLeadCalls) {
  // Publishing a lead event would skip lead validation and credits.
  for (const auto& [type, rpc] :
       {std::pair<std::string, std::string>{"lead.new", "CreateLead"},
        {"lead.updated", "UpdateLead"}}) {
    v1::PublishEventRequest request;
    request.set_type(type);
    request.mutable_lead()->mutable_lead()->set_vertical("nonsense");
    request.mutable_lead()->mutable_lead()->set_score(1000);
    v1::Event event;
    absl::Status s = BuildPublishedEvent(request, event);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << type;
    EXPECT_THAT(s.message(), AllOf(HasSubstr(type), HasSubstr(rpc)));
    EXPECT_TRUE(event.type().empty()) << type;
  }
}

TEST(BuildPublishedEventTest, EnrichedBatchCountIsDerived) {
  v1::PublishEventRequest request;
  request.set_type("lead.enriched");
  auto* data = request.mutable_lead_enriched();
  data->add_leads()->set_urn("urn:li:person:1");
  data->add_leads()->set_urn("urn:li:person:2");
  data->add_leads()->set_urn("urn:li:person:3");
  data->add_posts()->set_id("post-1");
  data->set_count(99);  // a publisher's wrong count is corrected
  v1::Event event;
  ASSERT_TRUE(BuildPublishedEvent(request, event).ok());
  EXPECT_EQ(event.lead_enriched().count(), 3);
  EXPECT_EQ(event.lead_enriched().leads_size(), 3);
  EXPECT_EQ(event.lead_enriched().posts(0).id(), "post-1");
}

TEST(BuildPublishedEventTest, EachPayloadKindIsAccepted) {
  struct Case {
    const char* type;
    void (*fill)(v1::PublishEventRequest&);
    v1::Event::DataCase expected;
  };
  const Case cases[] = {
      {"stats.updated",
       [](v1::PublishEventRequest& r) { r.mutable_stats()->set_platform("x"); },
       v1::Event::kStats},
      {"follower.lost",
       [](v1::PublishEventRequest& r) {
         r.mutable_follower()->set_target_username("bob");
       },
       v1::Event::kFollower},
      {"dm.failed",
       [](v1::PublishEventRequest& r) { r.mutable_dm()->set_error("quota"); },
       v1::Event::kDm},
      {"job.completed",
       [](v1::PublishEventRequest& r) { r.mutable_job()->set_job_id(7); },
       v1::Event::kJob},
      {"connection.completed",
       [](v1::PublishEventRequest& r) {
         r.mutable_connection()->set_custom_user_id("cust-1");
       },
       v1::Event::kConnection},
  };
  for (const Case& c : cases) {
    v1::PublishEventRequest request;
    request.set_type(c.type);
    c.fill(request);
    v1::Event event;
    absl::Status s = BuildPublishedEvent(request, event);
    ASSERT_TRUE(s.ok()) << c.type << ": " << s;
    EXPECT_EQ(event.type(), c.type);
    EXPECT_EQ(event.data_case(), c.expected) << c.type;
  }
}

TEST(BuildPublishedEventTest, MismatchedPayloadNamesTheRightField) {
  v1::PublishEventRequest request;
  request.set_type("lead.enriched");
  request.mutable_lead()->mutable_lead()->set_first_name("x");
  v1::Event event;
  absl::Status s = BuildPublishedEvent(request, event);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("'lead_enriched'"));
}

TEST(BuildPublishedEventTest, MissingPayloadIsRejected) {
  v1::PublishEventRequest request;
  request.set_type("job.failed");
  v1::Event event;
  absl::Status s = BuildPublishedEvent(request, event);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("'job'"));
}

TEST(BuildPublishedEventTest, UnknownTypeIsRejected) {
  v1::PublishEventRequest request;
  request.set_type("lead.deleted");
  request.mutable_lead();
  v1::Event event;
  absl::Status s = BuildPublishedEvent(request, event);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("lead.deleted"));
}

TEST(BuildPublishedEventTest, ServerOwnedTypesCannotBePublished) {
  EXPECT_THAT(EventTypes(), Contains("webhook.test"));
  EXPECT_THAT(EventTypes(), Contains("lead.erased"));
  EXPECT_TRUE(ValidateSubscription({"lead.erased"}).ok());
  for (const char* type : {"webhook.test", "webhook.disabled", "lead.erased"}) {
    v1::PublishEventRequest request;
    request.set_type(type);
    v1::Event event;
    absl::Status s = BuildPublishedEvent(request, event);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << type;
    EXPECT_THAT(s.message(), HasSubstr("cannot be published")) << type;
  }
}

}  // namespace
}  // namespace leadrelay::domain
