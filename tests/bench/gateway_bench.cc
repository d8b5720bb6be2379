// leadrelay_gateway_bench: the REST gateway against direct gRPC.
//
// Drives GET /v1/leads/{id} and GET /v1/me over REST (HTTP/1.1 keep-alive,
// one blocking connection per thread) and LeadService.GetLead and
// AccountService.GetMe directly over gRPC (sync stubs) at the same
// concurrency, closed loop: each of --concurrency threads has one request in
// flight. Each case runs --warmup_seconds uncounted, then --seconds measured.
// Prints req/s and p50/p99 per case, then REST/gRPC throughput ratio and the
// p50 difference per call.
//
//   leadrelay_gateway_bench --http=127.0.0.1:8080 --grpc=127.0.0.1:50051
//       --api_key=lr_... [--concurrency=64 --seconds=10 --lead_id=...]
//
// Without --lead_id, one lead is created over gRPC (1 credit, ingest scope).
// Use an internal-plan key: other plans are rate limited.

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "http_client.h"
#include "leadrelay/v1/account.grpc.pb.h"
#include "leadrelay/v1/lead.grpc.pb.h"

ABSL_FLAG(std::string, http, "127.0.0.1:8080", "REST gateway host:port");
ABSL_FLAG(std::string, grpc, "127.0.0.1:50051", "leadrelay-server gRPC");
ABSL_FLAG(std::string, api_key, "", "API key (internal plan)");
ABSL_FLAG(int, concurrency, 64, "concurrent connections/callers per case");
ABSL_FLAG(int, seconds, 10, "measured seconds per case");
ABSL_FLAG(double, warmup_seconds, 1.0, "uncounted warm-up per case");
ABSL_FLAG(int, grpc_channels, 4,
          "gRPC channels (TCP connections) the callers share");
ABSL_FLAG(std::string, lead_id, "", "lead to fetch; created when empty");
ABSL_FLAG(std::string, calls, "lead,me", "which calls: lead, me or both");

namespace leadrelay::bench {
namespace {

using Clock = std::chrono::steady_clock;
using ::leadrelay::gateway::testing::HttpConnection;
using ::leadrelay::gateway::testing::HttpResponse;
using ::leadrelay::gateway::testing::RequestText;

// What one case measured.
struct CaseResult {
  std::string name;
  int64_t calls = 0;
  int64_t errors = 0;
  double seconds = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  std::string first_error;
  double rate() const { return seconds > 0 ? calls / seconds : 0; }
};

// One caller's loop body: makes one call, returns true on success (and an
// error description otherwise).
using CallFn = std::function<bool(std::string* error)>;
// Makes the per-thread caller for thread `index` (its connection, stub...).
using CallerFactory = std::function<CallFn(int index)>;

double Percentile(std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t index = static_cast<size_t>(p * (sorted.size() - 1) + 0.5);
  return sorted[std::min(index, sorted.size() - 1)];
}

// Runs `concurrency` threads of closed-loop calls: warm-up, then measured.
CaseResult RunCase(const std::string& name, const CallerFactory& factory,
                   int concurrency, double warmup_seconds, int seconds) {
  // 0: warm-up, 1: measuring, 2: stop.
  std::atomic<int> phase{0};
  std::vector<std::vector<double>> latencies(concurrency);
  std::vector<int64_t> errors(concurrency, 0);
  std::vector<std::string> first_errors(concurrency);
  std::vector<CallFn> callers;
  callers.reserve(concurrency);
  for (int i = 0; i < concurrency; ++i) callers.push_back(factory(i));

  std::vector<std::thread> threads;
  for (int i = 0; i < concurrency; ++i) {
    threads.emplace_back([&, i] {
      std::vector<double>& mine = latencies[i];
      mine.reserve(1 << 16);
      std::string error;
      int current;
      while ((current = phase.load(std::memory_order_relaxed)) != 2) {
        const Clock::time_point start = Clock::now();
        const bool ok = callers[i](&error);
        const double ms =
            std::chrono::duration<double, std::milli>(Clock::now() - start)
                .count();
        // A call counts when it started in the measured phase.
        if (current != 1) continue;
        if (ok) {
          mine.push_back(ms);
        } else {
          if (errors[i]++ == 0) first_errors[i] = error;
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(warmup_seconds));
  const Clock::time_point measure_start = Clock::now();
  phase.store(1);
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  phase.store(2);
  const Clock::time_point measure_end = Clock::now();
  for (std::thread& thread : threads) thread.join();

  CaseResult result;
  result.name = name;
  result.seconds =
      std::chrono::duration<double>(measure_end - measure_start).count();
  std::vector<double> all;
  for (int i = 0; i < concurrency; ++i) {
    all.insert(all.end(), latencies[i].begin(), latencies[i].end());
    result.errors += errors[i];
    if (result.first_error.empty()) result.first_error = first_errors[i];
  }
  std::sort(all.begin(), all.end());
  result.calls = static_cast<int64_t>(all.size());
  result.p50_ms = Percentile(all, 0.50);
  result.p99_ms = Percentile(all, 0.99);
  return result;
}

void PrintResult(const CaseResult& r) {
  std::printf(
      "  %-24s %9lld ok %6lld err  %9.0f req/s  p50 %7.3f ms  p99 %7.3f ms\n",
      r.name.c_str(), static_cast<long long>(r.calls),
      static_cast<long long>(r.errors), r.rate(), r.p50_ms, r.p99_ms);
  if (r.errors > 0) std::printf("    first error: %s\n", r.first_error.c_str());
  std::fflush(stdout);
}

void PrintComparison(const std::string& call, const CaseResult& rest,
                     const CaseResult& grpc) {
  const double ratio = grpc.rate() > 0 ? rest.rate() / grpc.rate() : 0;
  std::printf(
      "  %-18s REST/gRPC throughput %.2f (%.0f%%), p50 %+.3f ms, "
      "p99 %+.3f ms\n",
      call.c_str(), ratio, 100 * ratio, rest.p50_ms - grpc.p50_ms,
      rest.p99_ms - grpc.p99_ms);
}

// --- REST ------------------------------------------------------------------

int PortOf(const std::string& host_port) {
  std::vector<std::string> parts = absl::StrSplit(host_port, ':');
  int port = 0;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[1], &port)) {
    std::fprintf(stderr, "expected 127.0.0.1:PORT, got %s\n",
                 host_port.c_str());
    std::exit(2);
  }
  return port;
}

// One keep-alive connection per caller, reconnecting after a failure.
CallerFactory RestCaller(int port, const std::string& target,
                         const std::string& api_key) {
  const std::string request = RequestText(
      "GET", target, "", {absl::StrCat("Authorization: Bearer ", api_key)});
  return [port, request](int) -> CallFn {
    auto connection = std::make_shared<std::unique_ptr<HttpConnection>>(
        HttpConnection::Connect(port));
    return [port, request, connection](std::string* error) {
      std::unique_ptr<HttpConnection>& conn = *connection;
      if (conn == nullptr) conn = HttpConnection::Connect(port);
      if (conn == nullptr) {
        *error = "connect failed";
        return false;
      }
      std::optional<HttpResponse> response;
      if (conn->Send(request)) response = conn->Read();
      if (!response.has_value()) {
        conn.reset();
        *error = "connection lost";
        return false;
      }
      if (response->status != 200) {
        *error = absl::StrCat("HTTP ", response->status, ": ", response->body);
        return false;
      }
      return true;
    };
  };
}

// --- gRPC ------------------------------------------------------------------

std::vector<std::shared_ptr<grpc::Channel>> MakeChannels(
    const std::string& target, int count) {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < count; ++i) {
    grpc::ChannelArguments args;
    // Own subchannel pool and a distinct argument: one connection each.
    args.SetInt("leadrelay.gateway_bench_channel", i);
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    auto channel = grpc::CreateCustomChannel(
        target, grpc::InsecureChannelCredentials(), args);
    if (!channel->WaitForConnected(std::chrono::system_clock::now() +
                                   std::chrono::seconds(10))) {
      std::fprintf(stderr, "cannot connect to %s\n", target.c_str());
      std::exit(2);
    }
    channels.push_back(std::move(channel));
  }
  return channels;
}

void Authorize(grpc::ClientContext* context, const std::string& api_key) {
  context->AddMetadata("authorization", absl::StrCat("Bearer ", api_key));
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::seconds(10));
}

std::string Describe(const grpc::Status& status) {
  return absl::StrCat("gRPC ", status.error_code(), ": ",
                      status.error_message());
}

CallerFactory GrpcGetLeadCaller(
    const std::vector<std::shared_ptr<grpc::Channel>>& channels,
    const std::string& api_key, const std::string& lead_id) {
  return [&channels, api_key, lead_id](int index) -> CallFn {
    auto stub = std::shared_ptr<v1::LeadService::Stub>(
        v1::LeadService::NewStub(channels[index % channels.size()]));
    v1::GetLeadRequest request;
    request.set_id(lead_id);
    return [stub, request, api_key](std::string* error) {
      grpc::ClientContext context;
      Authorize(&context, api_key);
      v1::Lead lead;
      grpc::Status status = stub->GetLead(&context, request, &lead);
      if (!status.ok()) *error = Describe(status);
      return status.ok();
    };
  };
}

CallerFactory GrpcGetMeCaller(
    const std::vector<std::shared_ptr<grpc::Channel>>& channels,
    const std::string& api_key) {
  return [&channels, api_key](int index) -> CallFn {
    auto stub = std::shared_ptr<v1::AccountService::Stub>(
        v1::AccountService::NewStub(channels[index % channels.size()]));
    return [stub, api_key](std::string* error) {
      grpc::ClientContext context;
      Authorize(&context, api_key);
      v1::GetMeResponse me;
      grpc::Status status = stub->GetMe(&context, v1::GetMeRequest(), &me);
      if (!status.ok()) *error = Describe(status);
      return status.ok();
    };
  };
}

std::string CreateLead(const std::shared_ptr<grpc::Channel>& channel,
                       const std::string& api_key) {
  auto stub = v1::LeadService::NewStub(channel);
  grpc::ClientContext context;
  Authorize(&context, api_key);
  v1::CreateLeadRequest request;
  v1::Lead* lead = request.mutable_lead();
  lead->set_vertical("solar");
  lead->set_first_name("Bench");
  lead->set_last_name("Mark");
  lead->set_suburb("Sandton");
  lead->set_province("Gauteng");
  lead->set_phone("+27821234567");
  lead->set_email("bench@example.com");
  lead->set_score(85);
  lead->set_source("web_form");
  v1::Lead created;
  grpc::Status status = stub->CreateLead(&context, request, &created);
  if (!status.ok()) {
    std::fprintf(stderr, "CreateLead: %s\n", Describe(status).c_str());
    std::exit(2);
  }
  return created.id();
}

int Main() {
  const std::string api_key = absl::GetFlag(FLAGS_api_key);
  if (api_key.empty()) {
    std::fprintf(stderr, "--api_key is required\n");
    return 2;
  }
  const int concurrency = absl::GetFlag(FLAGS_concurrency);
  const int seconds = absl::GetFlag(FLAGS_seconds);
  const double warmup = absl::GetFlag(FLAGS_warmup_seconds);
  const int http_port = PortOf(absl::GetFlag(FLAGS_http));
  const std::vector<std::shared_ptr<grpc::Channel>> channels =
      MakeChannels(absl::GetFlag(FLAGS_grpc),
                   std::max(1, absl::GetFlag(FLAGS_grpc_channels)));
  std::string lead_id = absl::GetFlag(FLAGS_lead_id);
  if (lead_id.empty()) lead_id = CreateLead(channels[0], api_key);
  const std::string calls = absl::GetFlag(FLAGS_calls);

  std::printf(
      "== leadrelay gateway bench: concurrency %d (REST: %d keep-alive "
      "connections; gRPC: %d callers on %zu channels), %.1fs warm-up + %ds "
      "per case, %u hardware threads\n",
      concurrency, concurrency, concurrency, channels.size(), warmup, seconds,
      std::thread::hardware_concurrency());
  std::fflush(stdout);

  struct Pair {
    std::string call;
    CaseResult rest;
    CaseResult grpc;
  };
  std::vector<Pair> pairs;
  if (calls.find("lead") != std::string::npos) {
    Pair pair{"GetLead"};
    pair.rest = RunCase(
        "REST GET /v1/leads/{id}",
        RestCaller(http_port, absl::StrCat("/v1/leads/", lead_id), api_key),
        concurrency, warmup, seconds);
    PrintResult(pair.rest);
    pair.grpc =
        RunCase("gRPC GetLead", GrpcGetLeadCaller(channels, api_key, lead_id),
                concurrency, warmup, seconds);
    PrintResult(pair.grpc);
    pairs.push_back(std::move(pair));
  }
  if (calls.find("me") != std::string::npos) {
    Pair pair{"GetMe"};
    pair.rest =
        RunCase("REST GET /v1/me", RestCaller(http_port, "/v1/me", api_key),
                concurrency, warmup, seconds);
    PrintResult(pair.rest);
    pair.grpc = RunCase("gRPC GetMe", GrpcGetMeCaller(channels, api_key),
                        concurrency, warmup, seconds);
    PrintResult(pair.grpc);
    pairs.push_back(std::move(pair));
  }
  std::printf("== REST through the gateway vs direct gRPC\n");
  for (const Pair& pair : pairs)
    PrintComparison(pair.call, pair.rest, pair.grpc);
  bool any_errors = false;
  for (const Pair& pair : pairs) {
    any_errors = any_errors || pair.rest.errors > 0 || pair.grpc.errors > 0;
  }
  return any_errors ? 1 : 0;
}

}  // namespace
}  // namespace leadrelay::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "REST gateway vs direct gRPC: GetLead and GetMe throughput and "
      "latency. See the file comment.");
  absl::ParseCommandLine(argc, argv);
  absl::SetMutexDeadlockDetectionMode(
      absl::OnDeadlockCycle::kIgnore);  // see grpc_bench.cc
  return leadrelay::bench::Main();
}
