// leadrelay_listen_bench: event -> forward latency of `leadrelay listen`.
//
// Starts a local HTTP receiver, runs `leadrelay listen --forward-to` against
// it, publishes --events dm.sent events at --rate per second, and reports
// the time from each PublishEvent call returning (the event committed) to
// its forwarded POST arriving at the receiver: p50, p99, max.
//
//   leadrelay_listen_bench --target=127.0.0.1:50051 --api_key=lr_...
//       --cli=build/client/leadrelay --rate=100 --events=1000

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "delivery/http_receiver.h"
#include "delivery/test_crypto.h"
#include "leadrelay/client.h"
#include "support/process.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "leadrelay-server host:port");
ABSL_FLAG(std::string, api_key, "", "API key (ingest + read)");
ABSL_FLAG(std::string, cli, "build/client/leadrelay", "the leadrelay binary");
ABSL_FLAG(int, rate, 100, "events published per second");
ABSL_FLAG(int, events, 1000, "events to publish");

namespace leadrelay::bench {
namespace {

double Percentile(std::vector<double> sorted, double p) {
  if (sorted.empty()) return 0;
  std::sort(sorted.begin(), sorted.end());
  size_t index = static_cast<size_t>(p * (sorted.size() - 1) + 0.5);
  return sorted[std::min(index, sorted.size() - 1)];
}

int Main() {
  ClientOptions options;
  options.target = absl::GetFlag(FLAGS_target);
  options.api_key = absl::GetFlag(FLAGS_api_key);
  auto client = Client::Create(options);
  if (!client.ok()) return 2;
  auto receiver = dtest::HttpReceiver::Start();
  if (!receiver.ok()) return 2;
  auto dir = itest::TempDir::Create();
  if (!dir.ok()) return 2;

  // Start after a marker event so nothing published later can be missed.
  v1::PublishEventRequest marker;
  marker.set_type("dm.sent");
  marker.mutable_dm()->set_message("marker");
  auto first = (*client)->PublishEvent(marker);
  v1::ListEventsRequest list;
  list.set_limit(1000);
  std::string cursor;
  for (;;) {
    auto page = (*client)->ListEvents(list);
    if (!page.ok()) return 1;
    if (page->events().empty()) break;
    cursor = page->events(page->events_size() - 1).cursor();
    list.set_after(page->next_cursor());
  }
  const std::string log = absl::StrCat((*dir)->path(), "/listen.log");
  auto listen = itest::ChildProcess::Spawn(
      {absl::GetFlag(FLAGS_cli), "--grpc=" + options.target,
       "--api-key=" + options.api_key, "listen", "--forward-to",
       (*receiver)->Url("/hooks"), "--events", "dm.sent", "--after", cursor,
       "-o", "json"},
      log);
  if (!listen.ok() || !first.ok()) return 1;

  const int total = absl::GetFlag(FLAGS_events);
  const absl::Duration gap = absl::Seconds(1) / absl::GetFlag(FLAGS_rate);
  std::map<std::string, absl::Time> committed;
  absl::Time next = absl::Now();
  for (int i = 0; i < total; ++i) {
    absl::SleepFor(next - absl::Now());
    next += gap;
    v1::PublishEventRequest request;
    request.set_type("dm.sent");
    request.mutable_dm()->set_message(absl::StrCat("bench ", i));
    auto published = (*client)->PublishEvent(request);
    if (!published.ok()) {
      std::fprintf(stderr, "publish: %s\n",
                   std::string(published.status().message()).c_str());
      return 1;
    }
    committed[published->event().id()] = absl::Now();
  }
  if (!(*receiver)->WaitForRequests(total, absl::Seconds(60))) {
    std::fprintf(stderr, "only %zu of %d events forwarded\n",
                 (*receiver)->RequestCount(), total);
  }
  std::vector<double> latencies_ms;
  for (const dtest::ReceivedRequest& r : (*receiver)->Requests()) {
    auto body = dtest::ParseJsonObject(r.body);
    if (!body.ok()) continue;
    auto it = committed.find(body->fields().at("event_id").string_value());
    if (it == committed.end()) continue;
    latencies_ms.push_back(absl::ToDoubleMilliseconds(r.arrived - it->second));
  }
  (*listen)->Stop();
  std::printf(
      "listen --forward-to at %d events/s: forwarded=%zu/%d  p50=%.1f ms  "
      "p99=%.1f ms  max=%.1f ms (publish returned -> POST arrived)\n",
      absl::GetFlag(FLAGS_rate), latencies_ms.size(), total,
      Percentile(latencies_ms, 0.5), Percentile(latencies_ms, 0.99),
      Percentile(latencies_ms, 1.0));
  return latencies_ms.size() == static_cast<size_t>(total) ? 0 : 1;
}

}  // namespace
}  // namespace leadrelay::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return leadrelay::bench::Main();
}
