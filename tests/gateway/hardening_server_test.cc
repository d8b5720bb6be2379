// Tenant isolation and abuse limits over a real leadrelay-server, through
// gRPC and through its in-process REST gateway: cursors that reveal nothing
// about other accounts, lead events only from the lead calls, the
// account-wide rate limit, the active-key cap, the per-key stream cap and
// the throttle on repeated bad keys. Each limit answers with its own reason.
//
// Needs LEADRELAY_SERVER_BIN and LEADRELAY_TEST_PG_URL (see tests/CMakeLists).

#include <bitset>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
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

using ::leadrelay::gateway::testing::AwaitRestGateway;
using ::leadrelay::gateway::testing::Fetch;
using ::leadrelay::gateway::testing::HttpResponse;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

constexpr int kReadinessSeconds = 60;
constexpr int kMaxStreamsPerKey = 2;
constexpr int kAuthFailures = 5;

// The REST error body's `code`, `message` and `retry_after_seconds`.
struct RestError {
  std::string code;
  std::string message;
  bool has_retry = false;
};

RestError ErrorOf(const HttpResponse& response) {
  google::protobuf::Struct body;
  RestError out;
  if (!google::protobuf::util::JsonStringToMessage(response.body, &body).ok()) {
    ADD_FAILURE() << "not JSON: " << response.body;
    return out;
  }
  const auto& f = body.fields();
  if (f.count("code")) out.code = f.at("code").string_value();
  if (f.count("message")) out.message = f.at("message").string_value();
  out.has_retry = f.count("retry_after_seconds") > 0;
  return out;
}

int BitsDiffering(const std::string& a, const std::string& b) {
  int bits = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    bits += static_cast<int>(
        std::bitset<8>(static_cast<unsigned char>(a[i] ^ b[i])).count());
  }
  return bits;
}

class HardeningServerTest : public ::testing::Test {
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
      std::cerr << "---- leadrelay-server log (" << server_->log_path()
                << "):\n"
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
    absl::StatusOr<std::string> key_file =
        WriteTestMasterKeys(temp_dir_->path());
    if (!key_file.ok()) return key_file.status();
    // The first bootstrap applies the migrations.
    absl::StatusOr<Account> probe = Bootstrap("probe", "internal");
    if (!probe.ok()) return probe.status();
    absl::StatusOr<std::unique_ptr<PgConnection>> db =
        PgConnection::Open(database_->url());
    if (!db.ok()) return db.status();
    db_ = *std::move(db);

    absl::StatusOr<int> grpc_port = PickFreePort();
    if (!grpc_port.ok()) return grpc_port.status();
    absl::StatusOr<int> http_port = PickFreePort();
    if (!http_port.ok()) return http_port.status();
    port_ = *http_port;
    const std::string grpc_address = absl::StrCat("127.0.0.1:", *grpc_port);
    const std::string log_path = absl::StrCat(temp_dir_->path(), "/server.log");
    absl::StatusOr<std::unique_ptr<ChildProcess>> process = ChildProcess::Spawn(
        {server_bin_, absl::StrCat("--database_url=", database_->url()),
         absl::StrCat("--grpc_address=", grpc_address),
         absl::StrCat("--http_address=127.0.0.1:", port_),
         absl::StrCat("--gateway_config=", LEADRELAY_SOURCE_DIR,
                      "/gateway/envoy.yaml"),
         absl::StrCat("--descriptor_set=", LEADRELAY_DESCRIPTOR_SET),
         absl::StrCat("--secrets_key_file=", *key_file),
         absl::StrCat("--max_streams_per_key=", kMaxStreamsPerKey),
         absl::StrCat("--auth_failures_per_address=", kAuthFailures),
         "--auth_failure_window=3s", "--stream_heartbeat_interval=0.3s"},
        log_path);
    if (!process.ok()) return process.status();
    server_ = *std::move(process);
    api_ = std::make_unique<Api>(
        grpc::CreateChannel(grpc_address, grpc::InsecureChannelCredentials()));
    return AwaitRestGateway(
        port_, kReadinessSeconds, [] { return server_->IsRunning(); },
        [log_path] { return FileTail(log_path, 40); });
  }

  static absl::StatusOr<Account> Bootstrap(const std::string& name,
                                           const std::string& plan,
                                           int credits = 1000) {
    return BootstrapAccountWith(
        server_bin_, database_->url(), name, plan, credits,
        absl::StrCat(temp_dir_->path(), "/bootstrap-", name, ".log"));
  }

  static Account NewAccount(const std::string& plan, int credits = 1000) {
    absl::StatusOr<Account> account =
        Bootstrap(UniqueName("acct"), plan, credits);
    EXPECT_TRUE(account.ok()) << account.status();
    return account.ok() ? *account : Account();
  }

  static HttpResponse Rest(const std::string& method, const std::string& target,
                           const std::string& key, const std::string& body = "",
                           std::vector<std::string> headers = {}) {
    if (!key.empty()) headers.push_back("Authorization: Bearer " + key);
    return Fetch(port_, method, target, body, headers);
  }

  static grpc::Status GetMe(const std::string& key,
                            grpc::ClientContext* context = nullptr) {
    grpc::ClientContext own;
    if (context == nullptr) context = &own;
    Authorize(context, key);
    v1::GetMeResponse response;
    return api_->accounts->GetMe(context, v1::GetMeRequest(), &response);
  }

  // Publishes a follower.gained event; returns it (cursor set).
  static v1::Event PublishFollower(const std::string& key) {
    grpc::ClientContext context;
    Authorize(&context, key);
    v1::PublishEventRequest request;
    request.set_type("follower.gained");
    request.mutable_follower()->set_platform("instagram");
    request.mutable_follower()->set_target_username(UniqueName("f"));
    v1::PublishEventResponse response;
    EXPECT_TRUE(IsOk(api_->events->PublishEvent(&context, request, &response)));
    return response.event();
  }

  static grpc::Status ListEvents(const std::string& key,
                                 const std::string& after,
                                 v1::ListEventsResponse* response) {
    grpc::ClientContext context;
    Authorize(&context, key);
    v1::ListEventsRequest request;
    request.set_after(after);
    return api_->events->ListEvents(&context, request, response);
  }

  static grpc::Status CreateKey(const std::string& key,
                                v1::CreateApiKeyResponse* out) {
    grpc::ClientContext context;
    Authorize(&context, key);
    v1::CreateApiKeyRequest request;
    request.set_name(UniqueName("key"));
    request.add_scopes("read");
    return api_->keys->CreateApiKey(&context, request, out);
  }

  static inline std::string setup_error_;
  static inline bool failed_ = false;
  static inline std::string server_bin_;
  static inline int port_ = 0;
  static inline std::unique_ptr<TempDir> temp_dir_;
  static inline std::unique_ptr<TempDatabase> database_;
  static inline std::unique_ptr<PgConnection> db_;
  static inline std::unique_ptr<ChildProcess> server_;
  static inline std::unique_ptr<Api> api_;
};

// --- Cursors ---------------------------------------------------------------

TEST_F(HardeningServerTest, CursorsOfInterleavedAccountsRevealNothing) {
  Account a = NewAccount("enterprise");
  Account b = NewAccount("enterprise");
  v1::Event a1 = PublishFollower(a.admin_key);
  for (int i = 0; i < 20; ++i) PublishFollower(b.admin_key);
  v1::Event a2 = PublishFollower(a.admin_key);
  v1::Event a3 = PublishFollower(a.admin_key);

  std::vector<std::string> raw;
  for (const v1::Event& e : {a1, a2, a3}) {
    EXPECT_THAT(e.cursor(), MatchesRegex("[A-Za-z0-9_-]{22}"));
    std::string bytes;
    ASSERT_TRUE(absl::WebSafeBase64Unescape(e.cursor(), &bytes));
    ASSERT_EQ(bytes.size(), 16u) << "one sealed block, no readable position";
    raw.push_back(bytes);
  }
  // A's neighbouring cursors look unrelated whether B wrote 20 events in
  // between (a1, a2) or none (a2, a3): about half of 128 bits differ, so
  // their distance says nothing about B's activity.
  EXPECT_GE(BitsDiffering(raw[0], raw[1]), 24);
  EXPECT_GE(BitsDiffering(raw[1], raw[2]), 24);

  // Still a gap- and duplicate-free position in A's log, with the same
  // cursors as at publication.
  v1::ListEventsResponse page;
  ASSERT_TRUE(IsOk(ListEvents(a.admin_key, a1.cursor(), &page)));
  ASSERT_EQ(page.events_size(), 2);
  EXPECT_EQ(page.events(0).id(), a2.id());
  EXPECT_EQ(page.events(0).cursor(), a2.cursor());
  EXPECT_EQ(page.events(1).id(), a3.id());
  EXPECT_EQ(page.next_cursor(), a3.cursor());

  // A's cursor is no cursor for B: gRPC list and stream, and REST.
  v1::ListEventsResponse ignored;
  EXPECT_TRUE(HasError(ListEvents(b.admin_key, a1.cursor(), &ignored),
                       grpc::StatusCode::INVALID_ARGUMENT, "invalid_request"));
  {
    grpc::ClientContext context;
    Authorize(&context, b.admin_key);
    v1::StreamEventsRequest request;
    request.set_after(a1.cursor());
    auto reader = api_->events->StreamEvents(&context, request);
    v1::StreamEventsResponse message;
    EXPECT_FALSE(reader->Read(&message));
    EXPECT_TRUE(HasError(reader->Finish(), grpc::StatusCode::INVALID_ARGUMENT,
                         "invalid_request"));
  }
  HttpResponse rest =
      Rest("GET", "/v1/events?after=" + a1.cursor(), b.admin_key);
  EXPECT_EQ(rest.status, 400) << rest.body;
  EXPECT_EQ(ErrorOf(rest).code, "invalid_request");
  HttpResponse own =
      Rest("GET", "/v1/events?after=" + a1.cursor(), a.admin_key);
  EXPECT_EQ(own.status, 200) << own.body;
  EXPECT_THAT(own.body, HasSubstr(a2.id()));

  // A forged cursor (one character changed) is refused too.
  std::string forged = a1.cursor();
  forged[5] = forged[5] == 'Q' ? 'R' : 'Q';
  EXPECT_TRUE(HasError(ListEvents(a.admin_key, forged, &ignored),
                       grpc::StatusCode::INVALID_ARGUMENT, "invalid_request"));
}

// --- Lead events -------------------------------------------------------------

TEST_F(HardeningServerTest, PublishEventRefusesLeadEventsAndChangesNothing) {
  Account a = NewAccount("enterprise", /*credits=*/5);
  v1::ListEventsResponse before;
  ASSERT_TRUE(IsOk(ListEvents(a.admin_key, "", &before)));

  grpc::ClientContext context;
  Authorize(&context, a.admin_key);
  v1::PublishEventRequest request;
  request.set_type("lead.new");
  request.mutable_lead()->mutable_lead()->set_vertical("nonsense");
  request.mutable_lead()->mutable_lead()->set_score(1000);
  v1::PublishEventResponse response;
  grpc::Status status =
      api_->events->PublishEvent(&context, request, &response);
  EXPECT_TRUE(
      HasError(status, grpc::StatusCode::INVALID_ARGUMENT, "invalid_request"));
  EXPECT_THAT(status.error_message(), HasSubstr("CreateLead"));

  HttpResponse rest = Rest(
      "POST", "/v1/events", a.admin_key,
      R"({"type":"lead.updated","lead":{"lead":{"vertical":"nonsense","score":1000}}})");
  EXPECT_EQ(rest.status, 400) << rest.body;
  RestError error = ErrorOf(rest);
  EXPECT_EQ(error.code, "invalid_request");
  EXPECT_THAT(error.message, HasSubstr("UpdateLead"));

  v1::ListEventsResponse after;
  ASSERT_TRUE(IsOk(ListEvents(a.admin_key, "", &after)));
  EXPECT_EQ(after.events_size(), before.events_size());
  grpc::ClientContext credits_context;
  Authorize(&credits_context, a.admin_key);
  v1::GetCreditsResponse credits;
  ASSERT_TRUE(IsOk(api_->accounts->GetCredits(
      &credits_context, v1::GetCreditsRequest(), &credits)));
  EXPECT_EQ(credits.credits(), 5);
}

// --- Account-wide rate limit -----------------------------------------------

TEST_F(HardeningServerTest, AccountWideLimitSpansAllKeys) {
  // free: 60 per key and 100 per account, per minute.
  Account a = NewAccount("free");
  v1::CreateApiKeyResponse second;
  ASSERT_TRUE(IsOk(CreateKey(a.admin_key, &second)));  // a's 1st request
  for (int i = 2; i <= 60; ++i) {
    ASSERT_TRUE(IsOk(GetMe(a.admin_key))) << "request " << i;
  }
  // The second key has its own 60, but only 40 remain for the account.
  for (int i = 1; i <= 40; ++i) {
    grpc::ClientContext context;
    ASSERT_TRUE(IsOk(GetMe(second.key(), &context))) << "request " << i;
    auto headers = ReadRateLimitHeaders(context);
    ASSERT_TRUE(headers.ok()) << headers.status();
    EXPECT_EQ(headers->remaining, 40 - i) << "the tighter limit is shown";
    EXPECT_EQ(headers->limit, 100);
  }
  grpc::ClientContext context;
  grpc::Status refused = GetMe(second.key(), &context);
  EXPECT_TRUE(HasError(refused, grpc::StatusCode::RESOURCE_EXHAUSTED,
                       "account_rate_limited"));
  EXPECT_THAT(refused.error_message(), HasSubstr("100"));
  std::optional<google::rpc::RetryInfo> retry = RetryInfoOf(refused);
  ASSERT_TRUE(retry.has_value());
  EXPECT_GT(retry->retry_delay().seconds(), 0);
  EXPECT_LE(retry->retry_delay().seconds(), 60);

  HttpResponse rest = Rest("GET", "/v1/me", second.key());
  EXPECT_EQ(rest.status, 429) << rest.body;
  EXPECT_EQ(ErrorOf(rest).code, "account_rate_limited");
  EXPECT_FALSE(rest.header("retry-after").empty());
  EXPECT_EQ(rest.header("x-ratelimit-limit"), "100");

  // Another account is not affected.
  Account other = NewAccount("free");
  EXPECT_TRUE(IsOk(GetMe(other.admin_key)));
}

// --- Active key cap ----------------------------------------------------------

TEST_F(HardeningServerTest, ActiveKeysPerAccountAreCapped) {
  Account a = NewAccount("internal");  // no rate limit in the way
  std::string last_id;
  for (int i = 2; i <= 100; ++i) {  // the bootstrap key is the first
    v1::CreateApiKeyResponse created;
    ASSERT_TRUE(IsOk(CreateKey(a.admin_key, &created))) << "key " << i;
    last_id = created.api_key().id();
  }
  v1::CreateApiKeyResponse refused;
  grpc::Status status = CreateKey(a.admin_key, &refused);
  EXPECT_TRUE(
      HasError(status, grpc::StatusCode::FAILED_PRECONDITION, "too_many_keys"));
  EXPECT_THAT(status.error_message(), HasSubstr("100"));
  HttpResponse rest = Rest("POST", "/v1/api-keys", a.admin_key,
                           R"({"name":"one more","scopes":["read"]})");
  EXPECT_EQ(rest.status, 400) << rest.body;
  EXPECT_EQ(ErrorOf(rest).code, "too_many_keys");
  EXPECT_EQ(*db_->QueryInt(
                "SELECT count(*) FROM api_keys WHERE account_id = $1", {a.id}),
            100);

  // Revoking one makes room.
  HttpResponse revoked = Rest("DELETE", "/v1/api-keys/" + last_id, a.admin_key);
  ASSERT_EQ(revoked.status, 200) << revoked.body;
  v1::CreateApiKeyResponse created;
  EXPECT_TRUE(IsOk(CreateKey(a.admin_key, &created)));
}

// --- Streams per key ---------------------------------------------------------

TEST_F(HardeningServerTest, StreamBeyondThePerKeyCapIsTooManyStreams) {
  Account a = NewAccount("enterprise");
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<v1::StreamEventsResponse>>>
      readers;
  for (int i = 0; i < kMaxStreamsPerKey; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    Authorize(contexts.back().get(), a.admin_key);
    contexts.back()->set_deadline(std::chrono::system_clock::now() +
                                  std::chrono::seconds(30));
    readers.push_back(api_->events->StreamEvents(contexts.back().get(),
                                                 v1::StreamEventsRequest()));
    v1::StreamEventsResponse first;  // a heartbeat: the stream is open
    ASSERT_TRUE(readers.back()->Read(&first)) << "stream " << i;
  }
  grpc::ClientContext context;
  Authorize(&context, a.admin_key);
  auto reader = api_->events->StreamEvents(&context, v1::StreamEventsRequest());
  v1::StreamEventsResponse message;
  EXPECT_FALSE(reader->Read(&message));
  grpc::Status status = reader->Finish();
  EXPECT_TRUE(HasError(status, grpc::StatusCode::RESOURCE_EXHAUSTED,
                       "too_many_streams"));
  EXPECT_FALSE(RetryInfoOf(status).has_value())
      << "waiting does not help; closing a stream does";

  HttpResponse rest = Rest("GET", "/v1/events:stream", a.admin_key);
  EXPECT_EQ(rest.status, 429) << rest.body;
  EXPECT_EQ(ErrorOf(rest).code, "too_many_streams");
  EXPECT_TRUE(rest.header("retry-after").empty());

  for (auto& c : contexts) c->TryCancel();
  for (auto& r : readers) r->Finish();
}

// --- Authentication failures
// --------------------------------------------------

TEST_F(HardeningServerTest, RepeatedBadKeysFromOneAddressAreThrottled) {
  Account a = NewAccount("enterprise");
  for (int i = 0; i < kAuthFailures; ++i) {
    EXPECT_TRUE(HasError(GetMe("lr_" + std::string(32, 'x')),
                         grpc::StatusCode::UNAUTHENTICATED, "unauthorized"))
        << i;
  }
  // Now even a good key from this address waits, without its key being
  // looked at; a header claiming another address changes nothing.
  grpc::ClientContext spoofed;
  spoofed.AddMetadata("x-leadrelay-client-address", "10.9.9.9");
  grpc::Status throttled = GetMe(a.admin_key, &spoofed);
  EXPECT_TRUE(HasError(throttled, grpc::StatusCode::RESOURCE_EXHAUSTED,
                       "auth_throttled"));
  std::optional<google::rpc::RetryInfo> retry = RetryInfoOf(throttled);
  ASSERT_TRUE(retry.has_value());
  EXPECT_GE(retry->retry_delay().seconds(), 1);
  EXPECT_LE(retry->retry_delay().seconds(), 3);

  HttpResponse rest = Rest("GET", "/v1/me", a.admin_key, "",
                           {"X-Leadrelay-Client-Address: 10.1.1.1"});
  EXPECT_EQ(rest.status, 429) << rest.body;
  EXPECT_EQ(ErrorOf(rest).code, "auth_throttled");
  EXPECT_FALSE(rest.header("retry-after").empty());

  // The window (3 s here) ends and the good key works again.
  absl::Time deadline = absl::Now() + absl::Seconds(20);
  grpc::Status last;
  do {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    last = GetMe(a.admin_key);
  } while (!last.ok() && absl::Now() < deadline);
  EXPECT_TRUE(IsOk(last));
}

}  // namespace
}  // namespace leadrelay::itest
