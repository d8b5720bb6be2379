// Operations against a real server and PostgreSQL: /metrics scraped after
// real traffic and parsed with prometheus_client (counters move by exactly
// the traffic made, the backlog gauge returns to 0 after an endpoint
// recovers), request ids reach the attempts, readiness flips during a
// PostgreSQL outage and during a shutdown drain (HTTP and gRPC health), and
// the logs of a run never contain the keys, secrets, contact details or
// payloads it used.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "delivery/delivery_env.h"
#include "delivery/http_receiver.h"
#include "gateway/http_client.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "ops/metrics_text.h"
#include "support/harness.h"
#include "support/process.h"

namespace leadrelay::otest {
namespace {

using dtest::DeliveryEnv;
using dtest::HttpReceiver;
using dtest::Reply;
using gateway::testing::Fetch;
using gateway::testing::HttpResponse;
using itest::IsOk;

constexpr char kPublish[] =
    "method=\"/leadrelay.v1.EventService/PublishEvent\"";

int FreePort() {
  absl::StatusOr<int> port = itest::PickFreePort();
  EXPECT_TRUE(port.ok());
  return port.ok() ? *port : 0;
}

// The flags that put the REST gateway on `http_port` and the admin server on
// `admin_port`.
std::vector<std::string> OpsFlags(int http_port, int admin_port) {
  return {
      absl::StrCat("--http_address=127.0.0.1:", http_port),
      absl::StrCat("--admin_address=127.0.0.1:", admin_port),
      absl::StrCat("--gateway_config=", LR_SOURCE_DIR, "/gateway/envoy.yaml"),
      absl::StrCat("--descriptor_set=", LR_DESCRIPTOR_SET)};
}

ParsedMetrics Scrape(int port) {
  HttpResponse response = Fetch(port, "GET", "/metrics");
  EXPECT_EQ(response.status, 200) << response.body;
  EXPECT_TRUE(absl::StartsWith(response.header("content-type"),
                               "text/plain; version=0.0.4"))
      << response.header("content-type");
  absl::StatusOr<ParsedMetrics> parsed = ParseMetricsText(response.body);
  EXPECT_TRUE(parsed.ok()) << parsed.status() << "\n" << response.body;
  return parsed.ok() ? *parsed : ParsedMetrics();
}

// Scrapes until `done` holds (bounded); returns the last scrape.
ParsedMetrics ScrapeUntil(int port,
                          const std::function<bool(const ParsedMetrics&)>& done,
                          absl::Duration timeout, bool* held) {
  absl::Time deadline = absl::Now() + timeout;
  ParsedMetrics last;
  for (;;) {
    last = Scrape(port);
    if (done(last)) {
      *held = true;
      return last;
    }
    if (absl::Now() > deadline) {
      *held = false;
      return last;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

// Polls `path` until it answers `status` (bounded).
bool AwaitStatus(int port, const std::string& path, int status,
                 absl::Duration timeout, HttpResponse* last) {
  absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    *last = Fetch(port, "GET", path);
    if (last->status == status) return true;
    if (absl::Now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

// grpc.health.v1.Health/Check for `service` without generated health
// stubs: HealthCheckRequest{service=1} in, HealthCheckResponse{status=1} out.
// Returns 1 SERVING, 2 NOT_SERVING, -1 when the call failed.
int HealthStatus(const std::string& address, const std::string& service) {
  auto channel =
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  std::string request = absl::StrCat(
      "\x0a", std::string(1, static_cast<char>(service.size())), service);
  grpc::Slice slice(request);
  grpc::ByteBuffer in(&slice, 1), out;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(5));
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(),
                 &in, &out,
                 [&done](grpc::Status status) { done.set_value(status); });
  grpc::Status status = done.get_future().get();
  if (!status.ok()) return -1;
  std::vector<grpc::Slice> slices;
  if (!out.Dump(&slices).ok()) return -1;
  std::string bytes;
  for (const auto& s : slices) {
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  if (bytes.size() == 2 && bytes[0] == 0x08) return bytes[1];
  return bytes.empty() ? 0 : -1;  // UNKNOWN (0) is encoded as nothing
}

TEST(OpsServerTest, MetricsCountRealTraffic) {
  absl::StatusOr<std::unique_ptr<DeliveryEnv>> env = DeliveryEnv::Create();
  ASSERT_TRUE(env.ok()) << env.status();
  const int http_port = FreePort();
  const int admin_port = FreePort();
  std::vector<std::string> flags = dtest::FastDispatchFlags();
  // Retries every second for a while: the test decides when the endpoint
  // recovers.
  std::string schedule = "--retry_schedule=1s";
  for (int i = 0; i < 40; ++i) schedule += ",1s";
  flags.push_back(schedule);
  for (auto& f : OpsFlags(http_port, admin_port)) flags.push_back(f);
  ASSERT_TRUE((*env)->StartServer(flags).ok()) << (*env)->LogTails();
  absl::StatusOr<itest::Account> account = (*env)->Bootstrap("metrics");
  ASSERT_TRUE(account.ok()) << account.status();
  auto receiver = HttpReceiver::Start();
  ASSERT_TRUE(receiver.ok());
  std::atomic<bool> failing{true};
  std::atomic<int> failures{0};
  (*receiver)->SetResponder([&](const dtest::ReceivedRequest&) {
    if (failing.load()) {
      ++failures;
      return Reply::Status(503);
    }
    return Reply::Status(200);
  });

  const ParsedMetrics before = Scrape(admin_port);
  // The process and build families are there from the start.
  bool has_build_info = false;
  for (const auto& [key, value] : before.samples) {
    if (absl::StartsWith(key, "leadrelay_build_info{") && value == 1 &&
        !absl::StrContains(key, "revision=\"\"")) {
      has_build_info = true;
    }
  }
  EXPECT_TRUE(has_build_info);
  EXPECT_GT(before.Get("process_open_fds{}"), 0);
  EXPECT_GT(before.Get("process_resident_memory_bytes{}"), 1e6);
  EXPECT_NEAR(before.Get("process_start_time_seconds{}"),
              absl::ToUnixSeconds(absl::Now()), 600);
  EXPECT_EQ(before.Get("leadrelay_ready{}"), 1);

  // Two calls with a key that does not exist.
  for (int i = 0; i < 2; ++i) {
    grpc::ClientContext context;
    itest::Authorize(&context, "lr_not_a_real_key_0000000000000000");
    v1::GetMeResponse me;
    EXPECT_EQ((*env)->api().accounts->GetMe(&context, {}, &me).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  v1::CreateWebhookResponse webhook;
  ASSERT_TRUE(IsOk(dtest::CreateWebhook((*env)->api(), account->admin_key,
                                        (*receiver)->Url("/hook"),
                                        {"follower.gained"}, &webhook)));
  // One event, published with a request id.
  {
    grpc::ClientContext context;
    itest::Authorize(&context, account->admin_key);
    context.AddMetadata("x-request-id", "ops-rid-grpc-1");
    v1::PublishEventResponse published;
    ASSERT_TRUE(IsOk((*env)->api().events->PublishEvent(
        &context, dtest::FollowerGained("metrics-1"), &published)));
    ASSERT_EQ(published.deliveries_queued(), 1);
  }
  // The endpoint fails; the backlog gauge sees the pending delivery.
  ASSERT_TRUE((*receiver)->WaitForRequests(3, absl::Seconds(60)));
  bool held = false;
  ScrapeUntil(
      admin_port,
      [](const ParsedMetrics& m) {
        return m.Get("leadrelay_deliveries_pending{}") == 1;
      },
      absl::Seconds(30), &held);
  EXPECT_TRUE(held) << "the backlog gauge never showed the pending delivery";
  failing = false;  // the endpoint recovers
  v1::Delivery delivery;
  auto rows = (*env)->db().Query("SELECT id FROM deliveries");
  ASSERT_TRUE(rows.ok() && rows->size() == 1);
  ASSERT_TRUE(dtest::WaitForDeliveryStatus(
      (*env)->api(), account->admin_key, webhook.webhook_id(), (*rows)[0][0],
      "succeeded", absl::Seconds(60), &delivery));
  const ParsedMetrics after = ScrapeUntil(
      admin_port,
      [](const ParsedMetrics& m) {
        return m.Get("leadrelay_deliveries_pending{}") == 0 &&
               m.Get("leadrelay_delivery_oldest_due_age_seconds{}") == 0;
      },
      absl::Seconds(30), &held);
  EXPECT_TRUE(held) << "the backlog gauge did not return to 0";

  // Every failed attempt is counted once, the success once.
  const int failed = failures.load();
  EXPECT_GE(failed, 3);
  auto delta = [&](const std::string& key) {
    return after.Get(key) - before.Get(key);
  };
  EXPECT_EQ(delta("leadrelay_delivery_attempts_total{outcome=\"5xx\"}"),
            failed);
  EXPECT_EQ(delta("leadrelay_delivery_attempts_total{outcome=\"2xx\"}"), 1);
  EXPECT_EQ(delta("leadrelay_delivery_retries_scheduled_total{}"), failed);
  EXPECT_EQ(delta("leadrelay_delivery_first_attempt_delay_seconds_count{}"), 1);
  EXPECT_EQ(after.Get("leadrelay_deliveries_in_flight{}"), 0);
  EXPECT_EQ(delta("leadrelay_auth_rejects_total{reason=\"unauthorized\"}"), 2);
  EXPECT_EQ(delta("leadrelay_grpc_requests_total{code=\"UNAUTHENTICATED\","
                  "method=\"/leadrelay.v1.AccountService/GetMe\"}"),
            2);
  EXPECT_EQ(delta(absl::StrCat("leadrelay_grpc_requests_total{code=\"OK\",",
                               kPublish, "}")),
            1);
  EXPECT_EQ(delta(absl::StrCat("leadrelay_grpc_request_duration_seconds_count{",
                               kPublish, "}")),
            1);
  EXPECT_GT(delta("leadrelay_db_query_duration_seconds_count{}"), 0);
  EXPECT_TRUE(after.Has("leadrelay_db_pool_connections{state=\"in_use\"}"));
  EXPECT_GT(after.Get("leadrelay_db_pool_connections{state=\"idle\"}"), 0);
  double wakeups = 0;
  for (const auto& [key, value] : after.samples) {
    if (absl::StartsWith(key, "leadrelay_db_notify_wakeups_total{")) {
      wakeups += value;
    }
  }
  EXPECT_GT(wakeups, 0);
  // No account id or URL ever becomes a label value.
  for (const auto& [key, value] : after.samples) {
    EXPECT_FALSE(absl::StrContains(key, account->id)) << key;
    EXPECT_FALSE(absl::StrContains(key, "127.0.0.1")) << key;
  }

  // The attempts carry the request id of the call that made the event.
  ASSERT_GE(delivery.attempts_size(), 4);
  for (const auto& attempt : delivery.attempts()) {
    EXPECT_EQ(attempt.request_id(), "ops-rid-grpc-1");
  }

  // REST: counted by route template; X-Request-Id reaches the attempts.
  const ParsedMetrics rest_before = Scrape(admin_port);
  HttpResponse me = Fetch(http_port, "GET", "/v1/me", "",
                          {"X-Api-Key: " + account->admin_key});
  EXPECT_EQ(me.status, 200) << me.body;
  HttpResponse posted =
      Fetch(http_port, "POST", "/v1/events",
            absl::StrCat("{\"type\": \"follower.gained\", \"follower\": {"
                         "\"platform\": \"instagram\", \"tracked_username\": "
                         "\"leadrelay_demo\", \"target_username\": \"rest-1\", "
                         "\"target_user_id\": \"1789\", \"change_date\": \"",
                         itest::UtcDate(), "\"}}"),
            {"X-Api-Key: " + account->admin_key, "X-Request-Id: ops-rid-rest-1",
             "Content-Type: application/json"});
  EXPECT_EQ(posted.status, 200) << posted.body;
  EXPECT_EQ(posted.header("x-request-id"), "ops-rid-rest-1");
  EXPECT_EQ(dtest::WaitForSqlInt(
                (*env)->db(),
                "SELECT count(*) FROM delivery_attempts a JOIN deliveries d "
                "ON d.id = a.delivery_id WHERE a.request_id = $1 AND "
                "d.request_id = $1",
                {"ops-rid-rest-1"}, 1, absl::Seconds(30)),
            1);
  // /metrics is served on the REST port too, without a key.
  HttpResponse on_rest = Fetch(http_port, "GET", "/metrics");
  EXPECT_EQ(on_rest.status, 200);
  const ParsedMetrics rest_after = Scrape(admin_port);
  auto rest_delta = [&](const std::string& key) {
    return rest_after.Get(key) - rest_before.Get(key);
  };
  EXPECT_EQ(rest_delta("leadrelay_http_requests_total{code=\"200\","
                       "route=\"GET /v1/me\"}"),
            1);
  EXPECT_EQ(rest_delta("leadrelay_http_requests_total{code=\"200\","
                       "route=\"POST /v1/events\"}"),
            1);
  EXPECT_EQ(rest_delta("leadrelay_http_requests_total{code=\"200\","
                       "route=\"GET /metrics\"}"),
            1);
  EXPECT_EQ(rest_delta("leadrelay_http_request_duration_seconds_count{"
                       "route=\"GET /v1/me\"}"),
            1);
  // Through the in-process channel, the same call counts as an RPC.
  EXPECT_EQ(rest_delta("leadrelay_grpc_requests_total{code=\"OK\","
                       "method=\"/leadrelay.v1.AccountService/GetMe\"}"),
            1);

  // A stream replaying the last minute: opened, served from the log, one
  // event written, then ended by the client.
  const ParsedMetrics stream_before = Scrape(admin_port);
  {
    grpc::ClientContext context;
    itest::Authorize(&context, account->admin_key);
    v1::StreamEventsRequest request;
    request.mutable_since()->set_seconds(absl::ToUnixSeconds(absl::Now()) - 60);
    auto reader = (*env)->api().events->StreamEvents(&context, request);
    v1::StreamEventsResponse message;
    ASSERT_TRUE(reader->Read(&message));
    EXPECT_EQ(Scrape(admin_port).Get("leadrelay_streams_open{}"), 1);
    context.TryCancel();
    while (reader->Read(&message)) {
    }
    (void)reader->Finish();
  }
  // One scrape is not a snapshot: the counters may be rendered before the
  // stream's OnDone and the open gauge after it, so wait for both.
  auto ended = [](const ParsedMetrics& m) {
    return m.Get("leadrelay_streams_ended_total{reason=\"cancelled\"}") +
           m.Get("leadrelay_streams_ended_total{reason=\"client_gone\"}");
  };
  const double ended_before = ended(stream_before);
  const ParsedMetrics stream_after = ScrapeUntil(
      admin_port,
      [&](const ParsedMetrics& m) {
        return m.Get("leadrelay_streams_open{}") == 0 &&
               ended(m) > ended_before;
      },
      absl::Seconds(30), &held);
  EXPECT_TRUE(held) << "the stream never closed or its end was never counted";
  auto stream_delta = [&](const std::string& key) {
    return stream_after.Get(key) - stream_before.Get(key);
  };
  EXPECT_EQ(stream_delta("leadrelay_streams_opened_total{}"), 1);
  EXPECT_GE(stream_delta("leadrelay_stream_catch_up_reads_total{}"), 1);
  EXPECT_GE(stream_delta("leadrelay_stream_messages_sent_total{}"), 1);
  EXPECT_EQ(ended(stream_after) - ended_before, 1);
}

// Runs `script` in bash with scripts/lib.sh sourced (bounded).
absl::Status LibShell(const std::string& script, const std::string& log) {
  return itest::RunToCompletion({"/bin/bash", "-c",
                                 absl::StrCat("source '", LR_SOURCE_DIR,
                                              "/scripts/lib.sh' && ", script)},
                                log, 120)
      .status();
}

// A PostgreSQL cluster of the test's own, so that it can be stopped.
class OwnCluster {
 public:
  absl::Status Start() {
    auto dir = itest::TempDir::Create();
    if (!dir.ok()) return dir.status();
    dir_ = *std::move(dir);
    auto port = itest::PickFreePort();
    if (!port.ok()) return port.status();
    port_ = *port;
    return Up();
  }
  absl::Status Up() {
    return LibShell(
        absl::StrCat("lr_pg_start '", dir_->path(), "/data' ", port_, " test"),
        dir_->path() + "/pg-ctl.log");
  }
  absl::Status Down() {
    return LibShell(absl::StrCat("lr_pg_stop '", dir_->path(), "/data'"),
                    dir_->path() + "/pg-ctl.log");
  }
  std::string url() const {
    return absl::StrCat("postgresql://postgres@127.0.0.1:", port_, "/postgres");
  }
  const std::string& dir() const { return dir_->path(); }
  ~OwnCluster() {
    if (dir_ != nullptr) (void)Down();
  }

 private:
  std::unique_ptr<itest::TempDir> dir_;
  int port_ = 0;
};

TEST(OpsServerTest, ReadinessFlipsDuringOutageAndShutdownDrain) {
  auto server_bin = itest::RequiredEnv("LEADRELAY_SERVER_BIN");
  ASSERT_TRUE(server_bin.ok()) << server_bin.status();
  OwnCluster cluster;
  absl::Status started = cluster.Start();
  ASSERT_TRUE(started.ok()) << started;
  const std::string log = cluster.dir() + "/server.log";
  // Migrations are applied by the bootstrap run.
  auto boot =
      itest::RunToCompletion({*server_bin, "--database_url=" + cluster.url(),
                              "--bootstrap_account=probe"},
                             log, 60);
  ASSERT_TRUE(boot.ok()) << boot.status() << itest::FileTail(log, 20);
  const int admin_port = FreePort();
  const std::string grpc_address = absl::StrCat("127.0.0.1:", FreePort());
  auto server = itest::ChildProcess::Spawn(
      {*server_bin, "--database_url=" + cluster.url(),
       "--grpc_address=" + grpc_address,
       absl::StrCat("--admin_address=127.0.0.1:", admin_port),
       "--readiness_check_interval=200ms", "--shutdown_drain_delay=5s"},
      log);
  ASSERT_TRUE(server.ok()) << server.status();

  HttpResponse last;
  ASSERT_TRUE(AwaitStatus(admin_port, "/readyz", 200, absl::Seconds(60), &last))
      << last.status << " " << last.body << itest::FileTail(log, 20);
  EXPECT_TRUE(absl::StrContains(last.body, "\"ready\":true")) << last.body;
  EXPECT_EQ(HealthStatus(grpc_address, "leadrelay.v1.LeadService"), 1);
  EXPECT_EQ(HealthStatus(grpc_address, ""), 1);

  // PostgreSQL goes away: not ready, still alive.
  ASSERT_TRUE(cluster.Down().ok());
  ASSERT_TRUE(AwaitStatus(admin_port, "/readyz", 503, absl::Seconds(30), &last))
      << last.status << " " << last.body;
  EXPECT_TRUE(absl::StrContains(last.body, "\"database\":false")) << last.body;
  EXPECT_EQ(Fetch(admin_port, "GET", "/healthz").status, 200);
  EXPECT_EQ(HealthStatus(grpc_address, "leadrelay.v1.LeadService"), 2);
  EXPECT_EQ(HealthStatus(grpc_address, ""), 1);

  // It comes back: ready again, by itself.
  ASSERT_TRUE(cluster.Up().ok());
  ASSERT_TRUE(AwaitStatus(admin_port, "/readyz", 200, absl::Seconds(60), &last))
      << last.status << " " << last.body;
  EXPECT_EQ(HealthStatus(grpc_address, "leadrelay.v1.LeadService"), 1);

  // SIGTERM: not ready at once, while the process still serves the drain.
  ASSERT_EQ(kill((*server)->pid(), SIGTERM), 0);
  ASSERT_TRUE(AwaitStatus(admin_port, "/readyz", 503, absl::Seconds(4), &last))
      << last.status << " " << last.body;
  EXPECT_TRUE(absl::StrContains(last.body, "\"draining\":true")) << last.body;
  EXPECT_TRUE((*server)->IsRunning());
  EXPECT_EQ(Fetch(admin_port, "GET", "/healthz").status, 200);
  EXPECT_EQ(HealthStatus(grpc_address, "leadrelay.v1.LeadService"), 2);
  // Then it stops by itself.
  absl::Time deadline = absl::Now() + absl::Seconds(30);
  while ((*server)->IsRunning() && absl::Now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_FALSE((*server)->IsRunning()) << itest::FileTail(log, 20);
}

TEST(OpsServerTest, LogsCarryRequestIdsButNoSecrets) {
  absl::StatusOr<std::unique_ptr<DeliveryEnv>> env = DeliveryEnv::Create();
  ASSERT_TRUE(env.ok()) << env.status();
  const int http_port = FreePort();
  std::vector<std::string> flags = dtest::FastDispatchFlags();
  for (auto& f : OpsFlags(http_port, FreePort())) flags.push_back(f);
  flags.push_back("--access_log");
  flags.push_back("--log_format=json");
  ASSERT_TRUE((*env)->StartServer(flags).ok()) << (*env)->LogTails();
  absl::StatusOr<itest::Account> account = (*env)->Bootstrap("logs");
  ASSERT_TRUE(account.ok()) << account.status();
  auto receiver = HttpReceiver::Start();
  ASSERT_TRUE(receiver.ok());
  // The endpoint fails once, echoing what it got (payload in the excerpt).
  (*receiver)->SetResponder([](const dtest::ReceivedRequest& r) {
    static std::atomic<int> calls{0};
    Reply reply = Reply::Status(++calls == 1 ? 500 : 200);
    reply.body = r.body;
    return reply;
  });

  const std::string secret = "whsec_opsLogSecretDoNotLog0123456789abcdef";
  const std::string phone = "+27825550199";
  const std::string email = "zanele.ops-secret@example.com";
  const std::string marker = "payloadmarker7731";
  std::vector<std::string> forbidden = {account->admin_key, secret, phone,
                                        email, marker};

  v1::CreateWebhookResponse webhook;
  ASSERT_TRUE(IsOk(dtest::CreateWebhook(
      (*env)->api(), account->admin_key, (*receiver)->Url("/hook"),
      {"follower.gained", "lead.new"}, &webhook, secret)));
  {
    grpc::ClientContext context;
    itest::Authorize(&context, account->admin_key);
    v1::CreateApiKeyRequest request;
    request.set_name("second");
    v1::CreateApiKeyResponse created;
    ASSERT_TRUE(
        IsOk((*env)->api().keys->CreateApiKey(&context, request, &created)));
    forbidden.push_back(created.key());
    // A call with the new key, one with a mistyped copy of it.
    for (const std::string& key : {created.key(), created.key() + "x"}) {
      grpc::ClientContext c;
      itest::Authorize(&c, key);
      v1::GetMeResponse me;
      (void)(*env)->api().accounts->GetMe(&c, {}, &me);
    }
    forbidden.push_back(created.key() + "x");
  }
  {
    grpc::ClientContext context;
    itest::Authorize(&context, account->admin_key);
    context.AddMetadata("x-request-id", "ops-log-rid-1");
    v1::CreateLeadRequest request;
    v1::Lead* lead = request.mutable_lead();
    lead->set_vertical("solar");
    lead->set_first_name("Zanele");
    lead->set_suburb("Sandton");
    lead->set_score(87);
    lead->set_phone(phone);
    lead->set_email(email);
    v1::Lead created;
    ASSERT_TRUE(
        IsOk((*env)->api().leads->CreateLead(&context, request, &created)));
  }
  v1::PublishEventResponse published;
  ASSERT_TRUE(IsOk(dtest::Publish((*env)->api(), account->admin_key,
                                  dtest::FollowerGained(marker), &published)));
  HttpResponse rest = Fetch(http_port, "GET", "/v1/leads?vertical=solar", "",
                            {"Authorization: Bearer " + account->admin_key,
                             "X-Request-Id: ops-log-rid-2"});
  EXPECT_EQ(rest.status, 200) << rest.body;
  HttpResponse bad = Fetch(http_port, "POST", "/v1/leads",
                           absl::StrCat("{\"lead\": {\"phone\": \"", phone,
                                        "\", \"email\": \"", email, "\"}}"),
                           {"X-Api-Key: " + account->admin_key});
  EXPECT_EQ(bad.status, 400) << bad.body;
  // Both events reach the endpoint (the first after a failed attempt).
  ASSERT_TRUE((*receiver)->WaitForRequests(3, absl::Seconds(60)));
  EXPECT_EQ(dtest::WaitForSqlInt((*env)->db(),
                                 "SELECT count(*) FROM deliveries WHERE "
                                 "status = 'succeeded'",
                                 {}, 2, absl::Seconds(60)),
            2);
  (*env)->StopServer(0);  // flushes and ends the log

  const std::string logs = (*env)->LogTails(1000000);
  ASSERT_FALSE(logs.empty());
  for (const std::string& needle : forbidden) {
    EXPECT_FALSE(absl::StrContains(logs, needle))
        << "the server log contains \"" << needle << "\"";
  }
  // JSON lines, with access lines carrying the request ids.
  int access = 0;
  bool grpc_rid = false, rest_rid = false;
  for (absl::string_view line : absl::StrSplit(logs, '\n')) {
    if (!absl::StartsWith(line, "{\"timestamp\":")) continue;
    EXPECT_TRUE(absl::EndsWith(line, "}")) << line;
    if (!absl::StrContains(line, "\"message\":\"access\"")) continue;
    ++access;
    if (absl::StrContains(line, "\"request_id\":\"ops-log-rid-1\"") &&
        absl::StrContains(line, "CreateLead") &&
        absl::StrContains(line, "\"account_id\":\"" + account->id + "\"") &&
        absl::StrContains(line, "\"code\":\"OK\"") &&
        absl::StrContains(line, "\"duration_ms\":")) {
      grpc_rid = true;
    }
    if (absl::StrContains(line, "\"request_id\":\"ops-log-rid-2\"") &&
        absl::StrContains(line, "\"method\":\"GET /v1/leads\"") &&
        absl::StrContains(line, "\"code\":\"200\"")) {
      rest_rid = true;
    }
  }
  EXPECT_GT(access, 5);
  EXPECT_TRUE(grpc_rid) << "no access line for the gRPC call with its id";
  EXPECT_TRUE(rest_rid) << "no access line for the REST call with its id";
}

}  // namespace
}  // namespace leadrelay::otest
