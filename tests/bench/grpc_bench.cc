// leadrelay_grpc_bench: closed-loop load against a running leadrelay-server.
//
// --concurrency callers each keep one call in flight over one of --channels
// channels, for --seconds after a warm-up that is not counted. Prints calls,
// throughput, latency percentiles and errors for CreateLead, GetLead and/or
// GetMe. The calls use gRPC's callback API: each next call starts from the
// completion of the previous one on gRPC's own threads, so the load
// generator, which shares the machine with the server and PostgreSQL, costs
// little CPU (as pgbench, with a few threads for all its clients, does).
//
//   leadrelay_grpc_bench --target=127.0.0.1:50051 --api_key=lr_...
//       --concurrency=32 --seconds=10 --method=both
//
// The key needs the ingest and read scopes, an unlimited (internal) plan and
// enough credits: every CreateLead costs one.

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "leadrelay/v1/account.grpc.pb.h"
#include "leadrelay/v1/lead.grpc.pb.h"
#include "leadrelay/v1/lead.pb.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "leadrelay-server host:port");
ABSL_FLAG(std::string, api_key, "", "API key (internal plan, ingest+read)");
ABSL_FLAG(int, concurrency, 32, "calls in flight at once");
ABSL_FLAG(int, seconds, 10, "measured duration per method");
ABSL_FLAG(double, warmup_seconds, 1.0, "uncounted warm-up per method");
ABSL_FLAG(std::string, method, "both",
          "comma-separated: create, get, getme; both = create,get");
ABSL_FLAG(int, channels, 4, "gRPC channels (TCP connections) to spread over");
ABSL_FLAG(int, seed_leads, 200, "leads created before the GetLead run");
ABSL_FLAG(int, deadline_ms, 10000, "per-call deadline");

namespace leadrelay::bench {
namespace {

// Latencies are measured on the steady clock; gRPC deadlines take the system
// clock.
using Clock = std::chrono::steady_clock;
using v1::AccountService;
using v1::LeadService;

// ------------------------------------------------------------------ channels

struct Stubs {
  std::unique_ptr<LeadService::Stub> leads;
  std::unique_ptr<AccountService::Stub> accounts;
};

std::vector<Stubs> MakeStubs(const std::string& target, int count) {
  std::vector<Stubs> stubs;
  for (int i = 0; i < count; ++i) {
    grpc::ChannelArguments args;
    // A distinct argument set plus a local subchannel pool: each channel gets
    // its own connection instead of sharing one global subchannel.
    args.SetInt("leadrelay.bench_channel", i);
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    auto channel = grpc::CreateCustomChannel(
        target, grpc::InsecureChannelCredentials(), args);
    if (!channel->WaitForConnected(std::chrono::system_clock::now() +
                                   std::chrono::seconds(10))) {
      std::fprintf(stderr, "cannot connect to %s\n", target.c_str());
      std::exit(2);
    }
    stubs.push_back(
        {LeadService::NewStub(channel), AccountService::NewStub(channel)});
  }
  return stubs;
}

void PrepareContext(grpc::ClientContext& ctx, const std::string& api_key) {
  ctx.AddMetadata("authorization", "Bearer " + api_key);
  ctx.set_deadline(std::chrono::system_clock::now() +
                   std::chrono::milliseconds(absl::GetFlag(FLAGS_deadline_ms)));
}

// -------------------------------------------------------------------- calls

// This process's mark on the external ids it makes: a second run against
// the same database must create leads, not replay the first run's (an
// existing external_id is answered without a write).
const std::string& RunId() {
  static const std::string* const kRunId =
      new std::string(absl::StrFormat("%08x", std::random_device{}()));
  return *kRunId;
}

// A plausible lead; `n` keeps phone numbers and external ids distinct.
v1::CreateLeadRequest NewLeadRequest(uint64_t n, std::mt19937_64& rng) {
  static constexpr const char* kVerticals[] = {"solar", "insurance",
                                               "financial", "property", "b2b"};
  static constexpr const char* kSuburbs[] = {"Sea Point", "Sandton", "Umhlanga",
                                             "Hatfield"};
  v1::CreateLeadRequest request;
  v1::Lead* lead = request.mutable_lead();
  lead->set_vertical(kVerticals[rng() % 5]);
  lead->set_first_name("Bench");
  lead->set_last_name(absl::StrCat("Lead", n));
  lead->set_suburb(kSuburbs[rng() % 4]);
  lead->set_province("Western Cape");
  lead->set_score(static_cast<int>(rng() % 101));
  lead->set_phone(absl::StrFormat("+2782%07d", n % 10000000));
  lead->set_email(absl::StrCat("bench", n, "@example.com"));
  lead->set_source("grpc_bench");
  lead->set_external_id(absl::StrCat("bench-", RunId(), "-", n));
  return request;
}

// One caller's view of a run.
struct CallerStats {
  std::vector<uint32_t> latencies_us;  // successful and failed, after warm-up
  std::map<grpc::StatusCode, int64_t> errors;
  std::string first_error;
};

// One caller of a closed loop: its figures and its next call's start.
struct Caller {
  int index = 0;
  std::mt19937_64 rng;
  CallerStats stats;
  Clock::time_point started;
};

// Runs a closed loop of `concurrency` callers: `start(caller, done)` starts
// one asynchronous call and has `done(status)` called when it ends; the
// caller's next call starts from there until the run ends. Returns the
// figures of the measured part.
template <typename Start>
std::vector<CallerStats> RunClosedLoop(int concurrency, double warmup_s,
                                       int seconds, const Start& start) {
  const Clock::time_point begin = Clock::now();
  const Clock::time_point measure_from =
      begin + std::chrono::microseconds(static_cast<int64_t>(warmup_s * 1e6));
  const Clock::time_point end = measure_from + std::chrono::seconds(seconds);
  std::vector<Caller> callers(concurrency);
  absl::Mutex mu;
  int running = concurrency;

  std::function<void(Caller&)> next = [&](Caller& caller) {
    caller.started = Clock::now();
    if (caller.started >= end) {
      absl::MutexLock lock(&mu);
      --running;
      return;
    }
    start(caller, [&next, &caller, measure_from, end](grpc::Status status) {
      const Clock::time_point after = Clock::now();
      if (caller.started >= measure_from && after <= end) {
        CallerStats& mine = caller.stats;
        mine.latencies_us.push_back(static_cast<uint32_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(
                after - caller.started)
                .count()));
        if (!status.ok()) {
          ++mine.errors[status.error_code()];
          if (mine.first_error.empty()) {
            mine.first_error = status.error_message();
          }
        }
      }
      next(caller);
    });
  };
  for (int t = 0; t < concurrency; ++t) {
    callers[t].index = t;
    callers[t].rng.seed(0x1ead5eed + t);
    callers[t].stats.latencies_us.reserve(1 << 16);
  }
  for (Caller& caller : callers) next(caller);
  {
    absl::MutexLock lock(&mu);
    mu.Await(absl::Condition(
        +[](int* n) { return *n == 0; }, &running));
  }
  std::vector<CallerStats> stats;
  for (Caller& caller : callers) stats.push_back(std::move(caller.stats));
  return stats;
}

// Per caller, the storage of its call in flight. A call's context may not
// be destroyed from inside its own completion, so each caller alternates
// between two slots: starting call n frees the slot of call n - 2.
template <typename Call>
class CallSlots {
 public:
  explicit CallSlots(int callers) : slots_(2 * callers), turns_(callers) {}
  Call& Fresh(int caller) {
    std::unique_ptr<Call>& slot = slots_[2 * caller + (turns_[caller]++ & 1)];
    slot = std::make_unique<Call>();
    return *slot;
  }

 private:
  std::vector<std::unique_ptr<Call>> slots_;
  std::vector<uint64_t> turns_;
};

template <typename Request, typename Reply>
struct UnaryCall {
  grpc::ClientContext ctx;
  Request request;
  Reply reply;
};

double Percentile(const std::vector<uint32_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t index = static_cast<size_t>(p * (sorted.size() - 1) + 0.5);
  return sorted[std::min(index, sorted.size() - 1)] / 1000.0;
}

void Report(const std::string& name, const std::vector<CallerStats>& stats,
            int seconds) {
  std::vector<uint32_t> all;
  std::map<grpc::StatusCode, int64_t> errors;
  std::string first_error;
  int64_t error_count = 0;
  for (const CallerStats& s : stats) {
    all.insert(all.end(), s.latencies_us.begin(), s.latencies_us.end());
    for (const auto& [code, n] : s.errors) {
      errors[code] += n;
      error_count += n;
    }
    if (first_error.empty()) first_error = s.first_error;
  }
  std::sort(all.begin(), all.end());
  std::printf(
      "%-10s calls=%-8zu throughput=%9.1f/s  p50=%7.2f ms  "
      "p99=%7.2f ms  max=%7.2f ms  errors=%lld\n",
      name.c_str(), all.size(), static_cast<double>(all.size()) / seconds,
      Percentile(all, 0.50), Percentile(all, 0.99),
      all.empty() ? 0.0 : all.back() / 1000.0,
      static_cast<long long>(error_count));
  for (const auto& [code, n] : errors) {
    std::printf("           error code %d: %lld\n", static_cast<int>(code),
                static_cast<long long>(n));
  }
  if (!first_error.empty()) {
    std::printf("           first error: %s\n", first_error.c_str());
  }
  std::fflush(stdout);
}

// ------------------------------------------------------------------- phases

struct Setup {
  std::string api_key;
  int concurrency;
  int seconds;
  double warmup_s;
  std::vector<Stubs>* stubs;
};

LeadService::Stub& StubFor(const Setup& setup, int thread) {
  return *(*setup.stubs)[thread % setup.stubs->size()].leads;
}

AccountService::Stub& AccountStubFor(const Setup& setup, int thread) {
  return *(*setup.stubs)[thread % setup.stubs->size()].accounts;
}

void BenchCreate(const Setup& setup) {
  std::atomic<uint64_t> counter{0};
  CallSlots<UnaryCall<v1::CreateLeadRequest, v1::Lead>> calls(
      setup.concurrency);
  auto stats = RunClosedLoop(
      setup.concurrency, setup.warmup_s, setup.seconds,
      [&](Caller& caller, std::function<void(grpc::Status)> done) {
        auto& call = calls.Fresh(caller.index);
        call.request = NewLeadRequest(counter++, caller.rng);
        PrepareContext(call.ctx, setup.api_key);
        StubFor(setup, caller.index)
            .async()
            ->CreateLead(&call.ctx, &call.request, &call.reply,
                         std::move(done));
      });
  Report("CreateLead", stats, setup.seconds);
}

// Creates `count` leads and returns their ids.
std::vector<std::string> SeedLeads(const Setup& setup, int count) {
  std::vector<std::string> ids;
  std::mt19937_64 rng(7);
  for (int i = 0; i < count; ++i) {
    v1::Lead reply;
    grpc::ClientContext ctx;
    PrepareContext(ctx, setup.api_key);
    grpc::Status status = StubFor(setup, i).CreateLead(
        &ctx, NewLeadRequest(1000000000ULL + i, rng), &reply);
    if (!status.ok()) {
      std::fprintf(stderr, "seeding lead %d failed: %d %s\n", i,
                   static_cast<int>(status.error_code()),
                   status.error_message().c_str());
      std::exit(1);
    }
    ids.push_back(reply.id());
  }
  return ids;
}

void BenchGet(const Setup& setup) {
  const std::vector<std::string> ids =
      SeedLeads(setup, std::max(1, absl::GetFlag(FLAGS_seed_leads)));
  CallSlots<UnaryCall<v1::GetLeadRequest, v1::Lead>> calls(setup.concurrency);
  auto stats = RunClosedLoop(
      setup.concurrency, setup.warmup_s, setup.seconds,
      [&](Caller& caller, std::function<void(grpc::Status)> done) {
        auto& call = calls.Fresh(caller.index);
        call.request.set_id(ids[caller.rng() % ids.size()]);
        PrepareContext(call.ctx, setup.api_key);
        StubFor(setup, caller.index)
            .async()
            ->GetLead(&call.ctx, &call.request, &call.reply, std::move(done));
      });
  Report("GetLead", stats, setup.seconds);
}

void BenchGetMe(const Setup& setup) {
  CallSlots<UnaryCall<v1::GetMeRequest, v1::GetMeResponse>> calls(
      setup.concurrency);
  auto stats = RunClosedLoop(
      setup.concurrency, setup.warmup_s, setup.seconds,
      [&](Caller& caller, std::function<void(grpc::Status)> done) {
        auto& call = calls.Fresh(caller.index);
        PrepareContext(call.ctx, setup.api_key);
        AccountStubFor(setup, caller.index)
            .async()
            ->GetMe(&call.ctx, &call.request, &call.reply, std::move(done));
      });
  Report("GetMe", stats, setup.seconds);
}

int Main() {
  std::string method = absl::GetFlag(FLAGS_method);
  if (method == "both") method = "create,get";
  std::vector<std::string> methods = absl::StrSplit(method, ',');
  for (const std::string& m : methods) {
    if (m != "create" && m != "get" && m != "getme") {
      std::fprintf(stderr, "--method: create, get, getme or both\n");
      return 2;
    }
  }
  Setup setup;
  setup.api_key = absl::GetFlag(FLAGS_api_key);
  setup.concurrency = std::max(1, absl::GetFlag(FLAGS_concurrency));
  setup.seconds = std::max(1, absl::GetFlag(FLAGS_seconds));
  setup.warmup_s = std::max(0.0, absl::GetFlag(FLAGS_warmup_seconds));
  if (setup.api_key.empty()) {
    std::fprintf(stderr, "--api_key is required\n");
    return 2;
  }
  auto stubs = MakeStubs(absl::GetFlag(FLAGS_target),
                         std::max(1, absl::GetFlag(FLAGS_channels)));
  setup.stubs = &stubs;
  std::printf("target=%s concurrency=%d channels=%zu seconds=%d warmup=%.1fs\n",
              absl::GetFlag(FLAGS_target).c_str(), setup.concurrency,
              stubs.size(), setup.seconds, setup.warmup_s);
  std::fflush(stdout);
  for (const std::string& m : methods) {
    if (m == "create") BenchCreate(setup);
    if (m == "get") BenchGet(setup);
    if (m == "getme") BenchGetMe(setup);
  }
  return 0;
}

}  // namespace
}  // namespace leadrelay::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Load-tests CreateLead/GetLead of a running leadrelay-server.\n"
      "  leadrelay_grpc_bench --target=HOST:PORT --api_key=KEY "
      "[--concurrency=32 --seconds=10 --method=create,get,getme]");
  absl::ParseCommandLine(argc, argv);
  // As in the server: this absl build checks every lock order under a
  // global lock, CPU the client would take from the server on this box.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  return leadrelay::bench::Main();
}
