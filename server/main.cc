// leadrelay-server: the gRPC API over PostgreSQL.
//
//   leadrelay-server --database_url=postgresql://... --grpc_address=:50051
//   leadrelay-server --database_url=... --bootstrap_account=NAME
#include <csignal>
#include <cstdio>
#include <memory>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "auth/authorizer.h"
#include "bootstrap.h"
#include "common/log.h"
#include "console/console_routes.h"
#include "delivery/dispatcher.h"
#include "gateway/gateway.h"
#include "grpc_server.h"
#include "store/events_repo.h"
#include "store/migrations.h"
#include "store/notification_listener.h"
#include "store/pg.h"
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
ABSL_FLAG(std::string, http_tls_key, "",
          "PEM private key for --http_tls_cert");
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
ABSL_FLAG(int, stream_ring_capacity, 4096,
          "newest events kept in memory per streamed account");
ABSL_FLAG(absl::Duration, stream_poll_interval, absl::Milliseconds(200),
          "stream feeds re-read the log this often after a notification");
ABSL_FLAG(absl::Duration, delivery_retention, absl::Hours(24 * 30),
          "keep finished deliveries and their attempts this long");

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
    dispatcher = std::make_unique<delivery::Dispatcher>(pool, d);
  }

  stream::HubOptions hub_options;
  hub_options.heartbeat_interval =
      absl::GetFlag(FLAGS_stream_heartbeat_interval);
  hub_options.max_streams_per_key = absl::GetFlag(FLAGS_max_streams_per_key);
  hub_options.ring_capacity = absl::GetFlag(FLAGS_stream_ring_capacity);
  hub_options.poll_interval = absl::GetFlag(FLAGS_stream_poll_interval);
  stream::EventHub hub(pool, hub_options);
  hub.Start();

  auth::Authorizer authorizer(pool);
  store::NotificationListener listener(
      url,
      {store::kEventsChannel, store::kDeliveriesChannel, store::kKeysChannel});
  listener.AddHandler([&](const store::Notification& n) {
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
  ServiceDeps deps{&pool, &authorizer, {}, dispatcher.get(), &hub};
  deps.options.allowed_webhook_hosts = absl::GetFlag(FLAGS_allow_webhook_hosts);
  deps.options.secret_rotation_grace =
      absl::GetFlag(FLAGS_secret_rotation_grace);

  GrpcServerOptions server_options;
  server_options.address = absl::GetFlag(FLAGS_grpc_address);
  server_options.tls_cert_file = absl::GetFlag(FLAGS_tls_cert);
  server_options.tls_key_file = absl::GetFlag(FLAGS_tls_key);
  auto server = StartGrpcServer(server_options, deps);
  if (!server.ok()) {
    LogError(std::string(server.status().message()));
    return 1;
  }
  LogInfo(absl::StrCat("leadrelay-server listening on ", server_options.address,
                       " (gRPC)"));

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
  if (rest != nullptr) rest->Shutdown();
  hub.Shutdown();  // streams end with UNAVAILABLE and a resume cursor
  (*server)->Shutdown(std::chrono::system_clock::now() +
                      std::chrono::seconds(10));
  if (dispatcher != nullptr) dispatcher->Stop();
  listener.Stop();
  LogInfo("stopped");
  return 0;
}

}  // namespace
}  // namespace leadrelay

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "leadrelay gRPC server. See README.md for the flags in context.");
  absl::ParseCommandLine(argc, argv);
  return leadrelay::Run();
}
