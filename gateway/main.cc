// leadrelay-gateway: serves the REST surface of a gRPC server.
//
//   leadrelay-gateway --config=gateway/envoy.yaml --listen=127.0.0.1:8080
//       --upstream=127.0.0.1:50051 [--descriptor_set=build/leadrelay.pb]
//       [--io_threads=2] [--tls_cert=cert.pem --tls_key=key.pem]
//       [--max_connections=1024] [--header_timeout=10s] [--idle_timeout=60s]
//       [--body_timeout=30s]
#include <csignal>
#include <cstdio>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gateway/gateway.h"
#include "grpcpp/grpcpp.h"

namespace {

volatile std::sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

bool Flag(const std::string& arg, const char* name, std::string* value) {
  std::string prefix = std::string("--") + name + "=";
  if (!absl::StartsWith(arg, prefix)) return false;
  *value = arg.substr(prefix.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  // absl::Mutex's deadlock detection (on in Debian's absl) takes a global
  // lock on every lock of every connection's upstream calls.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  std::string config_path = "gateway/envoy.yaml";
  std::string listen = "127.0.0.1:8080";
  std::string upstream = "127.0.0.1:50051";
  std::string descriptor_set;
  std::string io_threads;
  std::string tls_cert;
  std::string tls_key;
  std::string max_connections;
  std::string header_timeout;
  std::string idle_timeout;
  std::string body_timeout;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (Flag(arg, "config", &config_path) || Flag(arg, "listen", &listen) ||
        Flag(arg, "upstream", &upstream) ||
        Flag(arg, "descriptor_set", &descriptor_set) ||
        Flag(arg, "io_threads", &io_threads) ||
        Flag(arg, "tls_cert", &tls_cert) || Flag(arg, "tls_key", &tls_key) ||
        Flag(arg, "max_connections", &max_connections) ||
        Flag(arg, "header_timeout", &header_timeout) ||
        Flag(arg, "idle_timeout", &idle_timeout) ||
        Flag(arg, "body_timeout", &body_timeout)) {
      continue;
    }
    std::fprintf(stderr,
                 "usage: %s --config=envoy.yaml --listen=host:port "
                 "--upstream=host:port [--descriptor_set=file.pb] "
                 "[--io_threads=N] [--tls_cert=cert.pem --tls_key=key.pem] "
                 "[--max_connections=N] [--header_timeout=10s] "
                 "[--idle_timeout=60s] [--body_timeout=30s]\n",
                 argv[0]);
    return 2;
  }
  auto config = leadrelay::gateway::LoadGatewayConfig(config_path);
  if (!config.ok()) {
    std::fprintf(stderr, "%s\n", config.status().ToString().c_str());
    return 1;
  }
  if (!descriptor_set.empty()) {
    config->proto_descriptor = descriptor_set;
    config->proto_descriptor_bin.clear();
  }
  int threads;
  if (!io_threads.empty() && absl::SimpleAtoi(io_threads, &threads)) {
    config->io_threads = threads;
  }
  if (!max_connections.empty() &&
      !absl::SimpleAtoi(max_connections, &config->limits.max_connections)) {
    std::fprintf(stderr, "--max_connections: not a number\n");
    return 2;
  }
  for (auto [text, target] :
       {std::pair{&header_timeout, &config->limits.header_timeout},
        std::pair{&idle_timeout, &config->limits.idle_timeout},
        std::pair{&body_timeout, &config->limits.body_timeout}}) {
    if (!text->empty() && !absl::ParseDuration(*text, target)) {
      std::fprintf(stderr, "not a duration (e.g. 10s): %s\n", text->c_str());
      return 2;
    }
  }
  config->tls_cert_file = tls_cert;
  config->tls_key_file = tls_key;
  auto channel =
      grpc::CreateChannel(upstream, grpc::InsecureChannelCredentials());
  auto gateway = leadrelay::gateway::StartGateway(*config, channel, listen);
  if (!gateway.ok()) {
    std::fprintf(stderr, "%s\n", gateway.status().ToString().c_str());
    return 1;
  }
  std::printf("leadrelay-gateway: %s://127.0.0.1:%d -> %s\n",
              tls_cert.empty() ? "http" : "https", (*gateway)->port(),
              upstream.c_str());
  std::fflush(stdout);
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  sigset_t none;
  sigemptyset(&none);
  while (!g_stop) sigsuspend(&none);
  (*gateway)->Shutdown();
  return 0;
}
