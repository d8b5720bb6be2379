// listen --forward-to URL: like `stripe listen`. Follows the live stream and
// POSTs every event to a local URL with the body and both signature header
// sets a real delivery carries, signed with a secret printed at start.
#include <cstdio>
#include <iostream>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "cli_context.h"
#include "http_forwarder.h"
#include "leadrelay/subscription.h"
#include "leadrelay/webhook_payload.h"
#include "leadrelay/webhook_signature.h"
#include "output.h"

namespace leadrelay::cli {
namespace {

struct ListenFlags {
  std::string forward_to;
  std::vector<std::string> events;
  std::string secret;
  std::string after;
  double timeout_seconds = 10;
};

std::string NewDeliveryId() {
  thread_local absl::BitGen gen;
  std::string id = "dlv_";
  for (int i = 0; i < 24; ++i) {
    id += "0123456789abcdef"[absl::Uniform(gen, 0, 16)];
  }
  return id;
}

int RunListen(CliContext& ctx, const ListenFlags& flags) {
  int rc = kExitOk;
  Client* client = ctx.client(&rc);
  if (client == nullptr) return rc;
  const std::string secret =
      flags.secret.empty() ? webhooks::NewSecret() : flags.secret;
  HttpForwarder forwarder(flags.forward_to,
                          absl::Seconds(flags.timeout_seconds));
  const bool json = ctx.json();
  SubscriptionOptions options;
  for (const auto& e : flags.events) options.request.add_types(e);
  options.request.set_after(flags.after);
  options.on_reconnect = [](const absl::Status& error, absl::Duration wait) {
    std::cerr << "stream lost (" << DescribeError(error)
              << "); reconnecting in " << absl::FormatDuration(wait)
              << std::endl;
  };
  auto on_event = [&](const v1::Event& event) {
    const std::string delivery_id = NewDeliveryId();
    absl::StatusOr<std::string> body =
        webhooks::DeliveryBody(event, delivery_id);
    if (!body.ok()) {
      std::cerr << "error: cannot encode " << event.id() << ": "
                << body.status().message() << std::endl;
      return;
    }
    auto headers =
        webhooks::SignDelivery({secret}, delivery_id, event.type(),
                               absl::ToUnixSeconds(absl::Now()), *body);
    ForwardResult result = forwarder.Post(headers, *body);
    const std::string when =
        absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::Now(), absl::UTCTimeZone());
    const double ms = absl::ToDoubleMilliseconds(result.latency);
    if (json) {
      std::cout << absl::StrFormat(
                       "{\"time\":\"%s\",\"event\":\"%s\",\"event_id\":\"%s\","
                       "\"delivery_id\":\"%s\",\"status\":%d,\"error\":\"%s\","
                       "\"latency_ms\":%.1f}",
                       when, event.type(), event.id(), delivery_id,
                       result.http_status, result.error, ms)
                << std::endl;
    } else if (result.http_status != 0) {
      std::cout << absl::StrFormat("%s  %-20s %s  -> %d (%.0f ms)", when,
                                   event.type(), event.id(), result.http_status,
                                   ms)
                << std::endl;
    } else {
      std::cout << absl::StrFormat("%s  %-20s %s  -> error: %s", when,
                                   event.type(), event.id(), result.error)
                << std::endl;
    }
  };
  CatchInterrupts();
  auto sub = Subscription::Start(*client, std::move(options), on_event);
  if (!sub.ok()) return UsageError(std::string(sub.status().message()));
  // Printed once the subscription is under way: a script may wait for it.
  std::cout << "Ready. Forwarding events to " << flags.forward_to
            << "; webhook signing secret: " << secret << " (Ctrl-C to stop)"
            << std::endl;
  std::optional<absl::Status> ended;
  while (!Interrupted() &&
         !(ended = (*sub)->WaitFor(absl::Milliseconds(200))).has_value()) {
  }
  (*sub)->Stop();
  if (ended.has_value() && !ended->ok()) return ApiError(*ended);
  return kExitOk;
}

}  // namespace

void AddListenCommand(CLI::App& app, CliContext& ctx, int* rc) {
  static ListenFlags flags;
  CLI::App* listen = app.add_subcommand(
      "listen",
      "forward live events to a local URL, signed like real deliveries");
  listen
      ->add_option("--forward-to", flags.forward_to,
                   "e.g. http://localhost:3000/hooks")
      ->required();
  listen
      ->add_option("--events", flags.events,
                   "event types, comma-separated (default: all)")
      ->delimiter(',');
  listen->add_option("--secret", flags.secret,
                     "signing secret to use (default: a new whsec_...)");
  listen->add_option("--after", flags.after,
                     "start after this cursor instead of now");
  listen->add_option("--forward-timeout", flags.timeout_seconds,
                     "seconds to wait for the local app");
  listen->callback([&ctx, rc] { *rc = RunListen(ctx, flags); });
}

}  // namespace leadrelay::cli
