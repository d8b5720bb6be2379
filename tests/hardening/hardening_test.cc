// Hostile and careless input against a real leadrelay-server (gRPC and its
// in-process REST gateway) on a fresh database: one test per class of
// defect. Each hostile request gets its documented error and changes
// nothing; lists over maximum-size items page instead of failing; stream
// memory stays bounded while maximum-size events flow to open streams.
//
// Needs LEADRELAY_SERVER_BIN and LEADRELAY_TEST_PG_URL (see tests/CMakeLists).

#include <grpcpp/generic/generic_stub.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "crypto/keyring.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "http_client.h"
#include "store/events_repo.h"
#include "support/harness.h"
#include "support/postgres.h"
#include "support/process.h"

namespace leadrelay::itest {
namespace {

using ::leadrelay::gateway::testing::AwaitRestGateway;
using ::leadrelay::gateway::testing::Fetch;
using ::leadrelay::gateway::testing::HttpResponse;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int kReadinessSeconds = 60;
// Server defaults this test relies on (README "Limits").
constexpr size_t kMaxEventBytes = 256 * 1024;
constexpr size_t kMaxRequestBytes = 512 * 1024;
constexpr size_t kMaxResponseBytes = 1024 * 1024;
constexpr size_t kFreeTextBytes = 16 * 1024;

std::string Bearer(const std::string& key) {
  return absl::StrCat("Authorization: Bearer ", key);
}

// The resident set of process `pid` in bytes, from /proc/<pid>/status.
int64_t ResidentBytes(pid_t pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    absl::string_view view(line);
    if (absl::ConsumePrefix(&view, "VmRSS:")) {
      int64_t kb = 0;
      std::string digits;
      for (char c : view) {
        if (c >= '0' && c <= '9') digits.push_back(c);
      }
      if (absl::SimpleAtoi(digits, &kb)) return kb * 1024;
    }
  }
  return -1;
}

// A lead.enriched publish whose event is close to the maximum event size:
// posts of maximum-length text.
v1::PublishEventRequest LargeEnrichedEvent(size_t approx_bytes,
                                           const std::string& tag) {
  v1::PublishEventRequest request;
  request.set_type("lead.enriched");
  auto* data = request.mutable_lead_enriched();
  size_t post_bytes = kFreeTextBytes + 64;
  for (size_t used = 0; used + post_bytes <= approx_bytes; used += post_bytes) {
    v1::Post* post = data->add_posts();
    post->set_id(absl::StrCat(tag, "-", data->posts_size()));
    post->set_text(std::string(kFreeTextBytes, 'p'));
  }
  return request;
}

// A lead with every free-text field at its limit.
v1::Lead LargeLead(const std::string& name) {
  v1::Lead lead;
  lead.set_vertical("b2b");
  lead.set_first_name(name);
  lead.set_score(70);
  lead.mutable_linkedin()->set_full_name(name);
  lead.mutable_linkedin()->set_headline(std::string(kFreeTextBytes, 'h'));
  lead.mutable_linkedin()->set_comment_text(std::string(kFreeTextBytes, 'c'));
  return lead;
}

class HardeningTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::Status status = StartWorld();
    if (!status.ok()) setup_error_ = std::string(status.message());
  }

  static void TearDownTestSuite() {
    api_.reset();
    if (server_ != nullptr) server_->Stop();
    if (failed_ && temp_dir_ != nullptr) temp_dir_->Keep();
    server_.reset();
    db_.reset();
    database_.reset();
    temp_dir_.reset();
  }

  void SetUp() override {
    ASSERT_TRUE(setup_error_.empty()) << "set-up failed: " << setup_error_;
  }

  void TearDown() override {
    if (HasFailure() && server_ != nullptr) {
      failed_ = true;
      std::cerr << "---- leadrelay-server log, last lines:\n"
                << FileTail(server_->log_path(), 40) << std::flush;
    }
  }

  static absl::Status StartWorld() {
    absl::StatusOr<std::string> bin = RequiredEnv("LEADRELAY_SERVER_BIN");
    if (!bin.ok()) return bin.status();
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
    for (auto [name, out] : {std::pair{"main", &main_},
                             {"other", &other_},
                             {"streams", &streams_}}) {
      absl::StatusOr<Account> account = BootstrapAccountWith(
          *bin, database_->url(), name, "enterprise", 100000,
          absl::StrCat(temp_dir_->path(), "/bootstrap.log"));
      if (!account.ok()) return account.status();
      *out = *std::move(account);
    }
    absl::StatusOr<std::unique_ptr<PgConnection>> db =
        PgConnection::Open(database_->url());
    if (!db.ok()) return db.status();
    db_ = *std::move(db);

    absl::StatusOr<int> grpc_port = PickFreePort();
    if (!grpc_port.ok()) return grpc_port.status();
    absl::StatusOr<int> http_port = PickFreePort();
    if (!http_port.ok()) return http_port.status();
    http_port_ = *http_port;
    std::string grpc_address = absl::StrCat("127.0.0.1:", *grpc_port);
    absl::StatusOr<std::unique_ptr<ChildProcess>> process = ChildProcess::Spawn(
        {*bin, absl::StrCat("--database_url=", database_->url()),
         absl::StrCat("--grpc_address=", grpc_address),
         absl::StrCat("--http_address=127.0.0.1:", http_port_),
         absl::StrCat("--gateway_config=", LEADRELAY_SOURCE_DIR,
                      "/gateway/envoy.yaml"),
         absl::StrCat("--descriptor_set=", LEADRELAY_DESCRIPTOR_SET),
         "--dispatch_webhooks=false"},
        absl::StrCat(temp_dir_->path(), "/server.log"));
    if (!process.ok()) return process.status();
    server_ = *std::move(process);
    grpc::ChannelArguments args;
    // Room for the oversize requests these tests send on purpose.
    args.SetMaxSendMessageSize(8 << 20);
    args.SetMaxReceiveMessageSize(8 << 20);
    api_ = std::make_unique<Api>(grpc::CreateCustomChannel(
        grpc_address, grpc::InsecureChannelCredentials(), args));
    return AwaitRestGateway(
        http_port_, kReadinessSeconds, [] { return server_->IsRunning(); },
        [] { return FileTail(server_->log_path(), 40); });
  }

  static HttpResponse Rest(const std::string& method, const std::string& target,
                           const std::string& body = "") {
    std::vector<std::string> headers = {Bearer(main_.admin_key)};
    if (!body.empty()) headers.push_back("Content-Type: application/json");
    return Fetch(http_port_, method, target, body, headers);
  }

  int64_t Count(const std::string& table, const std::string& account_id) {
    absl::StatusOr<int64_t> n = db_->QueryInt(
        absl::StrCat("SELECT count(*) FROM ", table, " WHERE account_id = $1"),
        {account_id});
    EXPECT_TRUE(n.ok()) << n.status();
    return n.ok() ? *n : -1;
  }

  static Api& api() { return *api_; }

  static grpc::Status Publish(const Account& account,
                              const v1::PublishEventRequest& request,
                              v1::PublishEventResponse* response) {
    grpc::ClientContext context;
    Authorize(&context, account.admin_key);
    return api().events->PublishEvent(&context, request, response);
  }

  static inline std::unique_ptr<TempDir> temp_dir_;
  static inline std::unique_ptr<TempDatabase> database_;
  static inline std::unique_ptr<PgConnection> db_;
  static inline std::unique_ptr<ChildProcess> server_;
  static inline std::unique_ptr<Api> api_;
  static inline int http_port_ = 0;
  static inline Account main_;
  static inline Account other_;
  static inline Account streams_;
  static inline std::string setup_error_;
  static inline bool failed_ = false;
};

// --- Text fields: NUL bytes, lengths, UTF-8 --------------------------------

TEST_F(HardeningTest, NulBytesInTextAreRejectedOverGrpcAndRestAndStoreNothing) {
  int64_t before = Count("leads", main_.id);
  v1::Lead lead;
  lead.set_vertical("solar");
  lead.set_first_name("Thandi");
  lead.set_score(70);
  lead.set_external_id(std::string("ord\0-1001", 9));
  grpc::ClientContext context;
  Authorize(&context, main_.admin_key);
  v1::CreateLeadRequest request;
  *request.mutable_lead() = lead;
  v1::Lead created;
  grpc::Status status = api().leads->CreateLead(&context, request, &created);
  EXPECT_TRUE(
      HasError(status, grpc::StatusCode::INVALID_ARGUMENT, "invalid_request"));
  EXPECT_THAT(status.error_message(), HasSubstr("lead.external_id"));

  HttpResponse rest =
      Rest("POST", "/v1/leads",
           R"({"vertical":"solar","first_name":"Thandi","score":70,)"
           R"("external_id":"ord\u0000-1002"})");
  EXPECT_EQ(rest.status, 400) << rest.body;
  EXPECT_THAT(rest.body, HasSubstr("invalid_request"));
  EXPECT_THAT(rest.body, HasSubstr("NUL"));
  EXPECT_EQ(Count("leads", main_.id), before);
}

TEST_F(HardeningTest, OverlongFieldsAreRejectedNamingFieldAndLimit) {
  int64_t before = Count("leads", main_.id);
  v1::Lead lead = LargeLead("Long");
  lead.mutable_linkedin()->set_comment_text(std::string(20000, 'c'));
  grpc::ClientContext context;
  Authorize(&context, main_.admin_key);
  v1::CreateLeadRequest request;
  *request.mutable_lead() = lead;
  v1::Lead created;
  grpc::Status status = api().leads->CreateLead(&context, request, &created);
  EXPECT_TRUE(
      HasError(status, grpc::StatusCode::INVALID_ARGUMENT, "invalid_request"));
  EXPECT_THAT(status.error_message(),
              HasSubstr("lead.linkedin.comment_text is 20000 bytes; the "
                        "limit is 16384"));

  HttpResponse rest =
      Rest("POST", "/v1/leads",
           absl::StrCat(R"({"vertical":"solar","score":70,"first_name":")",
                        std::string(300, 'n'), R"("})"));
  EXPECT_EQ(rest.status, 400) << rest.body;
  EXPECT_THAT(rest.body, HasSubstr("lead.first_name is 300 bytes"));
  EXPECT_EQ(Count("leads", main_.id), before);
}

TEST_F(HardeningTest, MalformedProtobufAndInvalidUtf8AreInvalidRequest) {
  grpc::GenericStub stub(api().channel);
  grpc::CompletionQueue queue;
  auto call = [&](const std::string& raw) {
    grpc::ClientContext context;
    Authorize(&context, main_.admin_key);
    grpc::Slice slice(raw);
    grpc::ByteBuffer request(&slice, 1);
    grpc::ByteBuffer response;
    grpc::Status status;
    auto reader = stub.PrepareUnaryCall(
        &context, "/leadrelay.v1.LeadService/GetLead", request, &queue);
    reader->StartCall();
    reader->Finish(&response, &status, reinterpret_cast<void*>(1));
    void* tag = nullptr;
    bool ok = false;
    EXPECT_TRUE(queue.Next(&tag, &ok));
    return status;
  };
  // Field 1 (id) claims 100 bytes and carries 2.
  grpc::Status truncated = call(std::string("\x0a\x64\x61\x62", 4));
  EXPECT_TRUE(HasError(truncated, grpc::StatusCode::INVALID_ARGUMENT,
                       "invalid_request"));
  // Field 1 (id) is not UTF-8.
  grpc::Status not_utf8 = call(std::string("\x0a\x02\xc3\x28", 4));
  EXPECT_TRUE(HasError(not_utf8, grpc::StatusCode::INVALID_ARGUMENT,
                       "invalid_request"));
  queue.Shutdown();
}

// --- Repeated fields: counts and duplicates -------------------------------

TEST_F(HardeningTest, RepeatedFieldsAreCountedAndVocabulariesDeduplicated) {
  int64_t hooks = Count("webhooks", main_.id);
  v1::CreateWebhookRequest request;
  request.set_url("https://hooks.example.com/in");
  for (int i = 0; i < 50000; ++i) request.add_events("lead.new");
  {
    grpc::ClientContext context;
    Authorize(&context, main_.admin_key);
    v1::CreateWebhookResponse response;
    grpc::Status status =
        api().webhooks->CreateWebhook(&context, request, &response);
    EXPECT_TRUE(HasError(status, grpc::StatusCode::INVALID_ARGUMENT,
                         "invalid_request"));
    EXPECT_THAT(status.error_message(),
                HasSubstr("events has 50000 entries; the limit is 32"));
  }
  EXPECT_EQ(Count("webhooks", main_.id), hooks);

  request.clear_events();
  for (const char* e : {"lead.new", "dm.sent", "lead.new", "dm.sent"}) {
    request.add_events(e);
  }
  grpc::ClientContext context;
  Authorize(&context, main_.admin_key);
  v1::CreateWebhookResponse created;
  ASSERT_TRUE(IsOk(api().webhooks->CreateWebhook(&context, request, &created)));
  EXPECT_THAT(created.webhook().events(),
              ::testing::ElementsAre("lead.new", "dm.sent"));

  v1::CreateApiKeyRequest key;
  key.set_name("dup scopes");
  for (const char* s : {"read", "read", "write", "read"}) key.add_scopes(s);
  grpc::ClientContext key_context;
  Authorize(&key_context, main_.admin_key);
  v1::CreateApiKeyResponse made;
  ASSERT_TRUE(IsOk(api().keys->CreateApiKey(&key_context, key, &made)));
  EXPECT_THAT(made.api_key().scopes(), ::testing::ElementsAre("read", "write"));
}

// --- Sizes of requests and events ------------------------------------------

TEST_F(HardeningTest, OversizeRequestsAndEventsGetTheirOwnErrors) {
  int64_t before = Count("events", main_.id);
  v1::PublishEventResponse response;
  // Over --max_event_bytes but under --max_request_bytes: the event limit.
  grpc::Status event_status = Publish(
      main_, LargeEnrichedEvent(kMaxEventBytes + 40000, "big"), &response);
  EXPECT_TRUE(HasError(event_status, grpc::StatusCode::INVALID_ARGUMENT,
                       "invalid_request"));
  EXPECT_THAT(event_status.error_message(), HasSubstr("the limit is 262144"));

  // Over --max_request_bytes: payload_too_large, never rate_limited, and no
  // retry advice (waiting does not help).
  grpc::Status request_status = Publish(
      main_, LargeEnrichedEvent(kMaxRequestBytes + 40000, "bigger"), &response);
  EXPECT_TRUE(HasError(request_status, grpc::StatusCode::RESOURCE_EXHAUSTED,
                       "payload_too_large"));
  EXPECT_FALSE(RetryInfoOf(request_status).has_value());

  // Far over: gRPC refuses it before the server sees it; still not
  // rate_limited.
  grpc::Status transport_status =
      Publish(main_, LargeEnrichedEvent(3 << 20, "huge"), &response);
  EXPECT_EQ(transport_status.error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  auto info = ErrorInfoOf(transport_status);
  EXPECT_TRUE(!info.has_value() || info->reason != "rate_limited");

  // The largest event that fits is accepted.
  EXPECT_TRUE(IsOk(Publish(
      main_, LargeEnrichedEvent(kMaxEventBytes - 20000, "fits"), &response)));
  EXPECT_EQ(Count("events", main_.id), before + 1);
}

// --- Timestamps and cursors -----------------------------------------------

TEST_F(HardeningTest, TimestampsOutsidePostgresRangeAreInvalidRequest) {
  grpc::ClientContext hook_context;
  Authorize(&hook_context, main_.admin_key);
  v1::CreateWebhookRequest hook;
  hook.set_url("https://hooks.example.com/ts");
  hook.add_events("lead.new");
  v1::CreateWebhookResponse created;
  ASSERT_TRUE(
      IsOk(api().webhooks->CreateWebhook(&hook_context, hook, &created)));

  struct Case {
    int64_t seconds;
    int32_t nanos;
  };
  for (Case c :
       {Case{INT64_MIN, 0}, Case{INT64_MAX, 0}, Case{-62135596800 - 86400, 0},
        Case{0, -1}, Case{0, 1000000000}}) {
    grpc::ClientContext context;
    Authorize(&context, main_.admin_key);
    v1::ListDeliveriesRequest request;
    request.set_webhook_id(created.webhook_id());
    request.mutable_since()->set_seconds(c.seconds);
    request.mutable_since()->set_nanos(c.nanos);
    v1::ListDeliveriesResponse response;
    grpc::Status status =
        api().webhooks->ListDeliveries(&context, request, &response);
    EXPECT_TRUE(
        HasError(status, grpc::StatusCode::INVALID_ARGUMENT, "invalid_request"))
        << c.seconds << "s " << c.nanos << "ns";
    EXPECT_THAT(status.error_message(), HasSubstr("since must be between"));
  }
  // The same over a stream, where the request is read by hand.
  grpc::ClientContext context;
  Authorize(&context, main_.admin_key);
  v1::StreamEventsRequest request;
  request.mutable_since()->set_seconds(INT64_MIN);
  auto reader = api().events->StreamEvents(&context, request);
  v1::StreamEventsResponse message;
  EXPECT_FALSE(reader->Read(&message));
  EXPECT_TRUE(HasError(reader->Finish(), grpc::StatusCode::INVALID_ARGUMENT,
                       "invalid_request"));

  HttpResponse rest =
      Rest("GET", absl::StrCat("/v1/webhooks/", created.webhook_id(),
                               "/deliveries?since=0000-01-01T00:00:00Z"));
  EXPECT_EQ(rest.status, 400) << rest.body;
  HttpResponse rest_date = Rest("GET", "/v1/leads?date_from=0000-01-01");
  EXPECT_EQ(rest_date.status, 400) << rest_date.body;
  EXPECT_THAT(rest_date.body, HasSubstr("invalid_request"));
}

TEST_F(HardeningTest, StreamAfterACursorAheadOfTheLogIsRejected) {
  absl::StatusOr<int64_t> max_seq =
      db_->QueryInt("SELECT coalesce(max(seq), 0) FROM events");
  ASSERT_TRUE(max_seq.ok()) << max_seq.status();
  grpc::ClientContext context;
  Authorize(&context, main_.admin_key);
  v1::StreamEventsRequest request;
  // Sealed with the servers' master key (scripts/test's
  // LEADRELAY_SECRETS_KEY, which the harness hands them), as the server
  // seals cursors, so only its position is wrong.
  const char* keys = std::getenv("LEADRELAY_SECRETS_KEY");
  ASSERT_NE(keys, nullptr) << "run through scripts/test";
  absl::StatusOr<crypto::Keyring> keyring = crypto::Keyring::Parse(keys);
  ASSERT_TRUE(keyring.ok()) << keyring.status();
  store::SetCursorKeys(*keyring);
  request.set_after(store::EncodeCursor(main_.id, {*max_seq + 1000}));
  auto reader = api().events->StreamEvents(&context, request);
  v1::StreamEventsResponse message;
  EXPECT_FALSE(reader->Read(&message));
  grpc::Status status = reader->Finish();
  EXPECT_TRUE(
      HasError(status, grpc::StatusCode::INVALID_ARGUMENT, "invalid_request"));
  EXPECT_THAT(status.error_message(), HasSubstr("ahead of the event log"));
}

// --- Echoed input ----------------------------------------------------------

TEST_F(HardeningTest, ErrorMessagesTruncateEchoedInput) {
  std::string id(120, 'z');
  grpc::ClientContext context;
  Authorize(&context, main_.admin_key);
  v1::GetLeadRequest request;
  request.set_id(id);
  v1::Lead lead;
  grpc::Status status = api().leads->GetLead(&context, request, &lead);
  EXPECT_TRUE(HasError(status, grpc::StatusCode::NOT_FOUND, "not_found"));
  EXPECT_THAT(status.error_message(),
              HasSubstr(std::string(64, 'z') + "\xE2\x80\xA6"));
  EXPECT_THAT(status.error_message(), Not(HasSubstr(id)));

  // An id past its limit is refused as input, not looked up (it used to
  // overflow the metadata limit and come back as RESOURCE_EXHAUSTED).
  grpc::ClientContext huge_context;
  Authorize(&huge_context, main_.admin_key);
  request.set_id(std::string(4000, 'z'));
  status = api().leads->GetLead(&huge_context, request, &lead);
  EXPECT_TRUE(
      HasError(status, grpc::StatusCode::INVALID_ARGUMENT, "invalid_request"));
  EXPECT_LT(status.error_message().size(), 200u);
}

// --- Lists over maximum-size items ----------------------------------------

TEST_F(HardeningTest, ListsOverMaximumSizeItemsPageWithinTheResponseBudget) {
  absl::StatusOr<Account> account = BootstrapAccountWith(
      RequiredEnv("LEADRELAY_SERVER_BIN").value(), database_->url(), "lists",
      "enterprise", 100000, absl::StrCat(temp_dir_->path(), "/bootstrap.log"));
  ASSERT_TRUE(account.ok()) << account.status();
  constexpr int kLeads = 60;  // ~33 KiB each: ~2 MiB in all
  for (int i = 0; i < kLeads; ++i) {
    grpc::ClientContext context;
    Authorize(&context, account->admin_key);
    v1::CreateLeadRequest request;
    *request.mutable_lead() = LargeLead(absl::StrCat("L", i));
    v1::Lead created;
    ASSERT_TRUE(IsOk(api().leads->CreateLead(&context, request, &created)));
  }
  std::set<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    grpc::ClientContext context;
    Authorize(&context, account->admin_key);
    v1::ListLeadsRequest request;
    request.set_limit(100);
    request.set_page_token(token);
    v1::ListLeadsResponse page;
    ASSERT_TRUE(IsOk(api().leads->ListLeads(&context, request, &page)));
    EXPECT_LE(page.ByteSizeLong(), kMaxResponseBytes + 64 * 1024);
    EXPECT_GT(page.leads_size(), 0);
    EXPECT_EQ(page.total(), kLeads);
    for (const auto& l : page.leads()) seen.insert(l.id());
    token = page.next_page_token();
    ++pages;
  } while (!token.empty() && pages < 100);
  EXPECT_EQ(static_cast<int>(seen.size()), kLeads);
  EXPECT_GT(pages, 1) << "2 MiB of leads must not fit one page";

  HttpResponse rest = Fetch(http_port_, "GET", "/v1/leads?limit=100", "",
                            {Bearer(account->admin_key)});
  EXPECT_EQ(rest.status, 200) << rest.body.substr(0, 300);
  EXPECT_THAT(rest.body, HasSubstr("next_page_token"));

  // Events: 12 of nearly the maximum size (~3 MiB) in pages of the budget.
  constexpr int kEvents = 12;
  for (int i = 0; i < kEvents; ++i) {
    v1::PublishEventResponse published;
    ASSERT_TRUE(IsOk(Publish(
        *account,
        LargeEnrichedEvent(kMaxEventBytes - 20000, absl::StrCat("e", i)),
        &published)));
  }
  int events = 0;
  std::string after;
  for (int round = 0; round < 50; ++round) {
    grpc::ClientContext context;
    Authorize(&context, account->admin_key);
    v1::ListEventsRequest request;
    request.set_limit(1000);
    request.add_types("lead.enriched");
    request.set_after(after);
    v1::ListEventsResponse page;
    ASSERT_TRUE(IsOk(api().events->ListEvents(&context, request, &page)));
    EXPECT_LE(page.ByteSizeLong(), kMaxResponseBytes + kMaxEventBytes);
    if (page.events_size() == 0) break;
    events += page.events_size();
    after = page.next_cursor();
  }
  EXPECT_EQ(events, kEvents);
}

// --- Stream memory -----------------------------------------------------------

// A stream drained on a thread, counting events and checking that they come
// in publish order (each test event's first post is tagged s<N>-1).
struct Reader {
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReader<v1::StreamEventsResponse>> stream;
  std::atomic<int> events{0};
  std::atomic<bool> in_order{true};
  std::thread thread;

  void Drain() {
    thread = std::thread([this] {
      v1::StreamEventsResponse message;
      int last = -1;
      while (stream->Read(&message)) {
        if (!message.has_event()) continue;
        const auto& posts = message.event().lead_enriched().posts();
        int index = -1;
        absl::string_view tag = posts.empty() ? "" : posts[0].id();
        if (!absl::ConsumePrefix(&tag, "s") ||
            !absl::ConsumeSuffix(&tag, "-1") ||
            !absl::SimpleAtoi(tag, &index) || index != last + 1) {
          in_order = false;
        }
        last = index;
        events.fetch_add(1);
      }
    });
  }
};

TEST_F(HardeningTest, StreamMemoryStaysBoundedWhileMaximumSizeEventsFlow) {
  // Stated bound: the server's resident set grows by less than 96 MiB while
  // 240 events of ~250 KiB (60 MiB of events, 120 MiB in the stream buffers
  // before byte budgets) go to 4 reading and 4 stalled streams of one
  // account. Budgets: 8 MiB ring, 32 MiB per account (README "Limits").
  constexpr int kReading = 4;
  constexpr int kStalled = 4;
  constexpr int kEvents = 240;
  constexpr int64_t kBound = 96ll << 20;
  pid_t pid = server_->pid();

  // Warm up allocator and connections with one event to a throwaway stream.
  v1::PublishEventResponse published;
  ASSERT_TRUE(
      IsOk(Publish(streams_, LargeEnrichedEvent(kMaxEventBytes - 20000, "warm"),
                   &published)));
  std::string start_cursor = published.event().cursor();
  int64_t baseline = ResidentBytes(pid);
  ASSERT_GT(baseline, 0);

  std::vector<std::unique_ptr<Reader>> readers;
  for (int i = 0; i < kReading + kStalled; ++i) {
    auto reader = std::make_unique<Reader>();
    Authorize(&reader->context, streams_.admin_key);
    reader->context.set_deadline(std::chrono::system_clock::now() +
                                 std::chrono::minutes(10));
    v1::StreamEventsRequest request;
    request.set_after(start_cursor);
    reader->stream = api().events->StreamEvents(&reader->context, request);
    if (i < kReading) reader->Drain();
    readers.push_back(std::move(reader));
  }
  int64_t peak = baseline;
  for (int i = 0; i < kEvents; ++i) {
    ASSERT_TRUE(IsOk(
        Publish(streams_,
                LargeEnrichedEvent(kMaxEventBytes - 8000, absl::StrCat("s", i)),
                &published)));
    if (i % 10 == 0) peak = std::max(peak, ResidentBytes(pid));
  }
  // Every reading stream receives every event (a condition awaited with a
  // bound, sampling memory meanwhile).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
  auto all_read = [&] {
    for (int i = 0; i < kReading; ++i) {
      if (readers[i]->events.load() < kEvents) return false;
    }
    return true;
  };
  while (!all_read() && std::chrono::steady_clock::now() < deadline) {
    peak = std::max(peak, ResidentBytes(pid));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  for (int i = 0; i < kReading; ++i) {
    EXPECT_EQ(readers[i]->events.load(), kEvents) << "reader " << i;
    EXPECT_TRUE(readers[i]->in_order.load()) << "reader " << i;
  }
  peak = std::max(peak, ResidentBytes(pid));
  EXPECT_LT(peak - baseline, kBound) << "baseline " << (baseline >> 20)
                                     << " MiB, peak " << (peak >> 20) << " MiB";
  std::cerr << "stream memory: baseline " << (baseline >> 20) << " MiB, peak "
            << (peak >> 20) << " MiB\n";

  // The stalled streams lost nothing: read now, they get every event, from
  // the log.
  for (int i = kReading; i < kReading + kStalled; ++i) readers[i]->Drain();
  deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
  auto stalled_read = [&] {
    for (int i = kReading; i < kReading + kStalled; ++i) {
      if (readers[i]->events.load() < kEvents) return false;
    }
    return true;
  };
  while (!stalled_read() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  for (int i = kReading; i < kReading + kStalled; ++i) {
    EXPECT_EQ(readers[i]->events.load(), kEvents) << "stalled reader " << i;
    EXPECT_TRUE(readers[i]->in_order.load()) << "stalled reader " << i;
  }
  for (auto& reader : readers) {
    reader->context.TryCancel();
    reader->thread.join();
  }
  // Memory goes back once the streams are gone (awaited, bounded).
  int64_t after = ResidentBytes(pid);
  deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (after - baseline >= (24ll << 20) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    after = ResidentBytes(pid);
  }
  EXPECT_LT(after - baseline, 24ll << 20)
      << "after close " << (after >> 20) << " MiB";
}

}  // namespace
}  // namespace leadrelay::itest
