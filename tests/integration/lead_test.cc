// LeadService end to end: creation and validation, credits, idempotency,
// listing with filters and pages, updates and the events and stats they
// produce, and isolation between accounts.

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "support/fixture.h"

namespace leadrelay::itest {
namespace {

using ::grpc::StatusCode;

// What one account has in the store; equal snapshots mean nothing changed.
struct StoreSnapshot {
  int64_t leads = 0;
  int64_t events = 0;
  int64_t deliveries = 0;
  int64_t credits = 0;

  bool operator==(const StoreSnapshot& other) const {
    return leads == other.leads && events == other.events &&
           deliveries == other.deliveries && credits == other.credits;
  }
};

std::ostream& operator<<(std::ostream& out, const StoreSnapshot& s) {
  return out << "{leads=" << s.leads << " events=" << s.events
             << " deliveries=" << s.deliveries << " credits=" << s.credits
             << "}";
}

class LeadApiTest : public ServerTest {
 protected:
  StoreSnapshot Snapshot(const std::string& account_id) {
    StoreSnapshot s;
    s.leads = SqlInt("SELECT count(*) FROM leads WHERE account_id = $1",
                     {account_id});
    s.events = SqlInt("SELECT count(*) FROM events WHERE account_id = $1",
                      {account_id});
    s.deliveries = SqlInt(
        "SELECT count(*) FROM deliveries WHERE account_id = $1", {account_id});
    s.credits = StoredCredits(account_id);
    return s;
  }

  // Ids of the leads ListLeads returns for `request` (one page).
  std::set<std::string> ListedIds(const std::string& key,
                                  const v1::ListLeadsRequest& request,
                                  int* total = nullptr) {
    v1::ListLeadsResponse response;
    grpc::Status status = ListLeads(key, request, &response);
    EXPECT_TRUE(IsOk(status)) << request.ShortDebugString();
    std::set<std::string> ids;
    for (const v1::Lead& lead : response.leads()) {
      ids.insert(lead.id());
      EXPECT_TRUE(lead.phone().empty()) << "lists omit contact details";
      EXPECT_TRUE(lead.email().empty()) << "lists omit contact details";
    }
    if (total != nullptr) *total = response.total();
    EXPECT_EQ(response.total(), static_cast<int>(ids.size()))
        << "single page: " << request.ShortDebugString();
    return ids;
  }

  // Creates a lead from SampleLead() with the given changes; "" on failure.
  std::string Create(const std::string& key, const std::string& vertical,
                     int score, const std::string& suburb) {
    v1::Lead lead = SampleLead();
    lead.set_vertical(vertical);
    lead.set_score(score);
    lead.set_suburb(suburb);
    v1::Lead created;
    EXPECT_TRUE(IsOk(CreateLead(key, lead, &created)));
    return created.id();
  }
};

TEST_F(LeadApiTest, CreateLeadStoresTheLeadAndChargesOneCredit) {
  absl::StatusOr<Account> account = NewAccount("pro", 10);
  ASSERT_TRUE(account.ok()) << account.status();
  const v1::Lead input = SampleLead();

  v1::Lead created;
  ASSERT_TRUE(IsOk(CreateLead(account->admin_key, input, &created)));
  EXPECT_FALSE(created.id().empty());
  EXPECT_EQ(created.status(), "new");
  EXPECT_EQ(created.vertical(), "solar");
  EXPECT_EQ(created.first_name(), "Thandi");
  EXPECT_EQ(created.last_name(), "Mokoena");
  EXPECT_EQ(created.suburb(), "Sandton");
  EXPECT_EQ(created.urgency(), "this_month");
  EXPECT_EQ(created.score(), 72);
  EXPECT_EQ(created.score_tier(), "warm");
  EXPECT_TRUE(created.has_created_at());
  EXPECT_TRUE(created.has_delivered_at());

  v1::Lead fetched;
  ASSERT_TRUE(IsOk(GetLead(account->admin_key, created.id(), &fetched)));
  EXPECT_EQ(fetched.id(), created.id());
  EXPECT_EQ(fetched.phone(), "+27821234567");
  EXPECT_EQ(fetched.email(), "thandi@example.com");
  EXPECT_EQ(fetched.score_tier(), "warm");
  EXPECT_EQ(fetched.status(), "new");

  v1::GetCreditsResponse credits;
  ASSERT_TRUE(IsOk(GetCredits(account->admin_key, &credits)));
  EXPECT_EQ(credits.credits(), 9);
  EXPECT_EQ(
      SqlInt("SELECT count(*) FROM leads WHERE account_id = $1", {account->id}),
      1);
}

TEST_F(LeadApiTest, CreateLeadWritesALeadNewEventWithTheContact) {
  absl::StatusOr<Account> account = NewAccount();
  ASSERT_TRUE(account.ok()) << account.status();
  v1::Lead created;
  ASSERT_TRUE(IsOk(CreateLead(account->admin_key, SampleLead(), &created)));

  std::vector<v1::Event> events = AllEvents(account->admin_key, {"lead.new"});
  ASSERT_EQ(events.size(), 1u);
  const v1::Event& event = events[0];
  EXPECT_EQ(event.type(), "lead.new");
  EXPECT_EQ(event.account_id(), account->id);
  EXPECT_FALSE(event.id().empty());
  EXPECT_FALSE(event.cursor().empty());
  EXPECT_TRUE(event.has_created_at());
  ASSERT_EQ(event.data_case(), v1::Event::kLead);
  EXPECT_EQ(event.lead().lead().id(), created.id());
  EXPECT_EQ(event.lead().contact().phone(), "+27821234567");
  EXPECT_EQ(event.lead().contact().email(), "thandi@example.com");
}

TEST_F(LeadApiTest, ScoreTierIsDerivedFromTheScoreWhenNotGiven) {
  const std::vector<std::pair<int, std::string>> cases = {
      {100, "hot"}, {80, "hot"},       {79, "warm"},
      {60, "warm"}, {59, "qualified"}, {0, "qualified"}};
  for (const auto& [score, tier] : cases) {
    v1::Lead lead = SampleLead();
    lead.set_score(score);
    v1::Lead created;
    ASSERT_TRUE(IsOk(CreateLead(key_, lead, &created))) << score;
    EXPECT_EQ(created.score_tier(), tier) << "score " << score;
  }

  v1::Lead lead = SampleLead();
  lead.set_score(10);
  lead.set_score_tier("hot");
  v1::Lead created;
  ASSERT_TRUE(IsOk(CreateLead(key_, lead, &created)));
  EXPECT_EQ(created.score_tier(), "hot") << "a given tier is kept";
}

TEST_F(LeadApiTest, LinkedInFullNameIsEnoughWithoutAFirstName) {
  v1::Lead lead = SampleLead();
  lead.clear_first_name();
  lead.clear_last_name();
  lead.set_vertical("b2b");
  lead.mutable_linkedin()->set_urn("urn:li:person:abc123");
  lead.mutable_linkedin()->set_full_name("Sipho Dlamini");
  lead.mutable_linkedin()->set_headline("CTO at Example");
  v1::Lead created;
  ASSERT_TRUE(IsOk(CreateLead(key_, lead, &created)));

  v1::Lead fetched;
  ASSERT_TRUE(IsOk(GetLead(key_, created.id(), &fetched)));
  EXPECT_EQ(fetched.linkedin().full_name(), "Sipho Dlamini");
  EXPECT_EQ(fetched.linkedin().urn(), "urn:li:person:abc123");
}

TEST_F(LeadApiTest, CreateLeadRejectsInvalidFieldsWithoutCharging) {
  absl::StatusOr<Account> account = NewAccount("pro", 100);
  ASSERT_TRUE(account.ok()) << account.status();
  const StoreSnapshot before = Snapshot(account->id);

  struct Case {
    std::string name;
    std::function<void(v1::Lead*)> change;
  };
  const std::vector<Case> cases = {
      {"unknown vertical", [](v1::Lead* l) { l->set_vertical("cars"); }},
      {"empty vertical", [](v1::Lead* l) { l->clear_vertical(); }},
      {"score above 100", [](v1::Lead* l) { l->set_score(101); }},
      {"negative score", [](v1::Lead* l) { l->set_score(-1); }},
      {"unknown tier", [](v1::Lead* l) { l->set_score_tier("lukewarm"); }},
      {"phone without +", [](v1::Lead* l) { l->set_phone("0821234567"); }},
      {"phone too short", [](v1::Lead* l) { l->set_phone("+1234567"); }},
      {"phone too long",
       [](v1::Lead* l) { l->set_phone("+1234567890123456"); }},
      {"phone with letters", [](v1::Lead* l) { l->set_phone("+2782123abcd"); }},
      {"email without @", [](v1::Lead* l) { l->set_email("thandi.example"); }},
      {"email without domain", [](v1::Lead* l) { l->set_email("thandi@"); }},
      {"no name at all",
       [](v1::Lead* l) {
         l->clear_first_name();
         l->clear_last_name();
       }},
  };
  for (const Case& c : cases) {
    v1::Lead lead = SampleLead();
    c.change(&lead);
    v1::Lead created;
    EXPECT_TRUE(HasError(CreateLead(account->admin_key, lead, &created),
                         StatusCode::INVALID_ARGUMENT, "invalid_request"))
        << c.name;
  }
  EXPECT_EQ(Snapshot(account->id), before)
      << "rejected leads must not be stored or charged";

  // The boundaries that are valid.
  v1::Lead lead = SampleLead();
  lead.set_phone("+12345678");  // 8 digits
  lead.set_score(0);
  v1::Lead created;
  EXPECT_TRUE(IsOk(CreateLead(account->admin_key, lead, &created)));
  lead.set_phone("+123456789012345");  // 15 digits
  lead.set_score(100);
  lead.clear_email();
  EXPECT_TRUE(IsOk(CreateLead(account->admin_key, lead, &created)));
}

TEST_F(LeadApiTest, CreateLeadWithoutCreditsChangesNothing) {
  absl::StatusOr<Account> account = NewAccount("pro", 0);
  ASSERT_TRUE(account.ok()) << account.status();
  v1::CreateWebhookResponse webhook;
  ASSERT_TRUE(IsOk(CreateWebhook(account->admin_key, "http://127.0.0.1:9/hook",
                                 {"lead.new"}, &webhook)));
  const StoreSnapshot before = Snapshot(account->id);

  v1::Lead created;
  EXPECT_TRUE(HasError(CreateLead(account->admin_key, SampleLead(), &created),
                       StatusCode::PERMISSION_DENIED, "insufficient_credits"));

  EXPECT_EQ(Snapshot(account->id), before);
  v1::GetCreditsResponse credits;
  ASSERT_TRUE(IsOk(GetCredits(account->admin_key, &credits)));
  EXPECT_EQ(credits.credits(), 0);
  EXPECT_TRUE(AllEvents(account->admin_key).empty());
}

TEST_F(LeadApiTest, TheLastCreditBuysOneLeadAndNoMore) {
  absl::StatusOr<Account> account = NewAccount("pro", 1);
  ASSERT_TRUE(account.ok()) << account.status();

  v1::Lead created;
  ASSERT_TRUE(IsOk(CreateLead(account->admin_key, SampleLead(), &created)));
  const StoreSnapshot after_first = Snapshot(account->id);
  EXPECT_EQ(after_first.credits, 0);
  EXPECT_EQ(after_first.leads, 1);

  EXPECT_TRUE(HasError(CreateLead(account->admin_key, SampleLead(), &created),
                       StatusCode::PERMISSION_DENIED, "insufficient_credits"));
  EXPECT_EQ(Snapshot(account->id), after_first);
}

TEST_F(LeadApiTest, ExternalIdMakesCreateLeadIdempotent) {
  absl::StatusOr<Account> account = NewAccount("pro", 10);
  ASSERT_TRUE(account.ok()) << account.status();
  v1::Lead lead = SampleLead();
  lead.set_external_id("crm-000042");

  v1::Lead first;
  ASSERT_TRUE(IsOk(CreateLead(account->admin_key, lead, &first)));
  v1::Lead second;
  ASSERT_TRUE(IsOk(CreateLead(account->admin_key, lead, &second)));
  EXPECT_EQ(second.id(), first.id());
  EXPECT_EQ(second.external_id(), "crm-000042");

  EXPECT_EQ(
      SqlInt("SELECT count(*) FROM leads WHERE account_id = $1", {account->id}),
      1);
  EXPECT_EQ(AllEvents(account->admin_key, {"lead.new"}).size(), 1u)
      << "a repeated CreateLead writes no second lead.new";

  // The external id is the producer's, per account: another account's lead
  // with the same external id is its own.
  v1::Lead theirs;
  ASSERT_TRUE(IsOk(CreateLead(other_.admin_key, lead, &theirs)));
  EXPECT_NE(theirs.id(), first.id());
}

TEST_F(LeadApiTest, RepeatedExternalIdIsChargedOnce) {
  absl::StatusOr<Account> account = NewAccount("pro", 10);
  ASSERT_TRUE(account.ok()) << account.status();
  v1::Lead lead = SampleLead();
  lead.set_external_id("crm-000043");
  v1::Lead created;
  ASSERT_TRUE(IsOk(CreateLead(account->admin_key, lead, &created)));
  ASSERT_TRUE(IsOk(CreateLead(account->admin_key, lead, &created)));

  v1::GetCreditsResponse credits;
  ASSERT_TRUE(IsOk(GetCredits(account->admin_key, &credits)));
  EXPECT_EQ(credits.credits(), 9)
      << "the repeat returns the existing lead; it buys nothing new";
}

TEST_F(LeadApiTest, ConcurrentRetriesOfOneExternalIdCreateOneLead) {
  absl::StatusOr<Account> account = NewAccount("pro", 100);
  ASSERT_TRUE(account.ok()) << account.status();
  v1::Lead lead = SampleLead();
  lead.set_external_id("crm-race-1");
  constexpr int kProducers = 8;
  std::vector<v1::Lead> got(kProducers);
  std::vector<grpc::Status> statuses(kProducers);
  std::vector<std::thread> producers;
  for (int i = 0; i < kProducers; ++i) {
    producers.emplace_back([&, i] {
      statuses[i] = CreateLead(account->admin_key, lead, &got[i]);
    });
  }
  for (std::thread& t : producers) t.join();

  for (int i = 0; i < kProducers; ++i) {
    ASSERT_TRUE(IsOk(statuses[i])) << "producer " << i;
    EXPECT_EQ(got[i].id(), got[0].id()) << "producer " << i;
  }
  EXPECT_EQ(
      SqlInt("SELECT count(*) FROM leads WHERE account_id = $1", {account->id}),
      1);
  EXPECT_EQ(AllEvents(account->admin_key, {"lead.new"}).size(), 1u);
  v1::GetCreditsResponse credits;
  ASSERT_TRUE(IsOk(GetCredits(account->admin_key, &credits)));
  EXPECT_EQ(credits.credits(), 99);
}

TEST_F(LeadApiTest, ListLeadsFiltersByVerticalTierSuburbAndStatus) {
  absl::StatusOr<Account> account = NewAccount();
  ASSERT_TRUE(account.ok()) << account.status();
  const std::string& key = account->admin_key;
  const std::string hot_solar = Create(key, "solar", 90, "Sandton");
  const std::string warm_insurance = Create(key, "insurance", 65, "Rosebank");
  const std::string qualified_solar = Create(key, "solar", 30, "sandton");
  const std::string warm_b2b = Create(key, "b2b", 70, "Durbanville");
  ASSERT_FALSE(HasFailure());
  v1::UpdateLeadRequest update;
  update.set_id(warm_b2b);
  update.set_status("contacted");
  v1::Lead updated;
  ASSERT_TRUE(IsOk(UpdateLead(key, update, &updated)));

  using Ids = std::set<std::string>;
  v1::ListLeadsRequest all;
  EXPECT_EQ(ListedIds(key, all),
            (Ids{hot_solar, warm_insurance, qualified_solar, warm_b2b}));

  v1::ListLeadsRequest request;
  request.set_vertical("solar");
  EXPECT_EQ(ListedIds(key, request), (Ids{hot_solar, qualified_solar}));

  request = {};
  request.set_score_tier("warm");
  EXPECT_EQ(ListedIds(key, request), (Ids{warm_insurance, warm_b2b}));

  request = {};
  request.set_suburb("SANDTON");
  EXPECT_EQ(ListedIds(key, request), (Ids{hot_solar, qualified_solar}))
      << "suburb matches case-insensitively";

  request = {};
  request.set_suburb("Sand");
  EXPECT_EQ(ListedIds(key, request), Ids{}) << "suburb matches exactly";

  request = {};
  request.set_status("contacted");
  EXPECT_EQ(ListedIds(key, request), (Ids{warm_b2b}));

  request = {};
  request.set_status("new");
  EXPECT_EQ(ListedIds(key, request),
            (Ids{hot_solar, warm_insurance, qualified_solar}));

  request = {};
  request.set_vertical("solar");
  request.set_score_tier("hot");
  EXPECT_EQ(ListedIds(key, request), (Ids{hot_solar}));

  request = {};
  request.set_vertical("property");
  EXPECT_EQ(ListedIds(key, request), Ids{});
}

TEST_F(LeadApiTest, ListLeadsPagesThroughEveryLeadOnce) {
  absl::StatusOr<Account> account = NewAccount();
  ASSERT_TRUE(account.ok()) << account.status();
  std::set<std::string> created;
  for (int i = 0; i < 5; ++i) {
    created.insert(Create(account->admin_key, "property", 50 + i, "Umhlanga"));
  }
  ASSERT_EQ(created.size(), 5u);

  std::set<std::string> seen;
  const std::vector<int> expected_sizes = {2, 2, 1, 0};
  for (int page = 1; page <= 4; ++page) {
    v1::ListLeadsRequest request;
    request.set_page(page);
    request.set_limit(2);
    v1::ListLeadsResponse response;
    ASSERT_TRUE(IsOk(ListLeads(account->admin_key, request, &response)));
    EXPECT_EQ(response.total(), 5) << "page " << page;
    EXPECT_EQ(response.page(), page);
    EXPECT_EQ(response.limit(), 2);
    EXPECT_EQ(response.leads_size(), expected_sizes[page - 1])
        << "page " << page;
    for (const v1::Lead& lead : response.leads()) {
      EXPECT_TRUE(seen.insert(lead.id()).second)
          << lead.id() << " listed twice";
    }
  }
  EXPECT_EQ(seen, created);

  v1::ListLeadsResponse defaults;
  ASSERT_TRUE(IsOk(ListLeads(account->admin_key, {}, &defaults)));
  EXPECT_EQ(defaults.page(), 1);
  EXPECT_EQ(defaults.limit(), 25);
  EXPECT_EQ(defaults.leads_size(), 5);

  v1::ListLeadsRequest max;
  max.set_limit(100);
  v1::ListLeadsResponse response;
  EXPECT_TRUE(IsOk(ListLeads(account->admin_key, max, &response)));
  EXPECT_EQ(response.limit(), 100);
}

TEST_F(LeadApiTest, ListLeadsRejectsALimitAbove100) {
  v1::ListLeadsRequest request;
  request.set_limit(101);
  v1::ListLeadsResponse response;
  EXPECT_TRUE(HasError(ListLeads(key_, request, &response),
                       StatusCode::INVALID_ARGUMENT, "invalid_request"));
}

TEST_F(LeadApiTest, ListLeadsFiltersByDeliveryDate) {
  absl::StatusOr<Account> account = NewAccount();
  ASSERT_TRUE(account.ok()) << account.status();
  const std::string id = Create(account->admin_key, "financial", 55, "Soweto");
  ASSERT_FALSE(id.empty());
  const std::string yesterday = UtcDate(-1);
  const std::string today = UtcDate(0);
  const std::string tomorrow = UtcDate(1);

  struct Case {
    std::string from;
    std::string to;
    bool listed;
  };
  const std::vector<Case> cases = {
      {today, today, true},
      {today, "", true},
      {"", today, true},
      {yesterday, tomorrow, true},
      {tomorrow, "", false},
      {"", yesterday, false},
      {yesterday, yesterday, false},
  };
  for (const Case& c : cases) {
    v1::ListLeadsRequest request;
    request.set_date_from(c.from);
    request.set_date_to(c.to);
    std::set<std::string> expected;
    if (c.listed) expected.insert(id);
    EXPECT_EQ(ListedIds(account->admin_key, request), expected)
        << "date_from=" << c.from << " date_to=" << c.to;
  }

  for (const char* bad :
       {"yesterday", "2026/05/01", "01-05-2026", "2026-13-01", "2026-5-1x"}) {
    v1::ListLeadsRequest request;
    request.set_date_from(bad);
    v1::ListLeadsResponse response;
    EXPECT_TRUE(HasError(ListLeads(account->admin_key, request, &response),
                         StatusCode::INVALID_ARGUMENT, "invalid_request"))
        << "date_from=" << bad;
    request.clear_date_from();
    request.set_date_to(bad);
    EXPECT_TRUE(HasError(ListLeads(account->admin_key, request, &response),
                         StatusCode::INVALID_ARGUMENT, "invalid_request"))
        << "date_to=" << bad;
  }
}

TEST_F(LeadApiTest, AnotherAccountsLeadIsNotFound) {
  v1::Lead mine;
  ASSERT_TRUE(IsOk(CreateLead(key_, SampleLead(), &mine)));

  v1::Lead lead;
  EXPECT_TRUE(HasError(GetLead(other_.admin_key, mine.id(), &lead),
                       StatusCode::NOT_FOUND, "not_found"));
  v1::UpdateLeadRequest update;
  update.set_id(mine.id());
  update.set_status("lost");
  EXPECT_TRUE(HasError(UpdateLead(other_.admin_key, update, &lead),
                       StatusCode::NOT_FOUND, "not_found"));

  EXPECT_TRUE(HasError(GetLead(key_, "lead_does_not_exist", &lead),
                       StatusCode::NOT_FOUND, "not_found"));
  update.set_id("lead_does_not_exist");
  EXPECT_TRUE(HasError(UpdateLead(key_, update, &lead), StatusCode::NOT_FOUND,
                       "not_found"));

  ASSERT_TRUE(IsOk(GetLead(key_, mine.id(), &lead)));
  EXPECT_EQ(lead.status(), "new") << "the other account changed nothing";
}

TEST_F(LeadApiTest, UpdateLeadChangesTheLeadAndEmitsLeadUpdated) {
  absl::StatusOr<Account> account = NewAccount();
  ASSERT_TRUE(account.ok()) << account.status();
  v1::Lead created;
  ASSERT_TRUE(IsOk(CreateLead(account->admin_key, SampleLead(), &created)));

  v1::UpdateLeadRequest update;
  update.set_id(created.id());
  update.set_status("contacted");
  update.set_score(85);
  v1::Lead updated;
  ASSERT_TRUE(IsOk(UpdateLead(account->admin_key, update, &updated)));
  EXPECT_EQ(updated.id(), created.id());
  EXPECT_EQ(updated.status(), "contacted");
  EXPECT_EQ(updated.score(), 85);
  EXPECT_EQ(updated.first_name(), "Thandi") << "other fields are kept";

  v1::Lead fetched;
  ASSERT_TRUE(IsOk(GetLead(account->admin_key, created.id(), &fetched)));
  EXPECT_EQ(fetched.status(), "contacted");
  EXPECT_EQ(fetched.score(), 85);

  std::vector<v1::Event> events =
      AllEvents(account->admin_key, {"lead.updated"});
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type(), "lead.updated");
  ASSERT_EQ(events[0].data_case(), v1::Event::kLead);
  EXPECT_EQ(events[0].lead().lead().id(), created.id());
  EXPECT_EQ(events[0].lead().lead().status(), "contacted");
  std::set<std::string> changed(events[0].lead().changed_fields().begin(),
                                events[0].lead().changed_fields().end());
  EXPECT_TRUE(changed.count("status")) << events[0].ShortDebugString();
  EXPECT_TRUE(changed.count("score")) << events[0].ShortDebugString();

  // The log has the lead.new first, then the lead.updated.
  std::vector<v1::Event> all = AllEvents(account->admin_key);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].type(), "lead.new");
  EXPECT_EQ(all[1].type(), "lead.updated");
}

TEST_F(LeadApiTest, UpdateLeadRejectsInvalidValues) {
  v1::Lead created;
  ASSERT_TRUE(IsOk(CreateLead(key_, SampleLead(), &created)));

  std::vector<v1::UpdateLeadRequest> cases(4);
  cases[0].set_status("won");
  cases[1].set_score(101);
  cases[2].set_score(-5);
  cases[3].set_score_tier("lukewarm");
  for (v1::UpdateLeadRequest& update : cases) {
    update.set_id(created.id());
    v1::Lead lead;
    EXPECT_TRUE(HasError(UpdateLead(key_, update, &lead),
                         StatusCode::INVALID_ARGUMENT, "invalid_request"))
        << update.ShortDebugString();
  }
  v1::Lead fetched;
  ASSERT_TRUE(IsOk(GetLead(key_, created.id(), &fetched)));
  EXPECT_EQ(fetched.status(), "new");
  EXPECT_EQ(fetched.score(), 72);
}

TEST_F(LeadApiTest, AccountStatsCountConversions) {
  absl::StatusOr<Account> account = NewAccount("starter", 100);
  ASSERT_TRUE(account.ok()) << account.status();
  const std::string& key = account->admin_key;
  const std::string first = Create(key, "solar", 90, "Sandton");
  const std::string second = Create(key, "solar", 40, "Sandton");
  ASSERT_FALSE(HasFailure());

  v1::UpdateLeadRequest convert;
  convert.set_id(first);
  convert.set_status("converted");
  v1::Lead lead;
  ASSERT_TRUE(IsOk(UpdateLead(key, convert, &lead)));

  auto stats = [&](v1::AccountStats* out) {
    grpc::ClientContext context;
    Authorize(&context, key);
    return api().accounts->GetAccountStats(&context, {}, out);
  };
  v1::AccountStats result;
  ASSERT_TRUE(IsOk(stats(&result)));
  EXPECT_EQ(result.leads_received(), 2);
  EXPECT_EQ(result.leads_converted(), 1);
  EXPECT_EQ(result.conversion_rate(), "50.0%");
  EXPECT_EQ(result.leads_this_month(), 2);
  EXPECT_EQ(result.quota_this_month(), 150);
  EXPECT_EQ(result.active_plan(), "starter");

  ASSERT_FALSE(Create(key, "solar", 10, "Sandton").empty());
  ASSERT_TRUE(IsOk(stats(&result)));
  EXPECT_EQ(result.leads_received(), 3);
  EXPECT_EQ(result.leads_converted(), 1);
  EXPECT_EQ(result.conversion_rate(), "33.3%");

  convert.set_id(second);
  ASSERT_TRUE(IsOk(UpdateLead(key, convert, &lead)));
  ASSERT_TRUE(IsOk(stats(&result)));
  EXPECT_EQ(result.leads_converted(), 2);
  EXPECT_EQ(result.conversion_rate(), "66.7%");
}

TEST_F(LeadApiTest, AccountStatsCountLeadsPerDayForThirtyDays) {
  absl::StatusOr<Account> account = NewAccount("starter", 100);
  ASSERT_TRUE(account.ok()) << account.status();
  const std::string& key = account->admin_key;
  ASSERT_FALSE(Create(key, "solar", 90, "Sandton").empty());
  ASSERT_FALSE(Create(key, "insurance", 50, "Sandton").empty());

  grpc::ClientContext context;
  Authorize(&context, key);
  v1::AccountStats stats;
  ASSERT_TRUE(IsOk(api().accounts->GetAccountStats(&context, {}, &stats)));
  ASSERT_EQ(stats.leads_per_day_size(), 30);
  const std::string today =
      absl::FormatTime("%Y-%m-%d", absl::Now(), absl::UTCTimeZone());
  // The series ends today (UTC) unless the day turned over mid-call.
  const v1::DailyCount& last = stats.leads_per_day(29);
  if (last.day() == today) {
    EXPECT_EQ(last.count(), 2);
  }
  int total = 0;
  for (int i = 0; i < 30; ++i) {
    total += stats.leads_per_day(i).count();
    if (i > 0) {
      EXPECT_LT(stats.leads_per_day(i - 1).day(), stats.leads_per_day(i).day());
    }
  }
  EXPECT_EQ(total, 2);
}

TEST_F(LeadApiTest, AccountsSeeOnlyTheirOwnLeads) {
  absl::StatusOr<Account> a = NewAccount();
  absl::StatusOr<Account> b = NewAccount();
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  const std::string a1 = Create(a->admin_key, "solar", 90, "Sandton");
  const std::string a2 = Create(a->admin_key, "insurance", 60, "Sandton");
  const std::string b1 = Create(b->admin_key, "solar", 90, "Sandton");
  ASSERT_FALSE(HasFailure());

  int total = 0;
  EXPECT_EQ(ListedIds(a->admin_key, {}, &total),
            (std::set<std::string>{a1, a2}));
  EXPECT_EQ(total, 2);
  EXPECT_EQ(ListedIds(b->admin_key, {}, &total), (std::set<std::string>{b1}));
  EXPECT_EQ(total, 1);

  v1::ListLeadsRequest solar;
  solar.set_vertical("solar");
  EXPECT_EQ(ListedIds(a->admin_key, solar), (std::set<std::string>{a1}));
}

}  // namespace
}  // namespace leadrelay::itest
