// Webhook delivery benchmark: publishes events at a fixed rate to a running
// leadrelay-server whose account has several webhooks pointing at a local
// receiver, then prints sustained deliveries/s and the latency from commit
// (PublishEvent returned) to the first attempt arriving at the receiver.
//
//   leadrelay_delivery_bench --target=127.0.0.1:50051
//       --api_keys=lr_...,lr_... --rate=500 --webhooks=1 --seconds=10
//
// The server must allow 127.0.0.1 as a webhook host and run the dispatcher.
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/http_sink.h"
#include "grpcpp/grpcpp.h"
#include "leadrelay/v1/event.grpc.pb.h"
#include "leadrelay/v1/webhook.grpc.pb.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "leadrelay-server");
ABSL_FLAG(std::vector<std::string>, api_keys, {},
          "keys of accounts on the internal plan; events are spread over "
          "them (one account's appends commit one at a time)");
ABSL_FLAG(int, rate, 500, "events published per second");
ABSL_FLAG(int, webhooks, 1, "webhooks subscribed to every event (max 5)");
ABSL_FLAG(int, seconds, 10, "how long to publish");
ABSL_FLAG(int, endpoint_delay_ms, 0,
          "how long the webhook endpoint takes to answer each request");
ABSL_FLAG(int, publishers, 8, "publishing threads");
ABSL_FLAG(std::string, after_publish, "",
          "drain mode: a shell command run once everything is published "
          "(e.g. start a dispatching server); deliveries/s is then measured "
          "from that moment to the last arrival");

namespace {

using leadrelay::bench::Arrival;
using leadrelay::bench::HttpSink;
namespace v1 = leadrelay::v1;

// User + system CPU of this process so far.
absl::Duration OwnCpu() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return absl::DurationFromTimeval(usage.ru_utime) +
         absl::DurationFromTimeval(usage.ru_stime);
}

void Authorize(grpc::ClientContext* context, const std::string& key) {
  context->AddMetadata("authorization", "Bearer " + key);
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::seconds(30));
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = std::min(v.size() - 1, static_cast<size_t>(p * v.size()));
  return v[i];
}

int Run() {
  auto receiver = HttpSink::Start(
      absl::Milliseconds(absl::GetFlag(FLAGS_endpoint_delay_ms)));
  if (!receiver.ok()) {
    std::fprintf(stderr, "receiver: %s\n",
                 std::string(receiver.status().message()).c_str());
    return 1;
  }
  auto channel = grpc::CreateChannel(absl::GetFlag(FLAGS_target),
                                     grpc::InsecureChannelCredentials());
  auto webhooks = v1::WebhookService::NewStub(channel);
  const std::vector<std::string> keys = absl::GetFlag(FLAGS_api_keys);
  if (keys.empty()) {
    std::fprintf(stderr, "--api_keys is required\n");
    return 2;
  }
  std::vector<std::string> hook_ids;
  for (const std::string& key : keys)
    for (int i = 0; i < absl::GetFlag(FLAGS_webhooks); ++i) {
      grpc::ClientContext context;
      Authorize(&context, key);
      v1::CreateWebhookRequest request;
      request.set_url((*receiver)->Url(absl::StrCat("/hook", i)));
      request.add_events("stats.updated");
      v1::CreateWebhookResponse response;
      grpc::Status status =
          webhooks->CreateWebhook(&context, request, &response);
      if (!status.ok()) {
        std::fprintf(stderr, "CreateWebhook: %s\n",
                     status.error_message().c_str());
        return 1;
      }
      hook_ids.push_back(response.webhook_id());
    }

  const int rate = absl::GetFlag(FLAGS_rate);
  const int publishers = absl::GetFlag(FLAGS_publishers);
  const absl::Duration run = absl::Seconds(absl::GetFlag(FLAGS_seconds));
  std::mutex mu;
  std::map<std::string, absl::Time> committed;  // event id -> publish return
  std::atomic<int> errors{0};
  absl::Time start = absl::Now();
  std::vector<std::thread> threads;
  for (int p = 0; p < publishers; ++p) {
    threads.emplace_back([&, p] {
      auto events = v1::EventService::NewStub(grpc::CreateCustomChannel(
          absl::GetFlag(FLAGS_target), grpc::InsecureChannelCredentials(), [p] {
            grpc::ChannelArguments args;
            args.SetInt("leadrelay.bench.channel", p);
            return args;
          }()));
      absl::Duration interval = absl::Seconds(1) * publishers / rate;
      absl::Time next = start + interval * p / publishers;
      for (int n = 0; next < start + run; ++n, next += interval) {
        absl::SleepFor(next - absl::Now());  // open-loop pacing
        grpc::ClientContext context;
        Authorize(&context, keys[(p + n * publishers) % keys.size()]);
        v1::PublishEventRequest request;
        request.set_type("stats.updated");
        request.mutable_stats()->set_platform("bench");
        request.mutable_stats()->set_follower_count(n);
        v1::PublishEventResponse response;
        grpc::Status status =
            events->PublishEvent(&context, request, &response);
        absl::Time done = absl::Now();
        if (!status.ok()) {
          ++errors;
          continue;
        }
        std::lock_guard<std::mutex> lock(mu);
        committed[response.event().id()] = done;
      }
    });
  }
  for (auto& t : threads) t.join();
  absl::Time published = absl::Now();
  absl::Time measure_from = start;
  absl::Duration cpu_before;
  if (std::string cmd = absl::GetFlag(FLAGS_after_publish); !cmd.empty()) {
    if (std::system(cmd.c_str()) != 0) {
      std::fprintf(stderr, "--after_publish command failed\n");
      return 1;
    }
    measure_from = absl::Now();
    cpu_before = OwnCpu();
  }
  size_t expected = committed.size() * hook_ids.size() / keys.size();
  bool all = (*receiver)->WaitForArrivals(expected, absl::Seconds(120));

  std::vector<Arrival> requests = (*receiver)->Arrivals();
  std::map<std::string, absl::Time> first_attempt;  // delivery id -> arrival
  std::map<std::string, std::string> event_of;
  absl::Time last = start;
  for (const Arrival& r : requests) {
    auto [it, inserted] = first_attempt.emplace(r.delivery_id, r.at);
    if (inserted) event_of[r.delivery_id] = r.event_id;
    last = std::max(last, r.at);
  }
  std::vector<double> latency_ms;
  for (const auto& [delivery, arrived] : first_attempt) {
    auto it = committed.find(event_of[delivery]);
    if (it == committed.end()) continue;
    latency_ms.push_back(absl::ToDoubleMilliseconds(arrived - it->second));
  }
  double seconds = absl::ToDoubleSeconds(last - measure_from);
  std::printf(
      "rate=%d events/s accounts=%zu webhooks=%zu seconds=%.1f "
      "publish_errors=%d\n"
      "events=%zu deliveries expected=%zu received=%zu (first attempts %zu)%s\n"
      "sustained deliveries/s=%.0f (%s to last arrival; "
      "publishing took %.1f s)\n"
      "commit->first attempt%s: p50=%.1f ms p99=%.1f ms max=%.1f ms\n",
      rate, keys.size(), hook_ids.size(), absl::ToDoubleSeconds(run),
      errors.load(), committed.size(), expected, requests.size(),
      first_attempt.size(), all ? "" : " (timed out waiting)",
      first_attempt.size() / seconds,
      measure_from == start ? "first publish" : "dispatcher start",
      absl::ToDoubleSeconds(published - start),
      measure_from == start ? "" : " (includes the wait for the dispatcher)",
      Percentile(latency_ms, 0.50), Percentile(latency_ms, 0.99),
      Percentile(latency_ms, 1.0));
  if (measure_from != start) {
    // This process is the receiver then: its CPU is the endpoints' share.
    std::printf("receiver cpu=%.0f%% (100%% = one core) us/delivery=%.1f\n",
                100 * absl::ToDoubleSeconds(OwnCpu() - cpu_before) / seconds,
                absl::ToDoubleMicroseconds(OwnCpu() - cpu_before) /
                    std::max<size_t>(1, first_attempt.size()));
  }
  return all ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  absl::SetMutexDeadlockDetectionMode(
      absl::OnDeadlockCycle::kIgnore);  // see grpc_bench.cc
  return Run();
}
