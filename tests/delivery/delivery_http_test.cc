// Webhook deliveries end to end, as an integrator's endpoint sees them: a
// real HTTP receiver on loopback (allow-listed), a leadrelay-server with a
// shortened retry schedule (1 s, 2 s, no jitter), a 2 s request timeout.
// Signatures are recomputed here with OpenSSL; payloads are parsed as JSON.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "delivery/delivery_env.h"
#include "delivery/http_receiver.h"
#include "gtest/gtest.h"

namespace leadrelay::dtest {
namespace {

using ::google::protobuf::Struct;
using ::google::protobuf::Value;
using ::grpc::StatusCode;
using itest::Authorize;
using itest::IsOk;

constexpr absl::Duration kWait = absl::Seconds(30);
// Timestamps in the log have microsecond precision; arrival times are read
// after the request is parsed. Lower bounds allow for that much.
constexpr absl::Duration kSlack = absl::Milliseconds(20);

const std::vector<std::string>& AllPublishable() {
  // lead.new and lead.updated come only from CreateLead/UpdateLead (see
  // CreateLeadDeliversLeadNewWithLeadAndContact).
  static const auto* types = new std::vector<std::string>{
      "lead.enriched", "stats.updated", "follower.gained",
      "follower.lost", "dm.sent",       "dm.failed",
      "job.completed", "job.failed",    "connection.completed"};
  return *types;
}

// The JSON fields of `value` (an object), or an empty map.
const google::protobuf::Map<std::string, Value>& Fields(const Value& value) {
  static const auto* empty = new Struct();
  return value.has_struct_value() ? value.struct_value().fields()
                                  : empty->fields();
}

// CPU seconds (user + system) process `pid` has used so far.
double CpuSecondsOf(pid_t pid) {
  std::ifstream file(absl::StrCat("/proc/", pid, "/stat"));
  std::string stat((std::istreambuf_iterator<char>(file)),
                   std::istreambuf_iterator<char>());
  // The fields after the command name, which is in parentheses and may hold
  // spaces: the state is the 3rd field, utime and stime the 14th and 15th.
  const size_t name_end = stat.rfind(')');
  if (name_end == std::string::npos) return -1;
  std::vector<std::string> fields =
      absl::StrSplit(stat.substr(name_end + 2), ' ');
  int64_t utime = 0, stime = 0;
  if (fields.size() < 13 || !absl::SimpleAtoi(fields[11], &utime) ||
      !absl::SimpleAtoi(fields[12], &stime)) {
    return -1;
  }
  return static_cast<double>(utime + stime) / sysconf(_SC_CLK_TCK);
}

std::string Str(const google::protobuf::Map<std::string, Value>& fields,
                const std::string& name) {
  auto it = fields.find(name);
  return it == fields.end() ? "<missing " + name + ">"
                            : it->second.string_value();
}

class DeliveryHttpTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<DeliveryEnv>> env = DeliveryEnv::Create();
    if (!env.ok()) {
      setup_error_ = env.status().ToString();
      return;
    }
    absl::StatusOr<int> server = (*env)->StartServer(FastDispatchFlags());
    if (!server.ok()) {
      setup_error_ = server.status().ToString();
      return;
    }
    absl::StatusOr<Account> other = (*env)->Bootstrap("other-account");
    if (!other.ok()) {
      setup_error_ = other.status().ToString();
      return;
    }
    other_ = *other;
    env_ = *std::move(env);
  }
  static void TearDownTestSuite() {
    if (env_ != nullptr && failed_) env_->KeepLogs();
    env_.reset();
  }

  void SetUp() override {
    ASSERT_NE(env_, nullptr) << "set-up failed: " << setup_error_;
    absl::StatusOr<Account> account =
        env_->Bootstrap(itest::UniqueName("acct"));
    ASSERT_TRUE(account.ok()) << account.status();
    account_ = *account;
    key_ = account_.admin_key;
    absl::StatusOr<std::unique_ptr<HttpReceiver>> receiver =
        HttpReceiver::Start();
    ASSERT_TRUE(receiver.ok()) << receiver.status();
    receiver_ = *std::move(receiver);
  }

  void TearDown() override {
    if (HasFailure() && env_ != nullptr) {
      failed_ = true;
      std::cerr << env_->LogTails() << std::flush;
    }
  }

  Api& api() { return env_->api(0); }

  // Registers a webhook on the receiver; returns the creation response.
  v1::CreateWebhookResponse NewHook(const std::vector<std::string>& events,
                                    const std::string& secret = "",
                                    const std::string& url = "") {
    v1::CreateWebhookResponse created;
    EXPECT_TRUE(
        IsOk(CreateWebhook(api(), key_, url.empty() ? receiver_->Url() : url,
                           events, &created, secret)));
    return created;
  }

  v1::PublishEventResponse PublishOk(const v1::PublishEventRequest& request) {
    v1::PublishEventResponse response;
    EXPECT_TRUE(IsOk(Publish(api(), key_, request, &response)));
    return response;
  }

  // The delivery id of `event_id` to `webhook_id`, from the store.
  std::string DeliveryIdOf(const std::string& event_id,
                           const std::string& webhook_id) {
    auto rows = env_->db().Query(
        "SELECT id FROM deliveries WHERE event_id = $1 AND webhook_id = $2",
        {event_id, webhook_id});
    if (!rows.ok() || rows->size() != 1) {
      ADD_FAILURE() << "no single delivery of " << event_id << " to "
                    << webhook_id;
      return "";
    }
    return (*rows)[0][0];
  }

  // Waits for the delivery to reach `status`; returns it with attempts.
  v1::Delivery AwaitDelivery(const std::string& webhook_id,
                             const std::string& delivery_id,
                             const std::string& status,
                             absl::Duration timeout = kWait) {
    v1::Delivery delivery;
    EXPECT_TRUE(WaitForDeliveryStatus(api(), key_, webhook_id, delivery_id,
                                      status, timeout, &delivery))
        << "delivery " << delivery_id << " did not become " << status
        << "; last seen: " << delivery.ShortDebugString();
    return delivery;
  }

  static inline std::unique_ptr<DeliveryEnv> env_;
  static inline std::string setup_error_;
  static inline bool failed_ = false;
  static inline Account other_;

  Account account_;
  std::string key_;
  std::unique_ptr<HttpReceiver> receiver_;
};

// --- Signatures and headers ----------------------------------------------

TEST_F(DeliveryHttpTest, BothSignatureSchemesVerifyWithTheSecret) {
  v1::CreateWebhookResponse hook = NewHook({"follower.gained"});
  const std::string secret = hook.secret();
  ASSERT_TRUE(absl::StartsWith(secret, "whsec_")) << secret;
  v1::PublishEventResponse published = PublishOk(FollowerGained("ana"));
  ASSERT_EQ(published.deliveries_queued(), 1);
  ASSERT_TRUE(receiver_->WaitForRequests(1, kWait));
  const ReceivedRequest r = receiver_->Requests()[0];
  const int64_t now = absl::ToUnixSeconds(absl::Now());

  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.path, "/hook");
  EXPECT_TRUE(absl::StartsWith(r.Header("content-type"), "application/json"))
      << r.Header("content-type");

  // The seeds' scheme: hex HMAC-SHA256 of the raw body, keyed by the secret
  // string as shown.
  EXPECT_EQ(r.Header("x-leadrelay-signature"),
            LowerHex(HmacSha256Raw(secret, r.body)));
  EXPECT_EQ(r.Header("x-leadrelay-event"), "follower.gained");

  // Standard Webhooks: v1,<base64 HMAC of id.timestamp.body>, keyed by the
  // base64-decoded part of the whsec_ secret.
  std::optional<std::string> key = Base64Decode(secret.substr(6));
  ASSERT_TRUE(key.has_value()) << secret;
  const std::string id = r.Header("webhook-id");
  const std::string ts = r.Header("webhook-timestamp");
  EXPECT_EQ(r.Header("webhook-signature"),
            "v1," + Base64Encode(HmacSha256Raw(
                        *key, absl::StrCat(id, ".", ts, ".", r.body))));

  // One delivery id everywhere, and it is the store's.
  absl::StatusOr<Struct> body = ParseJsonObject(r.body);
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_FALSE(id.empty());
  EXPECT_EQ(r.Header("x-leadrelay-delivery"), id);
  EXPECT_EQ(Str(body->fields(), "delivery_id"), id);
  EXPECT_EQ(DeliveryIdOf(published.event().id(), hook.webhook_id()), id);

  // Timestamps: the same second in both schemes, close to now.
  EXPECT_EQ(r.Header("x-leadrelay-timestamp"), ts);
  int64_t sent_at = 0;
  ASSERT_TRUE(absl::SimpleAtoi(ts, &sent_at)) << ts;
  EXPECT_LE(std::abs(now - sent_at), 5) << "webhook-timestamp " << ts;
}

TEST_F(DeliveryHttpTest, AnOwnSecretSignsAsGiven) {
  const std::string secret = "my-own-secret-0123456789-abcdef";
  v1::CreateWebhookResponse hook = NewHook({"job.completed"}, secret);
  v1::PublishEventRequest request;
  request.set_type("job.completed");
  request.mutable_job()->set_job_id(5);
  PublishOk(request);
  ASSERT_TRUE(receiver_->WaitForRequests(1, kWait));
  const ReceivedRequest r = receiver_->Requests()[0];
  EXPECT_EQ(r.Header("x-leadrelay-signature"),
            LowerHex(HmacSha256Raw(secret, r.body)));
  // Not a whsec_ secret: Standard Webhooks signs with its bytes.
  EXPECT_EQ(r.Header("webhook-signature"),
            "v1," + Base64Encode(HmacSha256Raw(
                        secret, absl::StrCat(r.Header("webhook-id"), ".",
                                             r.Header("webhook-timestamp"), ".",
                                             r.body))));
}

TEST_F(DeliveryHttpTest, OneEventToSeveralWebhooksIsSignedPerWebhook) {
  // One event fanned out to three endpoints of the account (claimed and
  // signed together): each request carries its own delivery id and is
  // signed with its own webhook's secret only.
  std::vector<v1::CreateWebhookResponse> hooks = {
      NewHook({"dm.sent"}), NewHook({"dm.sent"}),
      NewHook({"dm.sent"}, "an-own-secret-for-the-third-hook")};
  v1::PublishEventRequest request;
  request.set_type("dm.sent");
  request.mutable_dm()->set_target_username("ana");
  request.mutable_dm()->set_message("hello");
  v1::PublishEventResponse published = PublishOk(request);
  ASSERT_EQ(published.deliveries_queued(), 3);
  ASSERT_TRUE(receiver_->WaitForRequests(3, kWait));
  std::vector<ReceivedRequest> requests = receiver_->Requests();
  ASSERT_EQ(requests.size(), 3u);

  std::map<std::string, std::string> secret_of;  // by delivery id
  for (const v1::CreateWebhookResponse& hook : hooks) {
    secret_of[DeliveryIdOf(published.event().id(), hook.webhook_id())] =
        hook.secret();
  }
  ASSERT_EQ(secret_of.size(), 3u);
  std::set<std::string> bodies_without_id;
  for (const ReceivedRequest& r : requests) {
    const std::string id = r.Header("webhook-id");
    ASSERT_EQ(secret_of.count(id), 1u) << "unknown delivery " << id;
    absl::StatusOr<Struct> body = ParseJsonObject(r.body);
    ASSERT_TRUE(body.ok()) << body.status();
    EXPECT_EQ(Str(body->fields(), "delivery_id"), id);
    EXPECT_EQ(Str(body->fields(), "event_id"), published.event().id());
    bodies_without_id.insert(absl::StrReplaceAll(r.body, {{id, "ID"}}));
    for (const auto& [other_id, secret] : secret_of) {
      std::string key = secret;
      if (absl::StartsWith(secret, "whsec_")) {
        std::optional<std::string> decoded = Base64Decode(secret.substr(6));
        ASSERT_TRUE(decoded.has_value()) << secret;
        key = *decoded;
      }
      const bool own = other_id == id;
      EXPECT_EQ(r.Header("x-leadrelay-signature") ==
                    LowerHex(HmacSha256Raw(secret, r.body)),
                own)
          << "delivery " << id << ", secret of " << other_id;
      EXPECT_EQ(r.Header("webhook-signature") ==
                    "v1," + Base64Encode(HmacSha256Raw(
                                key, absl::StrCat(id, ".",
                                                  r.Header("webhook-timestamp"),
                                                  ".", r.body))),
                own)
          << "delivery " << id << ", secret of " << other_id;
    }
  }
  // Apart from its delivery id, every endpoint got the same payload.
  EXPECT_EQ(bodies_without_id.size(), 1u);
}

TEST_F(DeliveryHttpTest, AfterRotationBothSecretsSign) {
  v1::CreateWebhookResponse hook = NewHook({"follower.lost"});
  const std::string old_secret = hook.secret();
  grpc::ClientContext context;
  Authorize(&context, key_);
  v1::RotateWebhookSecretRequest rotate;
  rotate.set_id(hook.webhook_id());
  v1::RotateWebhookSecretResponse rotated;
  ASSERT_TRUE(
      IsOk(api().webhooks->RotateWebhookSecret(&context, rotate, &rotated)));
  const std::string new_secret = rotated.secret();
  ASSERT_NE(new_secret, old_secret);

  v1::PublishEventRequest request = FollowerGained("bo");
  request.set_type("follower.lost");
  PublishOk(request);
  ASSERT_TRUE(receiver_->WaitForRequests(1, kWait));
  const ReceivedRequest r = receiver_->Requests()[0];

  std::vector<std::string> hex =
      absl::StrSplit(r.Header("x-leadrelay-signature"), ' ');
  ASSERT_EQ(hex.size(), 2u) << r.Header("x-leadrelay-signature");
  std::set<std::string> hex_set(hex.begin(), hex.end());
  EXPECT_EQ(hex_set.count(LowerHex(HmacSha256Raw(new_secret, r.body))), 1u);
  EXPECT_EQ(hex_set.count(LowerHex(HmacSha256Raw(old_secret, r.body))), 1u);

  const std::string content = absl::StrCat(
      r.Header("webhook-id"), ".", r.Header("webhook-timestamp"), ".", r.body);
  std::vector<std::string> standard =
      absl::StrSplit(r.Header("webhook-signature"), ' ');
  ASSERT_EQ(standard.size(), 2u) << r.Header("webhook-signature");
  std::set<std::string> standard_set(standard.begin(), standard.end());
  for (const std::string& secret : {new_secret, old_secret}) {
    std::optional<std::string> key = Base64Decode(secret.substr(6));
    ASSERT_TRUE(key.has_value());
    EXPECT_EQ(
        standard_set.count("v1," + Base64Encode(HmacSha256Raw(*key, content))),
        1u)
        << "no signature with " << (secret == new_secret ? "new" : "old")
        << " secret in " << r.Header("webhook-signature");
  }
}

// --- Payloads ---------------------------------------------------------------

// A publish request of `type` with a typed payload, and the proto field
// names its `data` must show.
v1::PublishEventRequest SampleOf(const std::string& type,
                                 std::vector<std::string>* data_fields) {
  v1::PublishEventRequest r;
  r.set_type(type);
  if (type == "lead.enriched") {
    v1::LeadEnrichedData* d = r.mutable_lead_enriched();
    v1::LinkedInProfile* p = d->add_leads();
    p->set_urn("urn:li:person:1");
    p->set_full_name("Ana Silva");
    p->set_engagement_type("comment");
    p->set_post_id("post_1");
    v1::Post* post = d->add_posts();
    post->set_id("post_1");
    post->set_url("https://www.linkedin.com/feed/update/1");
    d->set_count(1);
    *data_fields = {"leads", "posts", "count"};
  } else if (type == "stats.updated") {
    v1::StatsUpdatedData* d = r.mutable_stats();
    d->set_platform("instagram");
    d->set_tracked_user_id(77);
    d->set_follower_count(1200);
    *data_fields = {"platform", "tracked_user_id", "follower_count",
                    "following_count", "posts_count"};
  } else if (type == "follower.gained" || type == "follower.lost") {
    *r.mutable_follower() = FollowerGained("zed").follower();
    *data_fields = {"platform", "tracked_username", "target_username",
                    "target_user_id", "change_date"};
  } else if (type == "dm.sent" || type == "dm.failed") {
    v1::DirectMessageData* d = r.mutable_dm();
    d->set_platform("linkedin");
    d->set_tracked_username("me");
    d->set_target_username("you");
    d->set_message("hi");
    d->mutable_lead()->set_first_name("Ana");
    d->mutable_automation()->set_id("auto_1");
    if (type == "dm.failed") d->set_error("blocked");
    *data_fields = {
        "platform", "tracked_username", "target_username", "message",
        "lead",     "automation"};
  } else if (type == "job.completed" || type == "job.failed") {
    v1::JobData* d = r.mutable_job();
    d->set_job_id(12);
    d->set_job_type("scrape");
    d->set_status(type == "job.failed" ? "failed" : "completed");
    d->set_total_leads_stored(3);
    *data_fields = {"job_id", "job_type", "status", "total_leads_stored"};
  } else if (type == "connection.completed") {
    v1::ConnectionCompletedData* d = r.mutable_connection();
    d->set_custom_user_id("user-42");
    d->set_access_level("admin");
    d->set_status("success");
    v1::ConnectionAsset* a = d->add_connection_assets();
    a->set_type("page");
    a->set_id("p1");
    a->set_is_success(true);
    *data_fields = {"custom_user_id", "access_level", "status",
                    "connection_assets"};
  }
  return r;
}

TEST_F(DeliveryHttpTest, EveryPublishableEventHasTheEnvelopeAndItsData) {
  v1::CreateWebhookResponse hook = NewHook(AllPublishable());
  std::map<std::string, std::vector<std::string>> expected_fields;
  std::map<std::string, std::string> event_ids;
  for (const std::string& type : AllPublishable()) {
    std::vector<std::string> fields;
    v1::PublishEventResponse published = PublishOk(SampleOf(type, &fields));
    EXPECT_EQ(published.deliveries_queued(), 1) << type;
    expected_fields[type] = fields;
    event_ids[type] = published.event().id();
  }
  ASSERT_TRUE(receiver_->WaitForRequests(AllPublishable().size(), kWait))
      << receiver_->RequestCount() << " of " << AllPublishable().size();
  std::set<std::string> seen;
  for (const ReceivedRequest& r : receiver_->Requests()) {
    absl::StatusOr<Struct> body = ParseJsonObject(r.body);
    ASSERT_TRUE(body.ok()) << body.status();
    const auto& f = body->fields();
    const std::string type = Str(f, "event");
    SCOPED_TRACE(type);
    seen.insert(type);
    EXPECT_EQ(r.Header("x-leadrelay-event"), type);
    EXPECT_EQ(Str(f, "delivery_id"), r.Header("webhook-id"));
    EXPECT_EQ(Str(f, "account_id"), account_.id);
    EXPECT_EQ(Str(f, "event_id"), event_ids[type]);
    absl::Time when;
    std::string err;
    EXPECT_TRUE(
        absl::ParseTime(absl::RFC3339_full, Str(f, "timestamp"), &when, &err))
        << Str(f, "timestamp") << ": " << err;
    EXPECT_LT(absl::AbsDuration(absl::Now() - when), absl::Minutes(1));
    EXPECT_EQ(f.count("test"), 0u) << "only test deliveries say test";
    ASSERT_EQ(f.count("data"), 1u);
    const auto& data = Fields(f.at("data"));
    for (const std::string& field : expected_fields[type]) {
      EXPECT_EQ(data.count(field), 1u)
          << "data." << field << " missing in " << r.body;
    }
    if (type == "lead.enriched") {
      const Value& leads = data.at("leads");
      ASSERT_EQ(leads.list_value().values_size(), 1);
      const auto& lead = Fields(leads.list_value().values(0));
      EXPECT_EQ(Str(lead, "urn"), "urn:li:person:1");
      EXPECT_EQ(Str(lead, "post_id"), "post_1");
      EXPECT_EQ(Str(Fields(data.at("posts").list_value().values(0)), "id"),
                "post_1");
      EXPECT_EQ(data.at("count").number_value(), 1);
    }
    if (type == "connection.completed") {
      EXPECT_EQ(Str(data, "custom_user_id"), "user-42");
      const auto& asset =
          Fields(data.at("connection_assets").list_value().values(0));
      EXPECT_TRUE(asset.at("is_success").bool_value());
    }
  }
  EXPECT_EQ(seen.size(), AllPublishable().size());
}

TEST_F(DeliveryHttpTest, CreateLeadDeliversLeadNewWithLeadAndContact) {
  NewHook({"lead.new"});
  grpc::ClientContext context;
  Authorize(&context, key_);
  v1::CreateLeadRequest request;
  v1::Lead* lead = request.mutable_lead();
  lead->set_vertical("solar");
  lead->set_first_name("Thandi");
  lead->set_last_name("Mokoena");
  lead->set_suburb("Sandton");
  lead->set_phone("+27821234567");
  lead->set_email("thandi@example.com");
  lead->set_score(72);
  v1::Lead created;
  ASSERT_TRUE(IsOk(api().leads->CreateLead(&context, request, &created)));
  ASSERT_TRUE(receiver_->WaitForRequests(1, kWait));
  const ReceivedRequest r = receiver_->Requests()[0];
  absl::StatusOr<Struct> body = ParseJsonObject(r.body);
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(Str(body->fields(), "event"), "lead.new");
  const auto& data = Fields(body->fields().at("data"));
  ASSERT_EQ(data.count("lead"), 1u) << r.body;
  ASSERT_EQ(data.count("contact"), 1u) << r.body;
  EXPECT_EQ(Str(Fields(data.at("lead")), "id"), created.id());
  EXPECT_EQ(Str(Fields(data.at("lead")), "first_name"), "Thandi");
  EXPECT_EQ(Str(Fields(data.at("lead")), "score_tier"), created.score_tier());
  EXPECT_EQ(Str(Fields(data.at("contact")), "phone"), "+27821234567");
  EXPECT_EQ(Str(Fields(data.at("contact")), "email"), "thandi@example.com");
}

// --- Retries
// ------------------------------------------------------------------

TEST_F(DeliveryHttpTest, ServerErrorsAreRetriedOnScheduleUntilSuccess) {
  receiver_->Script({Reply::Status(500), Reply::Status(500)});
  v1::CreateWebhookResponse hook = NewHook({"follower.gained"});
  v1::PublishEventResponse published = PublishOk(FollowerGained("retry"));
  ASSERT_TRUE(receiver_->WaitForRequests(3, kWait));
  std::vector<ReceivedRequest> r = receiver_->Requests();
  const std::string id = r[0].Header("webhook-id");
  for (const ReceivedRequest& req : r) {
    EXPECT_EQ(req.Header("webhook-id"), id);
    EXPECT_EQ(req.Header("x-leadrelay-delivery"), id);
  }
  // Schedule 1 s, 2 s: lower bounds only.
  EXPECT_GE(r[1].arrived - r[0].arrived, absl::Seconds(1) - kSlack);
  EXPECT_GE(r[2].arrived - r[1].arrived, absl::Seconds(2) - kSlack);

  v1::Delivery d = AwaitDelivery(hook.webhook_id(), id, "succeeded");
  EXPECT_EQ(d.attempt_count(), 3);
  EXPECT_EQ(d.event_id(), published.event().id());
  ASSERT_EQ(d.attempts_size(), 3) << d.ShortDebugString();
  const int kStatuses[] = {500, 500, 200};
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(d.attempts(i).number(), i + 1);
    EXPECT_EQ(d.attempts(i).http_status(), kStatuses[i]);
    EXPECT_EQ(d.attempts(i).trigger(), "scheduled");
    EXPECT_EQ(d.attempts(i).url(), receiver_->Url());
    EXPECT_EQ(d.attempts(i).response_excerpt(), "ok");
  }
  EXPECT_FALSE(d.attempts(0).error().empty());
  EXPECT_TRUE(d.attempts(2).error().empty()) << d.attempts(2).error();
  EXPECT_EQ(d.last_http_status(), 200);
}

TEST_F(DeliveryHttpTest, RedirectIsAFailureAndIsNotFollowed) {
  Reply redirect = Reply::Status(302);
  redirect.headers = {{"Location", receiver_->Url("/elsewhere")}};
  receiver_->Script({redirect});
  v1::CreateWebhookResponse hook = NewHook({"follower.gained"});
  PublishOk(FollowerGained("redirect"));
  ASSERT_TRUE(receiver_->WaitForRequests(2, kWait));
  std::vector<ReceivedRequest> r = receiver_->Requests();
  for (const ReceivedRequest& req : r) {
    EXPECT_EQ(req.path, "/hook") << "a redirect was followed";
  }
  EXPECT_GE(r[1].arrived - r[0].arrived, absl::Seconds(1) - kSlack);
  v1::Delivery d =
      AwaitDelivery(hook.webhook_id(), r[0].Header("webhook-id"), "succeeded");
  ASSERT_EQ(d.attempts_size(), 2);
  EXPECT_EQ(d.attempts(0).http_status(), 302);
  EXPECT_FALSE(d.attempts(0).error().empty());
  EXPECT_EQ(d.attempts(1).http_status(), 200);
}

TEST_F(DeliveryHttpTest, ClientErrorsAreRetried) {
  receiver_->Script({Reply::Status(400), Reply::Status(404)});
  v1::CreateWebhookResponse hook = NewHook({"follower.gained"});
  PublishOk(FollowerGained("4xx"));
  ASSERT_TRUE(receiver_->WaitForRequests(3, kWait));
  v1::Delivery d =
      AwaitDelivery(hook.webhook_id(),
                    receiver_->Requests()[0].Header("webhook-id"), "succeeded");
  ASSERT_EQ(d.attempts_size(), 3);
  EXPECT_EQ(d.attempts(0).http_status(), 400);
  EXPECT_EQ(d.attempts(1).http_status(), 404);
  EXPECT_EQ(d.attempts(2).http_status(), 200);
}

TEST_F(DeliveryHttpTest, TimeoutIsRecordedAsANetworkErrorAndRetried) {
  Reply slow;
  slow.delay = absl::Seconds(6);  // beyond --webhook_timeout=2s
  receiver_->Script({slow});
  v1::CreateWebhookResponse hook = NewHook({"follower.gained"});
  PublishOk(FollowerGained("slow"));
  ASSERT_TRUE(receiver_->WaitForRequests(2, kWait));
  v1::Delivery d =
      AwaitDelivery(hook.webhook_id(),
                    receiver_->Requests()[0].Header("webhook-id"), "succeeded");
  ASSERT_EQ(d.attempts_size(), 2) << d.ShortDebugString();
  EXPECT_EQ(d.attempts(0).http_status(), 0);
  std::string error = absl::AsciiStrToLower(d.attempts(0).error());
  EXPECT_TRUE(absl::StrContains(error, "timeout") ||
              absl::StrContains(error, "timed out"))
      << d.attempts(0).error();
  EXPECT_GE(d.attempts(0).duration_ms(), 1900);
  EXPECT_LT(d.attempts(0).duration_ms(), 6000) << "the timeout was not applied";
  EXPECT_EQ(d.attempts(1).http_status(), 200);
}

TEST_F(DeliveryHttpTest, RefusedConnectionIsRecordedAndExhaustionFails) {
  absl::StatusOr<int> port = itest::PickFreePort();  // nothing listens there
  ASSERT_TRUE(port.ok());
  const std::string url = absl::StrCat("http://127.0.0.1:", *port, "/hook");
  v1::CreateWebhookResponse hook = NewHook({"follower.gained"}, "", url);
  v1::PublishEventResponse published = PublishOk(FollowerGained("refused"));
  const std::string id =
      DeliveryIdOf(published.event().id(), hook.webhook_id());
  // 1 + 2 retries (1 s, 2 s): then failed.
  v1::Delivery d = AwaitDelivery(hook.webhook_id(), id, "failed");
  ASSERT_EQ(d.attempts_size(), 3) << d.ShortDebugString();
  for (const v1::DeliveryAttempt& a : d.attempts()) {
    EXPECT_EQ(a.http_status(), 0);
    std::string error = absl::AsciiStrToLower(a.error());
    EXPECT_TRUE(absl::StrContains(error, "connect") ||
                absl::StrContains(error, "refused"))
        << a.error();
    EXPECT_EQ(a.url(), url);
  }
  EXPECT_EQ(d.attempt_count(), 3);
  EXPECT_FALSE(d.last_error().empty());
  // The schedule still held between the attempts.
  absl::Time t1 =
      absl::FromUnixSeconds(d.attempts(0).attempted_at().seconds()) +
      absl::Nanoseconds(d.attempts(0).attempted_at().nanos());
  absl::Time t3 =
      absl::FromUnixSeconds(d.attempts(2).attempted_at().seconds()) +
      absl::Nanoseconds(d.attempts(2).attempted_at().nanos());
  EXPECT_GE(t3 - t1, absl::Seconds(3) - kSlack);
}

// Endpoints close kept-alive connections once idle (Node's HTTP server after
// 5 s). The dispatcher keeps a connection's socket in its event loop between
// requests: once the endpoint closes it, the socket must leave the loop (else
// it wakes the loop for ever, a core spent) and the next delivery go out on a
// new connection at its first attempt.
TEST_F(DeliveryHttpTest, AnEndpointClosingAnIdleConnectionCostsNothing) {
  Reply then_close;
  then_close.close_after_answer = true;
  receiver_->Script({then_close});
  v1::CreateWebhookResponse hook = NewHook({"follower.gained"});
  v1::PublishEventResponse first = PublishOk(FollowerGained("idle-1"));
  AwaitDelivery(hook.webhook_id(),
                DeliveryIdOf(first.event().id(), hook.webhook_id()),
                "succeeded");
  ASSERT_TRUE(receiver_->WaitForClosedConnections(1, kWait));

  // A window, not a wait: the server's CPU while nothing is to be sent.
  const double before = CpuSecondsOf(env_->server_pid());
  ASSERT_GE(before, 0) << "no /proc/" << env_->server_pid() << "/stat";
  absl::SleepFor(absl::Seconds(2));
  const double spent = CpuSecondsOf(env_->server_pid()) - before;
  EXPECT_LT(spent, 0.5) << "an idle server used " << spent
                        << " s of CPU in 2 s";

  v1::PublishEventResponse second = PublishOk(FollowerGained("idle-2"));
  v1::Delivery d = AwaitDelivery(
      hook.webhook_id(), DeliveryIdOf(second.event().id(), hook.webhook_id()),
      "succeeded");
  EXPECT_EQ(d.attempt_count(), 1) << d.ShortDebugString();
  std::vector<ReceivedRequest> r = receiver_->Requests();
  ASSERT_EQ(r.size(), 2u);
  EXPECT_NE(r[1].connection, r[0].connection);
}

TEST_F(DeliveryHttpTest, RetryAfterDelaysTheNextAttempt) {
  Reply busy = Reply::Status(503);
  busy.headers = {{"Retry-After", "3"}};
  receiver_->Script({busy});
  v1::CreateWebhookResponse hook = NewHook({"follower.gained"});
  PublishOk(FollowerGained("busy"));
  ASSERT_TRUE(receiver_->WaitForRequests(2, kWait));
  std::vector<ReceivedRequest> r = receiver_->Requests();
  EXPECT_GE(r[1].arrived - r[0].arrived, absl::Seconds(3) - kSlack)
      << "the schedule says 1 s, Retry-After says 3 s";
  v1::Delivery d =
      AwaitDelivery(hook.webhook_id(), r[0].Header("webhook-id"), "succeeded");
  ASSERT_EQ(d.attempts_size(), 2);
  EXPECT_EQ(d.attempts(0).http_status(), 503);
}

TEST_F(DeliveryHttpTest, GoneDisablesTheWebhookAndPublishesWebhookDisabled) {
  receiver_->SetDefault(Reply::Status(410));
  v1::CreateWebhookResponse hook = NewHook({"follower.gained"});
  v1::PublishEventResponse published = PublishOk(FollowerGained("gone"));
  ASSERT_TRUE(receiver_->WaitForRequests(1, kWait));
  const std::string id =
      DeliveryIdOf(published.event().id(), hook.webhook_id());
  v1::Delivery d = AwaitDelivery(hook.webhook_id(), id, "failed");
  ASSERT_EQ(d.attempts_size(), 1) << "410 is not retried";
  EXPECT_EQ(d.attempts(0).http_status(), 410);

  v1::Webhook webhook;
  ASSERT_TRUE(IsOk(GetWebhook(api(), key_, hook.webhook_id(), &webhook)));
  EXPECT_FALSE(webhook.enabled());
  EXPECT_TRUE(absl::StrContains(webhook.disabled_reason(), "410"))
      << webhook.disabled_reason();

  grpc::ClientContext context;
  Authorize(&context, key_);
  v1::ListEventsRequest list;
  list.add_types("webhook.disabled");
  v1::ListEventsResponse events;
  ASSERT_TRUE(IsOk(api().events->ListEvents(&context, list, &events)));
  ASSERT_EQ(events.events_size(), 1);
  EXPECT_EQ(events.events(0).webhook_disabled().webhook_id(),
            hook.webhook_id());
  EXPECT_EQ(events.events(0).webhook_disabled().url(), receiver_->Url());

  // A disabled endpoint gets nothing more.
  EXPECT_EQ(PublishOk(FollowerGained("after")).deliveries_queued(), 0);
  EXPECT_FALSE(receiver_->WaitForRequests(2, absl::Seconds(2)));
}

// --- Delivery log API
// ---------------------------------------------------------

TEST_F(DeliveryHttpTest, ListDeliveriesFiltersPaginatesAndIsolates) {
  // job.completed is always refused with 400; follower.gained succeeds.
  receiver_->SetResponder([](const ReceivedRequest& r) {
    return Reply::Status(
        r.Header("x-leadrelay-event") == "job.completed" ? 400 : 200);
  });
  v1::CreateWebhookResponse hook =
      NewHook({"follower.gained", "job.completed"});
  PublishOk(FollowerGained("a"));
  PublishOk(FollowerGained("b"));
  v1::PublishEventRequest job;
  job.set_type("job.completed");
  job.mutable_job()->set_job_id(1);
  PublishOk(job);
  ASSERT_EQ(WaitForSqlInt(env_->db(),
                          "SELECT count(*) FROM deliveries WHERE webhook_id = "
                          "$1 AND status <> 'pending'",
                          {hook.webhook_id()}, 3, kWait),
            3);

  auto list = [&](const std::string& status, const std::string& type, int page,
                  int limit, v1::ListDeliveriesResponse* out,
                  const std::string& key) {
    v1::ListDeliveriesRequest request;
    request.set_webhook_id(hook.webhook_id());
    request.set_status(status);
    request.set_event_type(type);
    request.set_page(page);
    request.set_limit(limit);
    return ListDeliveries(api(), key, request, out);
  };
  v1::ListDeliveriesResponse all;
  ASSERT_TRUE(IsOk(list("", "", 0, 0, &all, key_)));
  EXPECT_EQ(all.total(), 3);
  EXPECT_EQ(all.deliveries_size(), 3);

  v1::ListDeliveriesResponse ok;
  ASSERT_TRUE(IsOk(list("succeeded", "", 0, 0, &ok, key_)));
  EXPECT_EQ(ok.total(), 2);
  for (const v1::Delivery& d : ok.deliveries()) {
    EXPECT_EQ(d.status(), "succeeded");
    EXPECT_EQ(d.event_type(), "follower.gained");
  }
  v1::ListDeliveriesResponse failed;
  ASSERT_TRUE(IsOk(list("failed", "", 0, 0, &failed, key_)));
  ASSERT_EQ(failed.deliveries_size(), 1);
  EXPECT_EQ(failed.deliveries(0).event_type(), "job.completed");
  EXPECT_EQ(failed.deliveries(0).last_http_status(), 400);
  EXPECT_EQ(failed.deliveries(0).attempt_count(), 3);

  v1::ListDeliveriesResponse by_type;
  ASSERT_TRUE(IsOk(list("", "job.completed", 0, 0, &by_type, key_)));
  EXPECT_EQ(by_type.total(), 1);
  v1::ListDeliveriesResponse none;
  ASSERT_TRUE(IsOk(list("failed", "follower.gained", 0, 0, &none, key_)));
  EXPECT_EQ(none.deliveries_size(), 0);

  std::set<std::string> paged;
  for (int page = 1; page <= 3; ++page) {
    v1::ListDeliveriesResponse one;
    ASSERT_TRUE(IsOk(list("", "", page, 1, &one, key_)));
    ASSERT_EQ(one.deliveries_size(), 1) << "page " << page;
    EXPECT_EQ(one.total(), 3);
    EXPECT_EQ(one.page(), page);
    paged.insert(one.deliveries(0).id());
  }
  EXPECT_EQ(paged.size(), 3u) << "pages overlap";

  v1::ListDeliveriesResponse rejected;
  EXPECT_EQ(list("", "", 1, 101, &rejected, key_).error_code(),
            StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(list("bogus", "", 1, 10, &rejected, key_).error_code(),
            StatusCode::INVALID_ARGUMENT);

  // Another account's webhook does not exist for you.
  EXPECT_EQ(list("", "", 0, 0, &rejected, other_.admin_key).error_code(),
            StatusCode::NOT_FOUND);
  v1::Delivery d;
  EXPECT_EQ(GetDelivery(api(), other_.admin_key, hook.webhook_id(),
                        all.deliveries(0).id(), &d)
                .error_code(),
            StatusCode::NOT_FOUND);
  grpc::ClientContext context;
  Authorize(&context, other_.admin_key);
  v1::RedeliverRequest redeliver;
  redeliver.set_webhook_id(hook.webhook_id());
  redeliver.set_id(all.deliveries(0).id());
  EXPECT_EQ(api().webhooks->Redeliver(&context, redeliver, &d).error_code(),
            StatusCode::NOT_FOUND);
}

TEST_F(DeliveryHttpTest, RedeliverSendsTheSameDeliveryAgain) {
  v1::CreateWebhookResponse hook = NewHook({"follower.gained"});
  PublishOk(FollowerGained("again"));
  ASSERT_TRUE(receiver_->WaitForRequests(1, kWait));
  const std::string id = receiver_->Requests()[0].Header("webhook-id");
  AwaitDelivery(hook.webhook_id(), id, "succeeded");

  grpc::ClientContext context;
  Authorize(&context, key_);
  v1::RedeliverRequest request;
  request.set_webhook_id(hook.webhook_id());
  request.set_id(id);
  v1::Delivery queued;
  ASSERT_TRUE(IsOk(api().webhooks->Redeliver(&context, request, &queued)));
  EXPECT_EQ(queued.id(), id);

  ASSERT_TRUE(receiver_->WaitForRequests(2, kWait));
  std::vector<ReceivedRequest> r = receiver_->Requests();
  EXPECT_EQ(r[1].Header("webhook-id"), id) << "receivers dedupe on this";
  EXPECT_EQ(r[1].Header("x-leadrelay-delivery"), id);
  absl::StatusOr<Struct> first = ParseJsonObject(r[0].body);
  absl::StatusOr<Struct> second = ParseJsonObject(r[1].body);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(Str(second->fields(), "delivery_id"), id);
  EXPECT_EQ(Str(second->fields(), "event_id"),
            Str(first->fields(), "event_id"));

  ASSERT_TRUE(WaitForSqlInt(env_->db(),
                            "SELECT count(*) FROM delivery_attempts WHERE "
                            "delivery_id = $1",
                            {id}, 2, kWait) == 2);
  v1::Delivery d = AwaitDelivery(hook.webhook_id(), id, "succeeded");
  ASSERT_EQ(d.attempts_size(), 2);
  EXPECT_EQ(d.attempts(0).trigger(), "scheduled");
  EXPECT_EQ(d.attempts(1).trigger(), "manual");
  EXPECT_EQ(d.attempts(1).number(), 2);
}

TEST_F(DeliveryHttpTest, RecoverDeliveriesRequeuesFailedOnesSince) {
  absl::Time before = absl::Now() - absl::Seconds(5);
  receiver_->SetDefault(Reply::Status(500));
  v1::CreateWebhookResponse hook = NewHook({"follower.gained"});
  v1::PublishEventResponse published = PublishOk(FollowerGained("recover"));
  const std::string id =
      DeliveryIdOf(published.event().id(), hook.webhook_id());
  AwaitDelivery(hook.webhook_id(), id, "failed");
  ASSERT_EQ(receiver_->RequestCount(), 3u);

  auto recover = [&](absl::Time since, v1::RecoverDeliveriesResponse* out) {
    grpc::ClientContext context;
    Authorize(&context, key_);
    v1::RecoverDeliveriesRequest request;
    request.set_webhook_id(hook.webhook_id());
    request.mutable_since()->set_seconds(absl::ToUnixSeconds(since));
    return api().webhooks->RecoverDeliveries(&context, request, out);
  };
  v1::RecoverDeliveriesResponse later;
  ASSERT_TRUE(IsOk(recover(absl::Now() + absl::Hours(1), &later)));
  EXPECT_EQ(later.deliveries_queued(), 0);

  receiver_->SetDefault(Reply::Status(200));
  v1::RecoverDeliveriesResponse recovered;
  ASSERT_TRUE(IsOk(recover(before, &recovered)));
  EXPECT_EQ(recovered.deliveries_queued(), 1);
  ASSERT_TRUE(receiver_->WaitForRequests(4, kWait));
  EXPECT_EQ(receiver_->Requests()[3].Header("webhook-id"), id);
  v1::Delivery d = AwaitDelivery(hook.webhook_id(), id, "succeeded");
  ASSERT_EQ(d.attempts_size(), 4);
  EXPECT_EQ(d.attempts(3).http_status(), 200);
  EXPECT_EQ(d.attempts(3).trigger(), "manual");
}

TEST_F(DeliveryHttpTest, TestWebhookAnswersWithTheAttemptAndSaysTest) {
  v1::CreateWebhookResponse hook = NewHook({"lead.new"});
  grpc::ClientContext context;
  Authorize(&context, key_);
  v1::TestWebhookRequest request;
  request.set_id(hook.webhook_id());
  v1::TestWebhookResponse response;
  ASSERT_TRUE(IsOk(api().webhooks->TestWebhook(&context, request, &response)));
  // Synchronous: the receiver already has it.
  ASSERT_EQ(receiver_->RequestCount(), 1u);
  EXPECT_TRUE(response.success());
  const v1::Delivery& d = response.delivery();
  EXPECT_TRUE(d.test());
  EXPECT_EQ(d.status(), "succeeded");
  EXPECT_EQ(d.event_type(), "webhook.test");
  ASSERT_EQ(d.attempts_size(), 1);
  EXPECT_EQ(d.attempts(0).http_status(), 200);
  EXPECT_EQ(d.attempts(0).trigger(), "test");

  const ReceivedRequest r = receiver_->Requests()[0];
  absl::StatusOr<Struct> body = ParseJsonObject(r.body);
  ASSERT_TRUE(body.ok()) << body.status();
  auto test = body->fields().find("test");
  ASSERT_NE(test, body->fields().end()) << r.body;
  EXPECT_TRUE(test->second.bool_value());
  EXPECT_EQ(Str(body->fields(), "event"), "webhook.test");
  EXPECT_EQ(Str(body->fields(), "delivery_id"), d.id());
  EXPECT_EQ(r.Header("x-leadrelay-event"), "webhook.test");
  EXPECT_EQ(r.Header("x-leadrelay-signature"),
            LowerHex(HmacSha256Raw(hook.secret(), r.body)));
}

TEST_F(DeliveryHttpTest, FailedTestWebhookReportsTheFailureAndIsNotRetried) {
  receiver_->SetDefault(Reply::Status(500));
  v1::CreateWebhookResponse hook = NewHook({"lead.new"});
  grpc::ClientContext context;
  Authorize(&context, key_);
  v1::TestWebhookRequest request;
  request.set_id(hook.webhook_id());
  v1::TestWebhookResponse response;
  ASSERT_TRUE(IsOk(api().webhooks->TestWebhook(&context, request, &response)));
  EXPECT_FALSE(response.success());
  ASSERT_EQ(response.delivery().attempts_size(), 1);
  EXPECT_EQ(response.delivery().attempts(0).http_status(), 500);
  EXPECT_EQ(response.delivery().status(), "failed");
  EXPECT_FALSE(receiver_->WaitForRequests(2, absl::Seconds(3)))
      << "a test delivery was retried";

  // Another account cannot test this webhook.
  grpc::ClientContext other_context;
  Authorize(&other_context, other_.admin_key);
  EXPECT_EQ(api()
                .webhooks->TestWebhook(&other_context, request, &response)
                .error_code(),
            StatusCode::NOT_FOUND);
}

// --- Auto-disable (its own server: a 3 s limit)
// -------------------------------

TEST(DeliveryAutoDisableTest, AnEndpointFailingLongerThanTheLimitIsDisabled) {
  absl::StatusOr<std::unique_ptr<DeliveryEnv>> env = DeliveryEnv::Create();
  ASSERT_TRUE(env.ok()) << env.status();
  std::vector<std::string> flags = FastDispatchFlags();
  flags.push_back("--retry_schedule=1s,1s,1s,1s,1s,1s,1s,1s,1s,1s");
  flags.push_back("--disable_failing_endpoints_after=3s");
  absl::StatusOr<int> server = (*env)->StartServer(flags);
  ASSERT_TRUE(server.ok()) << server.status();
  absl::StatusOr<Account> account = (*env)->Bootstrap("failing");
  ASSERT_TRUE(account.ok()) << account.status();
  absl::StatusOr<std::unique_ptr<HttpReceiver>> receiver =
      HttpReceiver::Start();
  ASSERT_TRUE(receiver.ok());
  (*receiver)->SetDefault(Reply::Status(503));
  Api& api = (*env)->api(0);
  const std::string key = account->admin_key;
  v1::CreateWebhookResponse hook;
  ASSERT_TRUE(IsOk(
      CreateWebhook(api, key, (*receiver)->Url(), {"follower.gained"}, &hook)));
  v1::PublishEventResponse published;
  ASSERT_TRUE(IsOk(Publish(api, key, FollowerGained("x"), &published)));
  absl::Time first_attempt = absl::Now();

  v1::Webhook webhook;
  absl::Time deadline = absl::Now() + kWait;
  for (;;) {
    ASSERT_TRUE(IsOk(GetWebhook(api, key, hook.webhook_id(), &webhook)));
    if (!webhook.enabled() || absl::Now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_FALSE(webhook.enabled()) << (*env)->LogTails();
  EXPECT_GE(absl::Now() - first_attempt, absl::Seconds(3) - kSlack);
  EXPECT_FALSE(webhook.disabled_reason().empty());
  EXPECT_GE((*receiver)->RequestCount(), 3u);

  grpc::ClientContext context;
  Authorize(&context, key);
  v1::ListEventsRequest list;
  list.add_types("webhook.disabled");
  v1::ListEventsResponse events;
  ASSERT_TRUE(IsOk(api.events->ListEvents(&context, list, &events)));
  ASSERT_EQ(events.events_size(), 1);
  EXPECT_EQ(events.events(0).webhook_disabled().webhook_id(),
            hook.webhook_id());
  EXPECT_EQ(events.events(0).webhook_disabled().reason(),
            webhook.disabled_reason());
  // Its pending delivery is failed, not left pending forever.
  v1::Delivery d;
  EXPECT_TRUE(WaitForDeliveryStatus(
      api, key, hook.webhook_id(),
      (*env)
          ->db()
          .Query("SELECT id FROM deliveries WHERE event_id = $1",
                 {published.event().id()})
          .value()[0][0],
      "failed", kWait, &d))
      << d.ShortDebugString();
}

TEST(DeliveryCapsTest, SlowEndpointsGetNoMoreThanTheCapsAndEveryDelivery) {
  // Five slow endpoints (each answers after 100 ms); the first gets three
  // times the others' deliveries. No endpoint ever has more than 4 requests
  // open at once, the server no more than 16, and each of the 70 deliveries
  // arrives exactly once, also while the dispatcher sits at its cap,
  // claiming and recording as slots free up.
  constexpr int kPerEndpoint = 4;
  constexpr int kTotal = 16;
  constexpr int kEndpoints = 5;
  constexpr int kRounds = 10;
  absl::StatusOr<std::unique_ptr<DeliveryEnv>> env = DeliveryEnv::Create();
  ASSERT_TRUE(env.ok()) << env.status();
  std::vector<std::string> flags = FastDispatchFlags();
  flags.push_back(absl::StrCat("--max_in_flight_per_endpoint=", kPerEndpoint));
  flags.push_back(absl::StrCat("--max_deliveries_in_flight=", kTotal));
  ASSERT_TRUE((*env)->StartServer(flags).ok());
  absl::StatusOr<Account> account = (*env)->Bootstrap("capped");
  ASSERT_TRUE(account.ok()) << account.status();
  absl::StatusOr<std::unique_ptr<HttpReceiver>> receiver =
      HttpReceiver::Start();
  ASSERT_TRUE(receiver.ok());

  // Shared with the receiver's threads, which may still be answering when
  // the test ends.
  struct Counts {
    std::mutex mu;
    std::map<std::string, int> open;  // by path
    std::map<std::string, int> most_open;
    int open_total = 0;
    int most_open_total = 0;
  };
  auto counts = std::make_shared<Counts>();
  (*receiver)->SetResponder([counts](const ReceivedRequest& r) {
    {
      std::lock_guard<std::mutex> lock(counts->mu);
      int& open = counts->open[r.path];
      int& most = counts->most_open[r.path];
      most = std::max(most, ++open);
      counts->most_open_total =
          std::max(counts->most_open_total, ++counts->open_total);
    }
    // The endpoint's own work; counted as open until it answers.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    {
      std::lock_guard<std::mutex> lock(counts->mu);
      --counts->open[r.path];
      --counts->open_total;
    }
    return Reply::Status(200);
  });

  // /hook0 takes follower.gained and follower.lost; the others only
  // follower.lost.
  Api& api = (*env)->api(0);
  const std::string key = account->admin_key;
  for (int i = 0; i < kEndpoints; ++i) {
    std::vector<std::string> types = {"follower.lost"};
    if (i == 0) types.push_back("follower.gained");
    v1::CreateWebhookResponse hook;
    ASSERT_TRUE(IsOk(CreateWebhook(
        api, key, (*receiver)->Url(absl::StrCat("/hook", i)), types, &hook)));
  }
  int expected = 0;
  for (int round = 0; round < kRounds; ++round) {
    for (const char* type :
         {"follower.gained", "follower.gained", "follower.lost"}) {
      v1::PublishEventRequest request =
          FollowerGained(absl::StrCat("t", round));
      request.set_type(type);
      v1::PublishEventResponse published;
      ASSERT_TRUE(IsOk(Publish(api, key, request, &published)));
      expected += published.deliveries_queued();
    }
  }
  ASSERT_EQ(expected, kRounds * (2 + kEndpoints));
  ASSERT_TRUE((*receiver)->WaitForRequests(expected, kWait))
      << (*env)->LogTails();

  std::set<std::string> ids;
  for (const ReceivedRequest& r : (*receiver)->Requests()) {
    ids.insert(r.Header("x-leadrelay-delivery"));
  }
  EXPECT_EQ(ids.size(), static_cast<size_t>(expected));
  EXPECT_EQ((*receiver)->RequestCount(), static_cast<size_t>(expected));
  EXPECT_TRUE((*receiver)->OverlappingDeliveries().empty());
  std::lock_guard<std::mutex> lock(counts->mu);
  ASSERT_EQ(counts->most_open.size(), static_cast<size_t>(kEndpoints));
  for (const auto& [path, most] : counts->most_open) {
    EXPECT_LE(most, kPerEndpoint) << path;
  }
  EXPECT_LE(counts->most_open_total, kTotal);
  // The caps were reached, not merely respected by a trickle.
  EXPECT_EQ(counts->most_open["/hook0"], kPerEndpoint);
  EXPECT_GT(counts->most_open_total, 2 * kPerEndpoint);
}

}  // namespace
}  // namespace leadrelay::dtest
