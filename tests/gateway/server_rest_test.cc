// End-to-end REST tests: a real leadrelay-server with the gateway hosted
// in-process (--http_address), on a fresh database, driven over HTTP/1.1 the
// way an integrator would drive it with curl.
//
// Needs LEADRELAY_SERVER_BIN and LEADRELAY_TEST_PG_URL (see tests/CMakeLists).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "http_client.h"
#include "support/harness.h"
#include "support/postgres.h"
#include "support/process.h"

namespace leadrelay::itest {
namespace {

using ::google::protobuf::Struct;
using ::google::protobuf::Value;
using ::leadrelay::gateway::testing::AwaitRestGateway;
using ::leadrelay::gateway::testing::Fetch;
using ::leadrelay::gateway::testing::HttpConnection;
using ::leadrelay::gateway::testing::HttpResponse;
using ::leadrelay::gateway::testing::RequestText;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr int kReadinessSeconds = 60;
constexpr int kBootstrapSeconds = 60;

// A JSON object body, or an empty Struct (and a test failure) when the body
// is not a JSON object.
Struct ParseObject(const std::string& body) {
  Struct object;
  const auto status =
      google::protobuf::util::JsonStringToMessage(body, &object);
  EXPECT_TRUE(status.ok()) << "not a JSON object: " << status.ToString() << "\n"
                           << body;
  return object;
}

// The member `name` of `object`; a null Value when absent.
Value Member(const Struct& object, const std::string& name) {
  auto it = object.fields().find(name);
  return it == object.fields().end() ? Value() : it->second;
}

std::string StringMember(const Struct& object, const std::string& name) {
  return Member(object, name).string_value();
}

bool HasMember(const Struct& object, const std::string& name) {
  return object.fields().count(name) > 0;
}

// Integer members come back as JSON numbers (int32) or strings (int64).
int64_t IntMember(const Struct& object, const std::string& name) {
  Value value = Member(object, name);
  if (value.has_string_value()) {
    int64_t parsed = -1;
    EXPECT_TRUE(absl::SimpleAtoi(value.string_value(), &parsed));
    return parsed;
  }
  return static_cast<int64_t>(value.number_value());
}

int64_t IntHeader(const HttpResponse& response, const std::string& name) {
  int64_t value = -1;
  EXPECT_TRUE(absl::SimpleAtoi(response.header(name), &value))
      << name << ": '" << response.header(name) << "'";
  return value;
}

// "status, headers, body" for failure messages.
std::string Show(const HttpResponse& response) {
  std::string out = absl::StrCat("HTTP ", response.status, "\n");
  for (const auto& [name, value] : response.headers) {
    absl::StrAppend(&out, name, ": ", value, "\n");
  }
  absl::StrAppend(&out, "\n", response.body);
  return out;
}

std::string Bearer(const std::string& key) {
  return absl::StrCat("Authorization: Bearer ", key);
}

class ServerRestTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::Status status = StartWorld();
    if (!status.ok()) setup_error_ = std::string(status.message());
  }

  static void TearDownTestSuite() {
    if (server_ != nullptr) server_->Stop();
    if (failed_ && temp_dir_ != nullptr) temp_dir_->Keep();
    server_.reset();
    database_.reset();
    temp_dir_.reset();
  }

  void SetUp() override {
    ASSERT_TRUE(setup_error_.empty())
        << "REST test set-up failed: " << setup_error_;
  }

  void TearDown() override {
    if (HasFailure() && server_ != nullptr) {
      failed_ = true;
      std::cerr << "---- leadrelay-server log (" << server_->log_path()
                << "), last lines:\n"
                << FileTail(server_->log_path(), 40) << std::flush;
    }
  }

  static absl::Status StartWorld() {
    absl::StatusOr<std::string> bin = RequiredEnv("LEADRELAY_SERVER_BIN");
    if (!bin.ok()) return bin.status();
    server_bin_ = *bin;
    absl::StatusOr<std::string> admin_url =
        RequiredEnv("LEADRELAY_TEST_PG_URL");
    if (!admin_url.ok()) return admin_url.status();
    absl::StatusOr<std::unique_ptr<TempDir>> dir = TempDir::Create();
    if (!dir.ok()) return dir.status();
    temp_dir_ = *std::move(dir);
    absl::StatusOr<std::unique_ptr<TempDatabase>> database =
        TempDatabase::Create(*admin_url);
    if (!database.ok()) return database.status();
    database_ = *std::move(database);

    // Bootstrapping also applies the migrations, before the server starts.
    struct Wanted {
      const char* name;
      const char* plan;
      Account* out;
    };
    for (const Wanted& wanted :
         {Wanted{"main-account", "enterprise", &main_},
          Wanted{"other-account", "enterprise", &other_},
          Wanted{"webhook-limit-account", "enterprise", &limit_},
          Wanted{"pro-account", "pro", &pro_}}) {
      absl::StatusOr<Account> account = Bootstrap(wanted.name, wanted.plan);
      if (!account.ok()) return account.status();
      *wanted.out = *std::move(account);
    }

    absl::StatusOr<int> grpc_port = PickFreePort();
    if (!grpc_port.ok()) return grpc_port.status();
    absl::StatusOr<int> http_port = PickFreePort();
    if (!http_port.ok()) return http_port.status();
    port_ = *http_port;
    const std::string log_path = absl::StrCat(temp_dir_->path(), "/server.log");
    absl::StatusOr<std::unique_ptr<ChildProcess>> process = ChildProcess::Spawn(
        {server_bin_, absl::StrCat("--database_url=", database_->url()),
         absl::StrCat("--grpc_address=127.0.0.1:", *grpc_port),
         absl::StrCat("--http_address=127.0.0.1:", port_),
         absl::StrCat("--gateway_config=", LEADRELAY_SOURCE_DIR,
                      "/gateway/envoy.yaml"),
         absl::StrCat("--descriptor_set=", LEADRELAY_DESCRIPTOR_SET),
         "--allow_webhook_hosts=127.0.0.1,localhost",
         // Streams send a heartbeat soon after opening: the SSE test waits on
         // it to know the subscription is live.
         "--stream_heartbeat_interval=0.5s"},
        log_path);
    if (!process.ok()) return process.status();
    server_ = *std::move(process);

    return AwaitRestGateway(
        port_, kReadinessSeconds, [] { return server_->IsRunning(); },
        [log_path] { return FileTail(log_path, 40); });
  }

  static absl::StatusOr<Account> Bootstrap(const std::string& name,
                                           const std::string& plan) {
    absl::StatusOr<std::string> output = RunToCompletion(
        {server_bin_, absl::StrCat("--database_url=", database_->url()),
         absl::StrCat("--bootstrap_account=", name),
         absl::StrCat("--bootstrap_plan=", plan), "--bootstrap_credits=1000"},
        absl::StrCat(temp_dir_->path(), "/bootstrap-", name, ".log"),
        kBootstrapSeconds);
    if (!output.ok()) return output.status();
    Account account;
    account.name = name;
    for (absl::string_view line : absl::StrSplit(*output, '\n')) {
      if (absl::ConsumePrefix(&line, "account_id=")) {
        account.id = std::string(line);
      } else if (absl::ConsumePrefix(&line, "api_key=")) {
        account.admin_key = std::string(line);
      }
    }
    if (account.id.empty() || account.admin_key.empty()) {
      return absl::InternalError(
          absl::StrCat("bootstrap of ", name, " printed:\n", *output));
    }
    return account;
  }

  // One request with `key` as a Bearer token (none when empty).
  static HttpResponse Call(const std::string& method, const std::string& target,
                           const std::string& key, const std::string& body = "",
                           std::vector<std::string> headers = {}) {
    if (!key.empty()) headers.push_back(Bearer(key));
    return Fetch(port_, method, target, body, headers);
  }

  // POST /v1/leads; the created lead's JSON.
  static Struct CreateLead(const std::string& key, const std::string& vertical,
                           const std::string& suburb, int score) {
    const std::string body =
        absl::StrCat(R"({"vertical":")", vertical, R"(","first_name":"Thabo",)",
                     R"("last_name":"Mokoena","suburb":")", suburb,
                     R"(","province":"Gauteng","score":)", score,
                     R"(,"phone":"+27823456789","email":"thabo.m@gmail.com",)",
                     R"("source":"web_form"})");
    HttpResponse response = Call("POST", "/v1/leads", key, body);
    EXPECT_EQ(response.status, 200) << Show(response);
    return ParseObject(response.body);
  }

  // GET /v1/leads?<query> as `key`; the parsed body (200 expected).
  static Struct ListLeads(const std::string& key, const std::string& query) {
    HttpResponse response = Call("GET", absl::StrCat("/v1/leads?", query), key);
    EXPECT_EQ(response.status, 200) << query << "\n" << Show(response);
    return ParseObject(response.body);
  }

  // POST `path` creating a webhook to a loopback URL; the response.
  static HttpResponse CreateWebhook(const std::string& key,
                                    const std::string& path,
                                    const std::string& url) {
    return Call("POST", path, key,
                absl::StrCat(R"({"name":")", UniqueName("hook"), R"(","url":")",
                             url, R"(","events":["lead.new"]})"));
  }

  // Checks a JSON error body: {"code": code, "message": "..."}.
  static void ExpectError(const HttpResponse& response, int http_status,
                          const std::string& code) {
    EXPECT_EQ(response.status, http_status) << Show(response);
    EXPECT_THAT(response.header("content-type"),
                StartsWith("application/json"));
    Struct error = ParseObject(response.body);
    EXPECT_EQ(StringMember(error, "code"), code) << response.body;
    EXPECT_FALSE(StringMember(error, "message").empty()) << response.body;
  }

  static inline std::string server_bin_;
  static inline std::string setup_error_;
  static inline bool failed_ = false;
  static inline std::unique_ptr<TempDir> temp_dir_;
  static inline std::unique_ptr<TempDatabase> database_;
  static inline std::unique_ptr<ChildProcess> server_;
  static inline int port_ = 0;
  static inline Account main_;
  static inline Account other_;
  static inline Account limit_;
  static inline Account pro_;
};

TEST_F(ServerRestTest, GetMeWithBearerToken) {
  HttpResponse response = Call("GET", "/v1/me", main_.admin_key);
  ASSERT_EQ(response.status, 200) << Show(response);
  EXPECT_THAT(response.header("content-type"), StartsWith("application/json"));
  Struct me = ParseObject(response.body);
  Struct account = Member(me, "account").struct_value();
  EXPECT_EQ(StringMember(account, "id"), main_.id);
  EXPECT_EQ(StringMember(account, "name"), "main-account");
  EXPECT_EQ(StringMember(account, "plan"), "enterprise");
  // snake_case field names, as the seeds print them.
  EXPECT_TRUE(HasMember(account, "rate_limit_per_minute")) << response.body;
  EXPECT_TRUE(HasMember(account, "created_at")) << response.body;
  EXPECT_FALSE(HasMember(account, "rateLimitPerMinute")) << response.body;
  EXPECT_TRUE(HasMember(me, "api_key")) << response.body;
}

TEST_F(ServerRestTest, GetMeWithApiKeyHeader) {
  HttpResponse response =
      Fetch(port_, "GET", "/v1/me", "",
            {absl::StrCat("X-Api-Key: ", other_.admin_key)});
  ASSERT_EQ(response.status, 200) << Show(response);
  Struct account = Member(ParseObject(response.body), "account").struct_value();
  EXPECT_EQ(StringMember(account, "id"), other_.id);
}

TEST_F(ServerRestTest, RateLimitHeadersOnNormalResponse) {
  HttpResponse response = Call("GET", "/v1/credits", main_.admin_key);
  ASSERT_EQ(response.status, 200) << Show(response);
  EXPECT_EQ(IntHeader(response, "x-ratelimit-limit"), 600);
  const int64_t remaining = IntHeader(response, "x-ratelimit-remaining");
  EXPECT_GE(remaining, 0);
  EXPECT_LT(remaining, 600);
  const int64_t reset = IntHeader(response, "x-ratelimit-reset");
  EXPECT_GE(reset, UnixNow() - 1);
  EXPECT_LE(reset, UnixNow() + 61);
  EXPECT_FALSE(response.header("x-request-id").empty()) << Show(response);
}

TEST_F(ServerRestTest, CreateAndListLeadsWithFilters) {
  // A suburb of this test only, so the counts are exact.
  const std::string suburb = UniqueName("Sandton");
  Struct hot = CreateLead(main_.admin_key, "solar", suburb, 87);
  EXPECT_EQ(StringMember(hot, "score_tier"), "hot");
  EXPECT_EQ(StringMember(hot, "vertical"), "solar");
  EXPECT_TRUE(HasMember(hot, "created_at")) << hot.DebugString();
  EXPECT_FALSE(HasMember(hot, "scoreTier"));
  CreateLead(main_.admin_key, "solar", suburb, 65);
  CreateLead(main_.admin_key, "insurance", suburb, 30);
  // Another account's lead in the same suburb stays invisible.
  CreateLead(other_.admin_key, "solar", suburb, 90);

  const std::string by_suburb = absl::StrCat("suburb=", suburb);
  Struct all = ListLeads(main_.admin_key, by_suburb);
  EXPECT_EQ(IntMember(all, "total"), 3) << all.DebugString();
  EXPECT_EQ(Member(all, "leads").list_value().values_size(), 3);

  Struct solar =
      ListLeads(main_.admin_key, absl::StrCat(by_suburb, "&vertical=solar"));
  EXPECT_EQ(IntMember(solar, "total"), 2);
  const Value solar_leads = Member(solar, "leads");
  for (const Value& lead : solar_leads.list_value().values()) {
    EXPECT_EQ(StringMember(lead.struct_value(), "vertical"), "solar");
  }

  Struct hot_only =
      ListLeads(main_.admin_key,
                absl::StrCat(by_suburb, "&vertical=solar&score_tier=hot"));
  ASSERT_EQ(IntMember(hot_only, "total"), 1) << hot_only.DebugString();
  EXPECT_EQ(StringMember(
                Member(hot_only, "leads").list_value().values(0).struct_value(),
                "id"),
            StringMember(hot, "id"));

  Struct today = ListLeads(main_.admin_key,
                           absl::StrCat(by_suburb, "&date_from=", UtcDate(-1),
                                        "&date_to=", UtcDate(1)));
  EXPECT_EQ(IntMember(today, "total"), 3);
  Struct future = ListLeads(main_.admin_key,
                            absl::StrCat(by_suburb, "&date_from=", UtcDate(2),
                                         "&date_to=", UtcDate(3)));
  EXPECT_EQ(IntMember(future, "total"), 0);

  Struct page2 =
      ListLeads(main_.admin_key, absl::StrCat(by_suburb, "&page=2&limit=2"));
  EXPECT_EQ(IntMember(page2, "total"), 3);
  EXPECT_EQ(IntMember(page2, "page"), 2);
  EXPECT_EQ(IntMember(page2, "limit"), 2);
  EXPECT_EQ(Member(page2, "leads").list_value().values_size(), 1);

  // Enum-like values are validated by the server: 400, JSON.
  ExpectError(
      Call("GET", absl::StrCat("/v1/leads?", by_suburb, "&score_tier=lukewarm"),
           main_.admin_key),
      400, "invalid_request");
}

TEST_F(ServerRestTest, GetLeadByIdHasContactAndIsolatesAccounts) {
  Struct created = CreateLead(main_.admin_key, "solar", "Durbanville", 81);
  const std::string id = StringMember(created, "id");
  ASSERT_FALSE(id.empty()) << created.DebugString();

  HttpResponse response =
      Call("GET", absl::StrCat("/v1/leads/", id), main_.admin_key);
  ASSERT_EQ(response.status, 200) << Show(response);
  Struct lead = ParseObject(response.body);
  EXPECT_EQ(StringMember(lead, "id"), id);
  EXPECT_EQ(StringMember(lead, "phone"), "+27823456789");
  EXPECT_EQ(StringMember(lead, "email"), "thabo.m@gmail.com");
  EXPECT_EQ(StringMember(lead, "first_name"), "Thabo");
  // The Lead prints every field with its proto name.
  EXPECT_TRUE(HasMember(lead, "delivered_at") || HasMember(lead, "updated_at"))
      << response.body;

  ExpectError(Call("GET", absl::StrCat("/v1/leads/", id), other_.admin_key),
              404, "not_found");
  ExpectError(Call("GET", "/v1/leads/lead_does_not_exist", main_.admin_key),
              404, "not_found");
}

TEST_F(ServerRestTest, LimitOverMaximumIsInvalidRequest) {
  ExpectError(Call("GET", "/v1/leads?limit=101", main_.admin_key), 400,
              "invalid_request");
  EXPECT_EQ(Call("GET", "/v1/leads?limit=100", main_.admin_key).status, 200);
}

TEST_F(ServerRestTest, MissingOrBadKeyIsUnauthorized) {
  ExpectError(Call("GET", "/v1/me", ""), 401, "unauthorized");
  ExpectError(Call("GET", "/v1/leads", "lr_not_a_real_key"), 401,
              "unauthorized");
  ExpectError(Fetch(port_, "GET", "/v1/me", "", {"X-Api-Key: nope"}), 401,
              "unauthorized");
}

TEST_F(ServerRestTest, WebhookLifecycle) {
  const std::string url = "http://127.0.0.1:9/hooks/leads";
  HttpResponse created = CreateWebhook(main_.admin_key, "/v1/webhooks", url);
  ASSERT_EQ(created.status, 200) << Show(created);
  Struct body = ParseObject(created.body);
  const std::string id = StringMember(body, "webhook_id");
  ASSERT_FALSE(id.empty()) << created.body;
  const std::string first_secret = StringMember(body, "secret");
  EXPECT_FALSE(first_secret.empty()) << created.body;
  Struct webhook = Member(body, "webhook").struct_value();
  EXPECT_EQ(StringMember(webhook, "url"), url);
  EXPECT_TRUE(Member(webhook, "enabled").bool_value());

  // The Leaditio binding of the same RPC.
  HttpResponse leaditio = CreateWebhook(main_.admin_key, "/v1/leads/webhook",
                                        "http://localhost:9/leaditio");
  ASSERT_EQ(leaditio.status, 200) << Show(leaditio);
  const std::string leaditio_id =
      StringMember(ParseObject(leaditio.body), "webhook_id");
  ASSERT_FALSE(leaditio_id.empty());
  EXPECT_NE(leaditio_id, id);

  // Update: name, events and enabled.
  const std::string path = absl::StrCat("/v1/webhooks/", id);
  HttpResponse updated =
      Call("PATCH", path, main_.admin_key,
           R"({"name":"renamed","events":["lead.new","lead.updated"],)"
           R"("enabled":false})");
  ASSERT_EQ(updated.status, 200) << Show(updated);
  Struct after_update = ParseObject(updated.body);
  EXPECT_EQ(StringMember(after_update, "id"), id);
  EXPECT_EQ(StringMember(after_update, "name"), "renamed");
  EXPECT_FALSE(Member(after_update, "enabled").bool_value());
  EXPECT_EQ(Member(after_update, "events").list_value().values_size(), 2);

  HttpResponse fetched = Call("GET", path, main_.admin_key);
  ASSERT_EQ(fetched.status, 200) << Show(fetched);
  EXPECT_EQ(StringMember(ParseObject(fetched.body), "name"), "renamed");
  // Another account cannot see it.
  ExpectError(Call("GET", path, other_.admin_key), 404, "not_found");

  // Rotate the secret (custom verb).
  HttpResponse rotated =
      Call("POST", absl::StrCat(path, ":rotate-secret"), main_.admin_key, "{}");
  ASSERT_EQ(rotated.status, 200) << Show(rotated);
  Struct rotation = ParseObject(rotated.body);
  const std::string second_secret = StringMember(rotation, "secret");
  EXPECT_FALSE(second_secret.empty()) << rotated.body;
  EXPECT_NE(second_secret, first_secret);
  EXPECT_EQ(StringMember(Member(rotation, "webhook").struct_value(), "id"), id);

  // Delete both; the deleted one is gone.
  HttpResponse deleted = Call("DELETE", path, main_.admin_key);
  EXPECT_EQ(deleted.status, 200) << Show(deleted);
  ExpectError(Call("GET", path, main_.admin_key), 404, "not_found");
  EXPECT_EQ(Call("DELETE", absl::StrCat("/v1/webhooks/", leaditio_id),
                 main_.admin_key)
                .status,
            200);
  HttpResponse listed = Call("GET", "/v1/webhooks", main_.admin_key);
  ASSERT_EQ(listed.status, 200) << Show(listed);
  EXPECT_THAT(listed.body, ::testing::Not(HasSubstr(id)));
}

TEST_F(ServerRestTest, WebhookUrlMustBeAllowed) {
  ExpectError(
      CreateWebhook(main_.admin_key, "/v1/webhooks", "http://example.com/hook"),
      400, "invalid_request");
  ExpectError(CreateWebhook(main_.admin_key, "/v1/webhooks", "not a url"), 400,
              "invalid_request");
}

TEST_F(ServerRestTest, SixthWebhookIsRejected) {
  for (int i = 0; i < 5; ++i) {
    HttpResponse created =
        CreateWebhook(limit_.admin_key, "/v1/webhooks",
                      absl::StrCat("http://127.0.0.1:9/hook-", i));
    ASSERT_EQ(created.status, 200) << "webhook " << i << "\n" << Show(created);
  }
  ExpectError(CreateWebhook(limit_.admin_key, "/v1/leads/webhook",
                            "http://127.0.0.1:9/hook-6"),
              400, "invalid_request");
}

TEST_F(ServerRestTest, SixtyFirstCallInAMinuteIsRateLimited) {
  // One keep-alive connection, as a client library would use.
  std::unique_ptr<HttpConnection> connection = HttpConnection::Connect(port_);
  ASSERT_NE(connection, nullptr);
  const std::string request =
      RequestText("GET", "/v1/me", "", {Bearer(pro_.admin_key)});
  for (int i = 1; i <= 60; ++i) {
    ASSERT_TRUE(connection->Send(request));
    std::optional<HttpResponse> response = connection->Read();
    ASSERT_TRUE(response.has_value()) << "call " << i;
    ASSERT_EQ(response->status, 200) << "call " << i << "\n" << Show(*response);
    EXPECT_EQ(IntHeader(*response, "x-ratelimit-limit"), 60);
    EXPECT_EQ(IntHeader(*response, "x-ratelimit-remaining"), 60 - i)
        << "call " << i;
  }
  ASSERT_TRUE(connection->Send(request));
  std::optional<HttpResponse> limited = connection->Read();
  ASSERT_TRUE(limited.has_value());
  ExpectError(*limited, 429, "rate_limited");
  Struct body = ParseObject(limited->body);
  const int64_t retry_after_body = IntMember(body, "retry_after_seconds");
  EXPECT_GE(retry_after_body, 1) << limited->body;
  EXPECT_LE(retry_after_body, 60) << limited->body;
  EXPECT_EQ(IntHeader(*limited, "retry-after"), retry_after_body);
  EXPECT_EQ(IntHeader(*limited, "x-ratelimit-limit"), 60);
  EXPECT_EQ(IntHeader(*limited, "x-ratelimit-remaining"), 0);
  const int64_t reset = IntHeader(*limited, "x-ratelimit-reset");
  EXPECT_GE(reset, UnixNow());
  EXPECT_LE(reset, UnixNow() + 61);
}

TEST_F(ServerRestTest, EventStreamReceivesPublishedEventAsSse) {
  std::unique_ptr<HttpConnection> stream = HttpConnection::Connect(port_);
  ASSERT_NE(stream, nullptr);
  ASSERT_TRUE(stream->Send(
      RequestText("GET", "/v1/events:stream?types=follower.gained", "",
                  {Bearer(main_.admin_key), "Accept: text/event-stream"})));
  // The first heartbeat proves the subscription is live (and the framing is
  // SSE); the connection's receive timeout bounds every wait.
  ASSERT_TRUE(stream->ReadUntil("\"heartbeat\""))
      << "no heartbeat on the event stream";

  const std::string target = UniqueName("sse_target");
  HttpResponse published = Call(
      "POST", "/v1/events", main_.admin_key,
      absl::StrCat(R"({"type":"follower.gained","follower":{)",
                   R"("platform":"instagram","tracked_username":"leadrelay",)",
                   R"("target_username":")", target,
                   R"(","target_user_id":"1789","change_date":")", UtcDate(),
                   R"("}})"));
  ASSERT_EQ(published.status, 200) << Show(published);
  const std::string event_id = StringMember(
      Member(ParseObject(published.body), "event").struct_value(), "id");
  ASSERT_FALSE(event_id.empty()) << published.body;

  ASSERT_TRUE(stream->ReadUntil(event_id))
      << "published event " << event_id << " never arrived on the stream";
  // Everything received so far is still in the connection's buffer, the
  // head included: SSE framing of a chunked 200.
  EXPECT_TRUE(stream->ReadUntil("HTTP/1.1 200"));
  EXPECT_TRUE(stream->ReadUntil("Content-Type: text/event-stream"));
  EXPECT_TRUE(stream->ReadUntil("data: "));
  stream->Close();  // the gateway cancels the upstream call
}

TEST_F(ServerRestTest, OpenApiListsLeads) {
  HttpResponse response = Fetch(port_, "GET", "/openapi.json");
  ASSERT_EQ(response.status, 200) << Show(response);
  Struct document = ParseObject(response.body);
  Struct paths = Member(document, "paths").struct_value();
  EXPECT_TRUE(HasMember(paths, "/v1/leads")) << response.body.substr(0, 500);
  EXPECT_TRUE(HasMember(paths, "/v1/leads/{id}"));
  EXPECT_TRUE(HasMember(Member(paths, "/v1/leads").struct_value(), "get"));
  EXPECT_TRUE(HasMember(Member(paths, "/v1/leads").struct_value(), "post"));
}

TEST_F(ServerRestTest, UnknownPathIsJson404) {
  HttpResponse response = Call("GET", "/v1/nothing/here", main_.admin_key);
  EXPECT_EQ(response.status, 404) << Show(response);
  EXPECT_THAT(response.header("content-type"), StartsWith("application/json"));
  EXPECT_FALSE(StringMember(ParseObject(response.body), "code").empty());
}

TEST_F(ServerRestTest, WrongMethodIs405WithAllow) {
  HttpResponse response = Call("PUT", "/v1/leads", main_.admin_key, "{}");
  EXPECT_EQ(response.status, 405) << Show(response);
  EXPECT_THAT(response.header("allow"), HasSubstr("GET"));
  EXPECT_THAT(response.header("allow"), HasSubstr("POST"));
  EXPECT_THAT(response.header("content-type"), StartsWith("application/json"));
  EXPECT_FALSE(StringMember(ParseObject(response.body), "code").empty());

  HttpResponse me = Call("DELETE", "/v1/me", main_.admin_key);
  EXPECT_EQ(me.status, 405) << Show(me);
  EXPECT_THAT(me.header("allow"), HasSubstr("GET"));
}

TEST_F(ServerRestTest, MalformedJsonBodyIsJson400) {
  HttpResponse response =
      Call("POST", "/v1/leads", main_.admin_key, R"({"vertical": "solar",)");
  ExpectError(response, 400, "invalid_request");
  // A wrong type is a 400 too.
  ExpectError(Call("POST", "/v1/leads", main_.admin_key,
                   R"({"vertical":"solar","score":"very high"})"),
              400, "invalid_request");
}

}  // namespace
}  // namespace leadrelay::itest
