// leadrelay-server: the gRPC API over PostgreSQL.
//
//   leadrelay-server --database_url=postgresql://... --grpc_address=:50051
//   leadrelay-server --database_url=... --bootstrap_account=NAME
#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <memory>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "auth/authorizer.h"
#include "auth/platform_identity.h"
#include "auth/platform_rules.h"
#include "bootstrap.h"
#include "bootstrap_platform.h"
#include "common/log.h"
#include "console/console_routes.h"
#include "crypto/key_source.h"
#include "crypto/secret_box.h"
#include "delivery/dispatcher.h"
#include "domain/input_limits.h"
#include "gateway/gateway.h"
#include "grpc_server.h"
#include "ops/call_observer.h"
#include "ops/operations.h"
#include "ops/server_metrics.h"
#include "services/blocking_calls.h"
#include "store/commit_notifier.h"
#include "store/event_pruner.h"
#include "store/events_repo.h"
#include "store/lead_batcher.h"
#include "store/migrations.h"
#include "store/notification_listener.h"
#include "store/pg.h"
#include "store/point_readers.h"
#include "store/webhook_secrets.h"
#include "stream/event_hub.h"

ABSL_FLAG(std::string, database_url, "",
          "PostgreSQL connection URL (or set DATABASE_URL)");
ABSL_FLAG(std::string, grpc_address, "127.0.0.1:50051",
          "host:port the gRPC API listens on");
ABSL_FLAG(std::string, http_address, "",
          "host:port for the REST/JSON API (the gateway, in process); off "
          "when empty");
ABSL_FLAG(std::string, http_tls_cert, "",
          "PEM certificate chain for --http_address; serves HTTPS only");
ABSL_FLAG(std::string, http_tls_key, "", "PEM private key for --http_tls_cert");
ABSL_FLAG(int, http_max_connections, 1024,
          "open HTTP connections; past this, new ones get 503 over_capacity");
ABSL_FLAG(absl::Duration, http_header_timeout, absl::Seconds(10),
          "time allowed for a request's headers; then the connection closes");
ABSL_FLAG(absl::Duration, http_idle_timeout, absl::Seconds(60),
          "keep-alive connections idle this long are closed");
ABSL_FLAG(absl::Duration, http_body_timeout, absl::Seconds(30),
          "time allowed for a request's body; then the connection closes");
ABSL_FLAG(std::string, gateway_config, "gateway/envoy.yaml",
          "Envoy bootstrap whose grpc_json_transcoder block configures the "
          "REST gateway");
ABSL_FLAG(std::string, descriptor_set, "",
          "descriptor set for the gateway (default: the config's "
          "proto_descriptor)");
ABSL_FLAG(int, db_pool_size, 16, "PostgreSQL connections per process");
ABSL_FLAG(std::vector<std::string>, allow_webhook_hosts, {},
          "hosts that may receive webhooks over plain http (development)");
ABSL_FLAG(absl::Duration, secret_rotation_grace, absl::Hours(24),
          "how long a rotated webhook secret keeps signing");
ABSL_FLAG(std::string, tls_cert, "", "PEM certificate chain; enables TLS");
ABSL_FLAG(std::string, tls_key, "", "PEM private key for --tls_cert");
ABSL_FLAG(std::string, bootstrap_account, "",
          "create an account with this name and an admin key, print them, "
          "and exit");
ABSL_FLAG(std::string, bootstrap_plan, "pro",
          "plan of --bootstrap_account: free, starter, pro, enterprise, "
          "internal");
ABSL_FLAG(int, bootstrap_credits, 1000, "credits of --bootstrap_account");
ABSL_FLAG(std::string, bootstrap_platform_service, "",
          "register a platform service identity with this name (the CN of "
          "its client certificates), print a new platform key for it, and "
          "exit");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA for client certificates on the gRPC port (mutual TLS): a "
          "certificate from it identifies the platform service named by its "
          "subject CN; needs --tls_cert");
ABSL_FLAG(bool, allow_platform_over_rest, false,
          "accept platform identities on the REST API too");

ABSL_FLAG(bool, dispatch_webhooks, true,
          "run the webhook dispatcher in this process");
ABSL_FLAG(absl::Duration, webhook_timeout, absl::Seconds(10),
          "total time allowed for one webhook request");
ABSL_FLAG(std::string, retry_schedule, "1m,5m,30m,2h,12h",
          "delays before each retry of a failed delivery");
ABSL_FLAG(double, retry_jitter, 0.2, "relative jitter of retry delays");
ABSL_FLAG(absl::Duration, dispatcher_poll_interval, absl::Seconds(2),
          "safety-net poll for due deliveries (NOTIFY wakes at once)");
ABSL_FLAG(absl::Duration, disable_failing_endpoints_after, absl::Hours(120),
          "disable an endpoint that has failed without a break this long");
ABSL_FLAG(int, max_deliveries_in_flight, 512,
          "webhook requests in flight per process");
ABSL_FLAG(int, max_in_flight_per_endpoint, 16,
          "webhook requests in flight per endpoint per process");
ABSL_FLAG(absl::Duration, attempt_body_retention, absl::Hours(24 * 7),
          "keep response bodies of attempts this long");
ABSL_FLAG(absl::Duration, stream_heartbeat_interval, absl::Seconds(15),
          "idle streams get a heartbeat with their cursor this often");
ABSL_FLAG(int, max_streams_per_key, 100,
          "concurrent StreamEvents calls per API key per process");
ABSL_FLAG(int, max_streams, 10000,
          "concurrent StreamEvents calls per process, all keys together");
ABSL_FLAG(int, stream_ring_capacity, 4096,
          "newest events kept in memory per streamed account");
ABSL_FLAG(absl::Duration, stream_poll_interval, absl::Milliseconds(200),
          "stream feeds re-read the log this often after a notification");
ABSL_FLAG(int64_t, stream_ring_bytes, 8 << 20,
          "bytes of serialized events kept in memory per streamed account");
ABSL_FLAG(int64_t, stream_subscriber_bytes, 1 << 20,
          "bytes of events queued per stream when it is served from the log");
ABSL_FLAG(int64_t, stream_account_bytes, 32 << 20,
          "bytes of events held for one account's streams in all (ring and "
          "queues); a stream over it waits and is served from the log");
ABSL_FLAG(int64_t, stream_total_bytes, 256 << 20,
          "bytes of events held for all accounts' streams (at least 1 MiB): "
          "rings take at most half, queues the rest");
ABSL_FLAG(int64_t, max_request_bytes, 512 << 10,
          "largest serialized request; larger ones get payload_too_large");
ABSL_FLAG(int64_t, max_event_bytes, 256 << 10,
          "largest serialized event PublishEvent accepts");
ABSL_FLAG(int64_t, max_response_bytes, 1 << 20,
          "list responses are cut to about this many bytes (with a token or "
          "cursor for the rest)");
ABSL_FLAG(std::string, secrets_key_file, "",
          "file of master keys (ID:BASE64 of 32 bytes, one per line, the "
          "first encrypts) for webhook secrets and cursors");
ABSL_FLAG(std::string, secrets_key_env, "LEADRELAY_SECRETS_KEY",
          "environment variable holding the master keys when "
          "--secrets_key_file is not given");
ABSL_FLAG(bool, reencrypt_secrets, false,
          "re-encrypt every webhook secret under the active master key, "
          "print the counts, and exit");
ABSL_FLAG(int, auth_failures_per_address, 20,
          "invalid API keys one client address may present per "
          "--auth_failure_window before it is throttled; 0: off");
ABSL_FLAG(absl::Duration, auth_failure_window, absl::Minutes(1),
          "window of --auth_failures_per_address");
ABSL_FLAG(std::vector<std::string>, trusted_proxies, {},
          "addresses of proxies (a standalone leadrelay-gateway) whose "
          "x-leadrelay-client-address header names the client");
ABSL_FLAG(absl::Duration, delivery_retention, absl::Hours(24 * 30),
          "keep finished deliveries and their attempts this long");
ABSL_FLAG(absl::Duration, event_retention, absl::Hours(24 * 30),
          "keep events this long unless the account's plan says otherwise "
          "(plans.event_retention_days); 0 keeps them forever");
ABSL_FLAG(absl::Duration, event_prune_interval, absl::Minutes(10),
          "how often expired events are pruned");

ABSL_FLAG(bool, metrics, true,
          "collect metrics and serve GET /metrics (REST and admin ports)");
ABSL_FLAG(std::string, admin_address, "",
          "host:port for /metrics, /healthz and /readyz alone (keep it "
          "private); off when empty");
ABSL_FLAG(std::string, log_format, "text", "log lines as text or json");
ABSL_FLAG(bool, access_log, false, "one log line per RPC and REST request");
ABSL_FLAG(absl::Duration, shutdown_drain_delay, absl::ZeroDuration(),
          "after SIGTERM, answer /readyz 503 this long before stopping");
ABSL_FLAG(absl::Duration, readiness_check_interval, absl::Seconds(1),
          "how often readiness re-checks the database and the dispatcher");

namespace leadrelay {
namespace {

// The web console (/console/, embedded files) on the REST port.
void AddConsoleRoutes(gateway::GatewayConfig& config) {
  config.extra_routes[std::string(console::kConsolePrefix)] =
      [](const gateway::HttpRequestInfo& request) {
        console::ConsoleReply reply =
            console::ServeConsole(request.method, request.path);
        gateway::HttpResponseInfo response;
        response.status = reply.status;
        response.content_type = std::move(reply.content_type);
        response.body = std::move(reply.body);
        response.headers = std::move(reply.headers);
        return response;
      };
  config.extra_routes["/console"] = [](const gateway::HttpRequestInfo&) {
    gateway::HttpResponseInfo response;
    response.status = 308;
    response.body = "see /console/\n";
    response.headers.emplace_back("Location",
                                  std::string(console::kConsolePrefix));
    return response;
  };
}

int Run() {
  if (std::string f = absl::GetFlag(FLAGS_log_format);
      f != "text" && f != "json") {
    std::fprintf(stderr, "--log_format: text or json\n");
    return 2;
  }
  SetLogFormat(absl::GetFlag(FLAGS_log_format) == "json" ? LogFormat::kJson
                                                         : LogFormat::kText);
  ops::SetMetricsEnabled(absl::GetFlag(FLAGS_metrics));
  ops::SetAccessLogEnabled(absl::GetFlag(FLAGS_access_log));
  // absl::Mutex's deadlock detection (on in this absl build) records every
  // lock order in a global graph under a global lock: a measurable share of
  // each call's CPU, and contention between threads.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  std::string url = absl::GetFlag(FLAGS_database_url);
  if (url.empty()) {
    if (const char* env = std::getenv("DATABASE_URL")) url = env;
  }
  if (url.empty()) {
    std::fprintf(stderr, "--database_url (or DATABASE_URL) is required\n");
    return 2;
  }
  store::PoolOptions pool_options;
  pool_options.url = url;
  pool_options.size = absl::GetFlag(FLAGS_db_pool_size);
  store::Pool pool(pool_options);
  // Wake-ups leave after commit, coalesced, from their own connection.
  store::CommitNotifier notifier(url);
  pool.set_wake_sink(
      [&notifier](std::vector<store::Wake> w) { notifier.Add(std::move(w)); });
  notifier.Start();

  // Start-up waits for the database for a while (it may be starting too).
  absl::Status migrated;
  for (int attempt = 0; attempt < 30; ++attempt) {
    migrated = store::ApplyMigrations(pool);
    if (migrated.ok() || !store::IsConnectionError(migrated)) break;
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  if (!migrated.ok()) {
    LogError(absl::StrCat("migrations failed: ", migrated.message()));
    return 1;
  }

  if (std::string name = absl::GetFlag(FLAGS_bootstrap_platform_service);
      !name.empty()) {
    auto result = BootstrapPlatformService(pool, name);
    if (!result.ok()) {
      LogError(absl::StrCat("bootstrap failed: ", result.status().message()));
      return 1;
    }
    std::printf("platform_service=%s\nplatform_key=%s\n", name.c_str(),
                result->platform_key.c_str());
    if (absl::GetFlag(FLAGS_bootstrap_account).empty()) return 0;
  }
  if (std::string name = absl::GetFlag(FLAGS_bootstrap_account);
      !name.empty()) {
    auto result =
        BootstrapAccount(pool, name, absl::GetFlag(FLAGS_bootstrap_plan),
                         absl::GetFlag(FLAGS_bootstrap_credits));
    if (!result.ok()) {
      LogError(absl::StrCat("bootstrap failed: ", result.status().message()));
      return 1;
    }
    std::printf("account_id=%s\napi_key=%s\n", result->account_id.c_str(),
                result->api_key.c_str());
    return 0;
  }

  // Master keys: webhook secrets at rest and cursors. Rows written before
  // encryption are encrypted now, before anything reads them.
  absl::StatusOr<crypto::Keyring> keyring =
      crypto::LoadMasterKeys(absl::GetFlag(FLAGS_secrets_key_file),
                             absl::GetFlag(FLAGS_secrets_key_env));
  if (!keyring.ok()) {
    LogError(std::string(keyring.status().message()));
    return 2;
  }
  crypto::SecretBox secret_box(*keyring);
  store::SetCursorKeys(*keyring);
  bool reencrypt = absl::GetFlag(FLAGS_reencrypt_secrets);
  absl::StatusOr<store::SealCounts> sealed =
      store::SealWebhookSecrets(pool, secret_box, reencrypt);
  if (!sealed.ok()) {
    LogError(absl::StrCat("webhook secrets: ", sealed.status().message()));
    return 1;
  }
  if (reencrypt) {
    std::printf("encrypted=%d\nreencrypted=%d\nactive_key=%s\n",
                sealed->encrypted, sealed->reencrypted,
                secret_box.active_key_id().c_str());
    return 0;
  }
  if (sealed->encrypted > 0) {
    LogInfo(absl::StrCat("encrypted ", sealed->encrypted,
                         " plaintext webhook secrets"));
  }

  // SIGTERM / SIGINT are taken by a waiting thread, not a handler.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::unique_ptr<delivery::Dispatcher> dispatcher;
  if (absl::GetFlag(FLAGS_dispatch_webhooks)) {
    delivery::DispatcherOptions d;
    auto schedule =
        delivery::ParseSchedule(absl::GetFlag(FLAGS_retry_schedule));
    if (!schedule.has_value()) {
      std::fprintf(stderr, "--retry_schedule: expected e.g. 1m,5m,30m\n");
      return 2;
    }
    d.retry.schedule = *schedule;
    d.retry.jitter = absl::GetFlag(FLAGS_retry_jitter);
    d.http.timeout = absl::GetFlag(FLAGS_webhook_timeout);
    d.http.max_in_flight_per_endpoint =
        absl::GetFlag(FLAGS_max_in_flight_per_endpoint);
    d.max_in_flight = absl::GetFlag(FLAGS_max_deliveries_in_flight);
    d.poll_interval = absl::GetFlag(FLAGS_dispatcher_poll_interval);
    d.disable_after = absl::GetFlag(FLAGS_disable_failing_endpoints_after);
    d.attempt_body_retention = absl::GetFlag(FLAGS_attempt_body_retention);
    d.delivery_retention = absl::GetFlag(FLAGS_delivery_retention);
    d.allowed_hosts = absl::GetFlag(FLAGS_allow_webhook_hosts);
    d.secret_box = &secret_box;
    dispatcher = std::make_unique<delivery::Dispatcher>(pool, d);
  }

  stream::HubOptions hub_options;
  hub_options.heartbeat_interval =
      absl::GetFlag(FLAGS_stream_heartbeat_interval);
  hub_options.max_streams_per_key = absl::GetFlag(FLAGS_max_streams_per_key);
  hub_options.max_streams = absl::GetFlag(FLAGS_max_streams);
  // Half of it must hold the largest event, for rings and queues alike.
  hub_options.total_max_bytes = static_cast<size_t>(
      std::max<int64_t>(absl::GetFlag(FLAGS_stream_total_bytes), 1 << 20));
  hub_options.ring_capacity = absl::GetFlag(FLAGS_stream_ring_capacity);
  hub_options.poll_interval = absl::GetFlag(FLAGS_stream_poll_interval);
  hub_options.account_max_bytes = static_cast<size_t>(
      std::max<int64_t>(absl::GetFlag(FLAGS_stream_account_bytes), 1));
  hub_options.ring_max_bytes =
      std::min(static_cast<size_t>(std::max<int64_t>(
                   absl::GetFlag(FLAGS_stream_ring_bytes), 1)),
               hub_options.account_max_bytes);
  hub_options.subscriber_max_bytes = static_cast<size_t>(
      std::max<int64_t>(absl::GetFlag(FLAGS_stream_subscriber_bytes), 1));
  stream::EventHub hub(pool, hub_options);
  hub.Start();

  auth::FailureThrottleOptions throttle;
  throttle.max_failures = absl::GetFlag(FLAGS_auth_failures_per_address);
  throttle.window = absl::GetFlag(FLAGS_auth_failure_window);
  auth::Authorizer authorizer(pool, absl::Seconds(30), throttle);
  authorizer.TrustProxies(absl::GetFlag(FLAGS_trusted_proxies));
  auth::PlatformIdentity platform(
      pool, {absl::GetFlag(FLAGS_allow_platform_over_rest)});
  authorizer.set_platform(&platform);
  store::NotificationListener listener(
      url,
      {store::kEventsChannel, store::kDeliveriesChannel, store::kKeysChannel});
  listener.AddHandler([&](const store::Notification& n) {
    ops::RecordNotifyWakeup(n.channel);
    if (n.channel.empty() || n.channel == store::kKeysChannel) {
      authorizer.Invalidate(n.payload);
    }
    if (dispatcher != nullptr && n.channel != store::kKeysChannel) {
      dispatcher->Wake();
    }
    hub.OnNotification(n);
  });
  listener.Start();
  if (dispatcher != nullptr) dispatcher->Start();
  std::atomic<bool> dispatching{dispatcher != nullptr};
  store::LeadBatcher lead_batcher(pool);
  store::PointReaders point_readers(pool);
  // Declared before the server: it finishes what it holds before it goes.
  BlockingCalls blocking_calls(
      std::max(2, absl::GetFlag(FLAGS_db_pool_size) / 4), /*per_key=*/2);
  store::EventPruner event_pruner(pool,
                                  {absl::GetFlag(FLAGS_event_retention),
                                   absl::GetFlag(FLAGS_event_prune_interval)});
  ServiceDeps deps{&pool, &authorizer, {}, dispatcher.get(), &hub};
  deps.lead_batcher = &lead_batcher;
  deps.point_readers = &point_readers;
  deps.blocking_calls = &blocking_calls;
  deps.secret_box = &secret_box;
  deps.options.allowed_webhook_hosts = absl::GetFlag(FLAGS_allow_webhook_hosts);
  deps.options.secret_rotation_grace =
      absl::GetFlag(FLAGS_secret_rotation_grace);
  deps.options.limits.max_request_bytes =
      static_cast<size_t>(std::clamp<int64_t>(
          absl::GetFlag(FLAGS_max_request_bytes), 1024, 64 << 20));
  deps.options.limits.max_event_bytes = static_cast<size_t>(std::clamp<int64_t>(
      absl::GetFlag(FLAGS_max_event_bytes), 1024, 64 << 20));
  deps.options.max_response_bytes = static_cast<size_t>(std::clamp<int64_t>(
      absl::GetFlag(FLAGS_max_response_bytes), 64 << 10, 64 << 20));

  GrpcServerOptions server_options;
  server_options.address = absl::GetFlag(FLAGS_grpc_address);
  server_options.tls_cert_file = absl::GetFlag(FLAGS_tls_cert);
  server_options.tls_key_file = absl::GetFlag(FLAGS_tls_key);
  server_options.tls_client_ca_file = absl::GetFlag(FLAGS_tls_client_ca);
  auto server = StartGrpcServer(server_options, deps);
  if (!server.ok()) {
    LogError(std::string(server.status().message()));
    return 1;
  }
  LogInfo(absl::StrCat("leadrelay-server listening on ", server_options.address,
                       " (gRPC)"));
  ops::OperationsOptions ops_options;
  ops_options.admin_address = absl::GetFlag(FLAGS_admin_address);
  ops_options.readiness_interval =
      absl::GetFlag(FLAGS_readiness_check_interval);
  auto operations = ops::Operations::Start(
      ops_options, pool, hub,
      dispatcher == nullptr ? std::function<bool()>()
                            : [&dispatching] { return dispatching.load(); },
      (*server)->Health());
  if (!operations.ok()) {
    LogError(absl::StrCat("admin server: ", operations.status().message()));
    return 1;
  }
  if (!ops_options.admin_address.empty()) {
    LogInfo(absl::StrCat("admin endpoints on ", ops_options.admin_address,
                         " (port ", (*operations)->admin_port(), ")"));
  }

  std::unique_ptr<gateway::Gateway> rest;
  if (std::string http = absl::GetFlag(FLAGS_http_address); !http.empty()) {
    auto config =
        gateway::LoadGatewayConfig(absl::GetFlag(FLAGS_gateway_config));
    if (!config.ok()) {
      LogError(absl::StrCat("gateway config: ", config.status().message()));
      return 1;
    }
    if (std::string d = absl::GetFlag(FLAGS_descriptor_set); !d.empty()) {
      config->proto_descriptor = d;
    }
    config->tls_cert_file = absl::GetFlag(FLAGS_http_tls_cert);
    config->tls_key_file = absl::GetFlag(FLAGS_http_tls_key);
    (*operations)->InstallInGateway(&*config);
    // Marks REST calls, so platform identities can be refused there.
    config->upstream_metadata = {{auth::kSurfaceHeader, auth::kRestSurface}};
    config->limits.max_connections = absl::GetFlag(FLAGS_http_max_connections);
    config->limits.header_timeout = absl::GetFlag(FLAGS_http_header_timeout);
    config->limits.idle_timeout = absl::GetFlag(FLAGS_http_idle_timeout);
    config->limits.body_timeout = absl::GetFlag(FLAGS_http_body_timeout);
    AddConsoleRoutes(*config);
    auto started =
        gateway::StartGateway(*config, (*server)->InProcessChannel(), http);
    if (!started.ok()) {
      LogError(absl::StrCat("gateway: ", started.status().message()));
      return 1;
    }
    rest = *std::move(started);
    LogInfo(absl::StrCat("REST gateway listening on ", http));
  }

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  LogInfo(absl::StrCat("signal ", signal_number, ": shutting down"));
  (*operations)->BeginDrain();  // /readyz 503, gRPC health NOT_SERVING
  absl::SleepFor(absl::GetFlag(FLAGS_shutdown_drain_delay));
  if (rest != nullptr) rest->Shutdown();
  hub.Shutdown();  // streams end with UNAVAILABLE and a resume cursor
  (*server)->Shutdown(std::chrono::system_clock::now() +
                      std::chrono::seconds(10));
  dispatching = false;
  if (dispatcher != nullptr) dispatcher->Stop();
  listener.Stop();
  (*operations)->Stop();
  notifier.Stop();
  LogInfo("stopped");
  return 0;
}

}  // namespace
}  // namespace leadrelay

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "leadrelay gRPC server. See README.md for the flags in context.");
  // --help lists this program's own flags (by default absl looks for a
  // source file named after the binary, and finds none).
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view path) {
    return absl::StrContains(path, "server/main.cc");
  };
  usage.contains_helpshort_flags = usage.contains_help_flags;
  absl::SetFlagsUsageConfig(usage);
  absl::ParseCommandLine(argc, argv);
  return leadrelay::Run();
}
