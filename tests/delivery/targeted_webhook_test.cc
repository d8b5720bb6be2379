// Targeted webhooks end to end: lead filters set over gRPC and REST, a
// mixed batch of leads created one by one and concurrently (the batched
// write path), and what a real HTTP receiver and the deliveries table see.
// Expected outcomes are written out per lead, not recomputed with the
// server's matching code.

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "delivery/rest_world.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace leadrelay::dtest {
namespace {

using ::google::protobuf::Struct;
using ::grpc::StatusCode;
using itest::Authorize;
using itest::HasError;
using itest::IsOk;

constexpr absl::Duration kWait = absl::Seconds(60);

// One lead of the mixed batch and whether the filtered endpoint (verticals
// solar/property, tiers hot/warm, min_score 65) should get it.
struct LeadSpec {
  const char* vertical;
  int score;
  const char* tier;  // "" derives it: hot >= 80, warm >= 60, else qualified
  bool wanted;
};

constexpr LeadSpec kMixed[] = {
    {"solar", 90, "", true},               // hot
    {"solar", 70, "", true},               // warm
    {"solar", 62, "", false},              // warm, under min_score
    {"solar", 50, "", false},              // qualified
    {"property", 85, "", true},            // hot
    {"property", 95, "qualified", false},  // tier given
    {"insurance", 95, "", false},          // vertical
    {"b2b", 80, "", false},                // vertical
    {"financial", 66, "", false},          // vertical
    {"property", 65, "warm", true},        // min_score is inclusive
    {"solar", 100, "warm", true},
    {"property", 64, "hot", false},  // under min_score
};
constexpr char kFilterJson[] =
    R"({"verticals": ["solar", "Property"], "score_tiers": ["hot", "warm"],)"
    R"( "min_score": 65})";

Struct Json(const std::string& body) {
  Struct out;
  auto status = google::protobuf::util::JsonStringToMessage(body, &out);
  EXPECT_TRUE(status.ok()) << status.ToString() << ": " << body;
  return out;
}

std::string StrAt(const Struct& object, const std::string& path) {
  const google::protobuf::Value* v = AtPath(object, path);
  return v == nullptr ? "<missing " + path + ">" : v->string_value();
}

class TargetedWebhookTest : public RestWorldTest {
 protected:
  Api& api() { return world_->api(); }

  // A receiver URL of this test's own (the receiver is shared).
  std::string NewPath() { return "/" + itest::UniqueName("hook"); }

  // Creates a webhook over REST; returns the webhook JSON.
  Struct CreateRest(const std::string& path, const std::string& events_json,
                    const std::string& filters_json) {
    std::string body = absl::StrCat(
        R"({"url": ")", world_->receiver->Url(path), R"(", "events": )",
        events_json,
        filters_json.empty() ? "" : ", \"filters\": ", filters_json, "}");
    HttpResponse r = world_->Rest(key_, "POST", "/v1/webhooks", body);
    EXPECT_EQ(r.status, 200) << r.body;
    Struct response = Json(r.body);
    const google::protobuf::Value* hook = AtPath(response, "webhook");
    return hook == nullptr ? Struct() : hook->struct_value();
  }

  std::string CreateLead(const LeadSpec& spec, const std::string& external) {
    grpc::ClientContext context;
    Authorize(&context, key_);
    v1::CreateLeadRequest request;
    v1::Lead* lead = request.mutable_lead();
    lead->set_vertical(spec.vertical);
    lead->set_score(spec.score);
    lead->set_score_tier(spec.tier);
    lead->set_first_name("Lerato");
    lead->set_phone("+27821234567");
    lead->set_external_id(external);
    v1::Lead created;
    grpc::Status status = api().leads->CreateLead(&context, request, &created);
    EXPECT_TRUE(IsOk(status)) << external;
    return created.id();
  }

  // A hot solar lead (no other filter applies) in this suburb and province.
  std::string CreatePlacedLead(const std::string& suburb,
                               const std::string& province,
                               const std::string& external) {
    grpc::ClientContext context;
    Authorize(&context, key_);
    v1::CreateLeadRequest request;
    v1::Lead* lead = request.mutable_lead();
    lead->set_vertical("solar");
    lead->set_score(90);
    lead->set_suburb(suburb);
    lead->set_province(province);
    lead->set_first_name("Thandi");
    lead->set_phone("+27821234567");
    lead->set_external_id(external);
    v1::Lead created;
    grpc::Status status = api().leads->CreateLead(&context, request, &created);
    EXPECT_TRUE(IsOk(status)) << external << ": " << status.error_message();
    return created.id();
  }

  int64_t Rows(const std::string& webhook_id, const std::string& type) {
    absl::StatusOr<int64_t> n = world_->env->db().QueryInt(
        "SELECT count(*) FROM deliveries WHERE webhook_id = $1 AND "
        "event_type = $2",
        {webhook_id, type});
    EXPECT_TRUE(n.ok()) << n.status();
    return n.value_or(-1);
  }

  // external_ids of the lead.new bodies that reached `path`.
  static std::multiset<std::string> LeadsAt(
      const std::vector<ReceivedRequest>& requests, const std::string& path) {
    std::multiset<std::string> out;
    for (const ReceivedRequest& r : requests) {
      if (r.path != path || r.Header("x-leadrelay-event") != "lead.new") {
        continue;
      }
      out.insert(StrAt(Json(r.body), "data.lead.external_id"));
    }
    return out;
  }

  bool WaitForLeads(const std::string& path, size_t n) {
    return world_->receiver->WaitUntil(
        // Called under the receiver's lock: use what it hands over.
        [&](const std::vector<ReceivedRequest>& requests) {
          return LeadsAt(requests, path).size() >= n;
        },
        kWait);
  }
};

TEST_F(TargetedWebhookTest, FilteredEndpointGetsExactlyTheMatchingLeads) {
  const std::string filtered_path = NewPath();
  const std::string all_path = NewPath();
  Struct filtered = CreateRest(
      filtered_path, R"(["lead.new", "lead.updated", "follower.gained"])",
      kFilterJson);
  const std::string filtered_id = StrAt(filtered, "id");
  v1::CreateWebhookResponse all;
  ASSERT_TRUE(IsOk(CreateWebhook(api(), key_, world_->receiver->Url(all_path),
                                 {"lead.new"}, &all)));

  // Round 0 one at a time; rounds 1 and 2 from 12 threads at once, which
  // the server writes in batches (leadrelay_create_leads).
  std::set<std::string> wanted;
  std::vector<std::string> ids(std::size(kMixed));
  const size_t n = std::size(kMixed);
  for (size_t i = 0; i < n; ++i) {
    const std::string external = absl::StrCat("r0-", i);
    ids[i] = CreateLead(kMixed[i], external);
    if (kMixed[i].wanted) wanted.insert(external);
  }
  for (int round = 1; round <= 2; ++round) {
    std::vector<std::thread> threads;
    for (size_t i = 0; i < n; ++i) {
      const std::string external = absl::StrCat("r", round, "-", i);
      if (kMixed[i].wanted) wanted.insert(external);
      threads.emplace_back(
          [this, i, external] { CreateLead(kMixed[i], external); });
    }
    for (std::thread& t : threads) t.join();
  }

  // The rows were written with the leads: no row at all for the others.
  EXPECT_EQ(Rows(filtered_id, "lead.new"), static_cast<int64_t>(wanted.size()));
  EXPECT_EQ(Rows(all.webhook_id(), "lead.new"), static_cast<int64_t>(3 * n));
  ASSERT_TRUE(WaitForLeads(all_path, 3 * n));
  ASSERT_TRUE(WaitForLeads(filtered_path, wanted.size()));
  std::multiset<std::string> got =
      LeadsAt(world_->receiver->Requests(), filtered_path);
  EXPECT_EQ(std::set<std::string>(got.begin(), got.end()), wanted);
  EXPECT_EQ(got.size(), wanted.size()) << "a lead arrived twice";
  EXPECT_EQ(LeadsAt(world_->receiver->Requests(), all_path).size(), 3 * n);

  // lead.updated is filtered on the lead as updated: a qualified solar lead
  // raised to 90 now matches; an insurance lead never does.
  for (size_t i : {size_t{3}, size_t{6}}) {
    grpc::ClientContext context;
    Authorize(&context, key_);
    v1::UpdateLeadRequest update;
    update.set_id(ids[i]);
    update.set_score(90);
    update.set_score_tier("hot");
    v1::Lead updated;
    ASSERT_TRUE(IsOk(api().leads->UpdateLead(&context, update, &updated)));
  }
  EXPECT_EQ(Rows(filtered_id, "lead.updated"), 1);

  // Events without a lead are not filtered.
  v1::PublishEventResponse published;
  ASSERT_TRUE(
      IsOk(Publish(api(), key_, FollowerGained("filters"), &published)));
  EXPECT_EQ(published.deliveries_queued(), 1);
  EXPECT_EQ(Rows(filtered_id, "follower.gained"), 1);
}

// Where each lead of the place test is, and which endpoint wants it: the
// Sydney one (suburbs Bondi Beach or Manly, province NSW) and/or the
// Gauteng one (any suburb of Gauteng).
struct PlacedSpec {
  const char* suburb;
  const char* province;
  bool sydney;
  bool gauteng;
};

constexpr PlacedSpec kPlaced[] = {
    {"Bondi Beach", "NSW", true, false},
    {"manly", " nsw", true, false},         // case, spaces
    {"BONDI   beach", "Nsw", true, false},  // inner spaces
    {"Bondi", "NSW", false, false},         // another suburb
    {"Manly", "VIC", false, false},         // another province
    {"Manly", "N.S.W.", false, false},      // spelled otherwise
    {"Sandton", "Gauteng", false, true},
    {"Soweto", " GAUTENG ", false, true},
    {"", "", false, false},             // no place at all
    {"Bondi Beach", "", false, false},  // no province
};

TEST_F(TargetedWebhookTest, PlaceFiltersRouteLeadsBySuburbAndProvince) {
  const std::string sydney_path = NewPath();
  const std::string gauteng_path = NewPath();
  Struct sydney = CreateRest(
      sydney_path, R"(["lead.new", "lead.updated"])",
      R"({"suburbs": [" Bondi  BEACH", "Manly", "manly"], "provinces": ["nsw"]})");
  const std::string sydney_id = StrAt(sydney, "id");
  // Stored and shown as compared: lower case, single spaces, no repeats.
  ASSERT_NE(AtPath(sydney, "filters.suburbs"), nullptr);
  EXPECT_EQ(Strings(*AtPath(sydney, "filters.suburbs")),
            (std::vector<std::string>{"bondi beach", "manly"}));
  EXPECT_EQ(Strings(*AtPath(sydney, "filters.provinces")),
            std::vector<std::string>{"nsw"});
  v1::CreateWebhookRequest request;
  request.set_url(world_->receiver->Url(gauteng_path));
  request.add_events("lead.new");
  request.mutable_filters()->add_provinces("Gauteng");
  v1::CreateWebhookResponse gauteng;
  {
    grpc::ClientContext context;
    Authorize(&context, key_);
    ASSERT_TRUE(
        IsOk(api().webhooks->CreateWebhook(&context, request, &gauteng)));
  }

  // Round 0 one at a time, round 1 all at once (the batched write path).
  std::set<std::string> want_sydney, want_gauteng;
  std::vector<std::string> ids(std::size(kPlaced));
  for (int round = 0; round <= 1; ++round) {
    std::vector<std::thread> threads;
    for (size_t i = 0; i < std::size(kPlaced); ++i) {
      const PlacedSpec& spec = kPlaced[i];
      const std::string external = absl::StrCat("place", round, "-", i);
      if (spec.sydney) want_sydney.insert(external);
      if (spec.gauteng) want_gauteng.insert(external);
      if (round == 0) {
        ids[i] = CreatePlacedLead(spec.suburb, spec.province, external);
      } else {
        threads.emplace_back([this, spec, external] {
          CreatePlacedLead(spec.suburb, spec.province, external);
        });
      }
    }
    for (std::thread& t : threads) t.join();
  }

  EXPECT_EQ(Rows(sydney_id, "lead.new"),
            static_cast<int64_t>(want_sydney.size()));
  EXPECT_EQ(Rows(gauteng.webhook_id(), "lead.new"),
            static_cast<int64_t>(want_gauteng.size()));
  ASSERT_TRUE(WaitForLeads(sydney_path, want_sydney.size()));
  ASSERT_TRUE(WaitForLeads(gauteng_path, want_gauteng.size()));
  std::vector<ReceivedRequest> received = world_->receiver->Requests();
  std::multiset<std::string> got = LeadsAt(received, sydney_path);
  EXPECT_EQ(std::set<std::string>(got.begin(), got.end()), want_sydney);
  EXPECT_EQ(got.size(), want_sydney.size()) << "a lead arrived twice";
  got = LeadsAt(received, gauteng_path);
  EXPECT_EQ(std::set<std::string>(got.begin(), got.end()), want_gauteng);

  // lead.updated goes by the lead's place too (the single-event path).
  for (size_t i : {size_t{1}, size_t{3}}) {  // Manly NSW; Bondi NSW
    grpc::ClientContext context;
    Authorize(&context, key_);
    v1::UpdateLeadRequest update;
    update.set_id(ids[i]);
    update.set_status("contacted");
    v1::Lead updated;
    ASSERT_TRUE(IsOk(api().leads->UpdateLead(&context, update, &updated)));
  }
  EXPECT_EQ(Rows(sydney_id, "lead.updated"), 1);

  // A blank place, or more than 32, is refused naming the field; nothing
  // changes.
  std::string many = R"({"suburbs": ["s0")";
  for (int i = 1; i <= 32; ++i) absl::StrAppend(&many, R"(, "s)", i, R"(")");
  many += "]}";
  for (const std::string& bad : {std::string(R"({"suburbs": ["Manly", "  "]})"),
                                 std::string(R"({"provinces": [""]})"), many}) {
    HttpResponse r = world_->Rest(key_, "PATCH", "/v1/webhooks/" + sydney_id,
                                  absl::StrCat(R"({"filters": )", bad, "}"));
    EXPECT_EQ(r.status, 400) << bad << ": " << r.body;
    Struct error = Json(r.body);
    EXPECT_EQ(StrAt(error, "code"), "invalid_request") << r.body;
    EXPECT_NE(StrAt(error, "message")
                  .find(bad.find("suburbs") != std::string::npos ? "suburbs"
                                                                 : "provinces"),
              std::string::npos)
        << r.body;
  }
  v1::Webhook stored;
  ASSERT_TRUE(IsOk(GetWebhook(api(), key_, sydney_id, &stored)));
  EXPECT_EQ(stored.filters().suburbs_size(), 2) << stored.ShortDebugString();
  EXPECT_EQ(stored.filters().provinces_size(), 1);
}

TEST_F(TargetedWebhookTest,
       InvalidFiltersAreRefusedNamingTheFieldAndChangeNothing) {
  grpc::ClientContext context;
  Authorize(&context, key_);
  v1::CreateWebhookRequest request;
  request.set_url(world_->receiver->Url(NewPath()));
  request.add_events("lead.new");
  request.mutable_filters()->add_verticals("cars");
  v1::CreateWebhookResponse created;
  grpc::Status status =
      api().webhooks->CreateWebhook(&context, request, &created);
  EXPECT_TRUE(
      HasError(status, StatusCode::INVALID_ARGUMENT, "invalid_request"));
  EXPECT_NE(status.error_message().find("filters.verticals"), std::string::npos)
      << status.error_message();

  struct Case {
    const char* filters;
    const char* field;
  };
  for (const Case& c :
       {Case{R"({"score_tiers": ["lukewarm"]})", "filters.score_tiers"},
        Case{R"({"min_score": 101})", "filters.min_score"},
        Case{R"({"min_score": -1})", "filters.min_score"}}) {
    HttpResponse r = world_->Rest(
        key_, "POST", "/v1/webhooks",
        absl::StrCat(R"({"url": ")", world_->receiver->Url(NewPath()),
                     R"(", "events": ["lead.new"], "filters": )", c.filters,
                     "}"));
    EXPECT_EQ(r.status, 400) << c.filters << ": " << r.body;
    Struct error = Json(r.body);
    EXPECT_EQ(StrAt(error, "code"), "invalid_request") << r.body;
    EXPECT_NE(StrAt(error, "message").find(c.field), std::string::npos)
        << r.body;
  }
  HttpResponse list = world_->Rest(key_, "GET", "/v1/webhooks");
  ASSERT_EQ(list.status, 200) << list.body;
  Struct listed = Json(list.body);
  const google::protobuf::Value* hooks = AtPath(listed, "webhooks");
  EXPECT_TRUE(hooks == nullptr || hooks->list_value().values_size() == 0)
      << list.body;

  // A bad update leaves the stored filters as they were.
  Struct hook = CreateRest(NewPath(), R"(["lead.new"])", kFilterJson);
  const std::string id = StrAt(hook, "id");
  HttpResponse patch = world_->Rest(key_, "PATCH", "/v1/webhooks/" + id,
                                    R"({"filters": {"verticals": ["boats"]}})");
  EXPECT_EQ(patch.status, 400) << patch.body;
  v1::Webhook stored;
  ASSERT_TRUE(IsOk(GetWebhook(api(), key_, id, &stored)));
  EXPECT_EQ(stored.filters().verticals_size(), 2) << stored.ShortDebugString();
  EXPECT_EQ(stored.filters().min_score(), 65);
}

TEST_F(TargetedWebhookTest, FiltersAreShownUpdatedAndCleared) {
  grpc::ClientContext context;
  Authorize(&context, key_);
  v1::CreateWebhookRequest request;
  request.set_url(world_->receiver->Url(NewPath()));
  request.add_events("lead.new");
  request.mutable_filters()->add_verticals("Solar");
  request.mutable_filters()->set_min_score(80);
  v1::CreateWebhookResponse created;
  ASSERT_TRUE(IsOk(api().webhooks->CreateWebhook(&context, request, &created)));
  const std::string id = created.webhook_id();
  EXPECT_EQ(created.webhook().filters().verticals(0), "solar");

  auto rest_filters = [&]() {
    HttpResponse r = world_->Rest(key_, "GET", "/v1/webhooks/" + id);
    EXPECT_EQ(r.status, 200) << r.body;
    Struct hook = Json(r.body);
    const google::protobuf::Value* f = AtPath(hook, "filters");
    return f == nullptr ? Struct() : f->struct_value();
  };
  Struct shown = rest_filters();
  EXPECT_EQ(Strings(*AtPath(shown, "verticals")),
            std::vector<std::string>{"solar"});
  EXPECT_EQ(AtPath(shown, "min_score")->number_value(), 80);

  // A PATCH without filters keeps them.
  HttpResponse renamed =
      world_->Rest(key_, "PATCH", "/v1/webhooks/" + id, R"({"name": "crm"})");
  ASSERT_EQ(renamed.status, 200) << renamed.body;
  EXPECT_EQ(Strings(*AtPath(Json(renamed.body), "filters.verticals")),
            std::vector<std::string>{"solar"});

  // filters replaces all three parts.
  HttpResponse replaced =
      world_->Rest(key_, "PATCH", "/v1/webhooks/" + id,
                   R"({"filters": {"score_tiers": ["hot"]}})");
  ASSERT_EQ(replaced.status, 200) << replaced.body;
  shown = rest_filters();
  EXPECT_TRUE(Strings(*AtPath(shown, "verticals")).empty()) << replaced.body;
  EXPECT_EQ(Strings(*AtPath(shown, "score_tiers")),
            std::vector<std::string>{"hot"});
  EXPECT_EQ(AtPath(shown, "min_score")->number_value(), 0);
  HttpResponse list = world_->Rest(key_, "GET", "/v1/webhooks");
  Struct listed = Json(list.body);
  const google::protobuf::Value* hooks = AtPath(listed, "webhooks");
  ASSERT_NE(hooks, nullptr) << list.body;
  ASSERT_EQ(hooks->list_value().values_size(), 1);
  EXPECT_EQ(Strings(*AtPath(hooks->list_value().values(0).struct_value(),
                            "filters.score_tiers")),
            std::vector<std::string>{"hot"});

  CreateLead({"b2b", 40, "", false}, "before-clear");
  EXPECT_EQ(Rows(id, "lead.new"), 0);

  // `{}` clears: every lead again.
  HttpResponse cleared =
      world_->Rest(key_, "PATCH", "/v1/webhooks/" + id, R"({"filters": {}})");
  ASSERT_EQ(cleared.status, 200) << cleared.body;
  v1::Webhook stored;
  ASSERT_TRUE(IsOk(GetWebhook(api(), key_, id, &stored)));
  EXPECT_EQ(stored.filters().score_tiers_size(), 0);
  CreateLead({"b2b", 40, "", false}, "after-clear");
  EXPECT_EQ(Rows(id, "lead.new"), 1);
}

TEST_F(TargetedWebhookTest, OpenApiDescribesTheFilters) {
  HttpResponse r = world_->Rest(key_, "GET", "/openapi.json");
  ASSERT_EQ(r.status, 200);
  for (const char* needle :
       {"LeadFilter", "\"filters\"", "\"min_score\"", "\"score_tiers\"",
        "\"suburbs\"", "\"provinces\""}) {
    EXPECT_NE(r.body.find(needle), std::string::npos) << needle;
  }
}

TEST_F(TargetedWebhookTest, TestDeliveryShowsTheFilters) {
  const std::string path = NewPath();
  Struct hook = CreateRest(path, R"(["lead.new"])", kFilterJson);
  const std::string id = StrAt(hook, "id");
  HttpResponse r =
      world_->Rest(key_, "POST", "/v1/webhooks/" + id + ":test", "{}");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(world_->receiver->WaitUntil(
      [&](const std::vector<ReceivedRequest>& all) {
        for (const auto& q : all) {
          if (q.path == path) return true;
        }
        return false;
      },
      kWait));
  for (const ReceivedRequest& q : world_->receiver->Requests()) {
    if (q.path != path) continue;
    Struct body = Json(q.body);
    EXPECT_EQ(StrAt(body, "event"), "webhook.test");
    ASSERT_NE(AtPath(body, "data.filters.verticals"), nullptr) << q.body;
    EXPECT_EQ(Strings(*AtPath(body, "data.filters.verticals")),
              (std::vector<std::string>{"solar", "property"}));
    EXPECT_EQ(Strings(*AtPath(body, "data.filters.score_tiers")),
              (std::vector<std::string>{"hot", "warm"}));
    EXPECT_EQ(AtPath(body, "data.filters.min_score")->number_value(), 65);
  }
}

}  // namespace
}  // namespace leadrelay::dtest
