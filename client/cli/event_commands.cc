// events list|types|publish|tail.
#include <iostream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cli_context.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "leadrelay/subscription.h"
#include "leadrelay/webhook_payload.h"
#include "output.h"

namespace leadrelay::cli {
namespace {

// The PublishEventRequest field that carries a payload of `type`.
std::string PayloadFieldFor(const std::string& type) {
  if (type == "lead.enriched") return "lead_enriched";
  if (absl::StartsWith(type, "lead.")) return "lead";
  if (absl::StartsWith(type, "stats.")) return "stats";
  if (absl::StartsWith(type, "follower.")) return "follower";
  if (absl::StartsWith(type, "dm.")) return "dm";
  if (absl::StartsWith(type, "job.")) return "job";
  if (absl::StartsWith(type, "connection.")) return "connection";
  return "";
}

struct TailFlags {
  std::vector<std::string> types, verticals, score_tiers, suburbs, provinces;
  std::string since, after, checkpoint;
};

// One line for a person: time, type, id, and the payload.
std::string HumanLine(const v1::Event& event) {
  google::protobuf::Timestamp created = event.created_at();
  created.set_nanos(0);
  absl::StatusOr<std::string> data = webhooks::EventDataJson(event);
  return absl::StrCat(google::protobuf::util::TimeUtil::ToString(created), "  ",
                      event.type(), "  ", event.id(), "  ",
                      data.ok() ? *data : "");
}

int RunTail(CliContext& ctx, const TailFlags& flags) {
  int rc = kExitOk;
  Client* client = ctx.client(&rc);
  if (client == nullptr) return rc;
  SubscriptionOptions options;
  for (const auto& t : flags.types) options.request.add_types(t);
  for (const auto& v : flags.verticals) options.request.add_verticals(v);
  for (const auto& s : flags.score_tiers) options.request.add_score_tiers(s);
  for (const auto& s : flags.suburbs) options.request.add_suburbs(s);
  for (const auto& p : flags.provinces) options.request.add_provinces(p);
  options.request.set_after(flags.after);
  if (!flags.since.empty()) {
    absl::StatusOr<absl::Time> since = ParseTimeFlag(flags.since);
    if (!since.ok()) return UsageError(std::string(since.status().message()));
    *options.request.mutable_since() =
        google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(
            absl::ToUnixMicros(*since));
  }
  options.checkpoint_file = flags.checkpoint;
  options.on_reconnect = [](const absl::Status& error, absl::Duration wait) {
    std::cerr << "connection lost (" << DescribeError(error)
              << "); reconnecting in " << absl::FormatDuration(wait)
              << std::endl;
  };
  const bool json = ctx.json();
  CatchInterrupts();
  auto sub = Subscription::Start(
      *client, std::move(options), [json](const v1::Event& event) {
        std::cout << (json ? ToJson(event) : HumanLine(event)) << std::endl;
      });
  if (!sub.ok()) return UsageError(std::string(sub.status().message()));
  std::optional<absl::Status> ended;
  while (!Interrupted() &&
         !(ended = (*sub)->WaitFor(absl::Milliseconds(200))).has_value()) {
  }
  (*sub)->Stop();
  const std::string cursor = (*sub)->cursor();
  if (!cursor.empty()) {
    std::cerr << "resume with: leadrelay events tail --after " << cursor
              << std::endl;
  }
  if (ended.has_value() && !ended->ok()) return ApiError(*ended);
  return kExitOk;
}

}  // namespace

void AddEventCommands(CLI::App& app, CliContext& ctx, int* rc) {
  CLI::App* events = app.add_subcommand("events", "the event log and stream");
  events->require_subcommand(1);

  static v1::ListEventsRequest list_req;
  static std::vector<std::string> list_types;
  static int limit = 0;
  CLI::App* list = events->add_subcommand("list", "past events, oldest first");
  list->add_option("--types", list_types, "comma-separated")->delimiter(',');
  list->add_option("--after", *list_req.mutable_after(), "a cursor");
  list->add_option("--limit", limit);
  list->callback([&ctx, rc] {
    for (const auto& t : list_types) list_req.add_types(t);
    list_req.set_limit(limit);
    Client* client = ctx.client(rc);
    if (client == nullptr) return;
    auto page = client->ListEvents(list_req);
    *rc = page.ok() ? kExitOk : ApiError(page.status());
    if (page.ok()) {
      PrintList(ctx, *page, "events",
                {{"ID", "id"}, {"TYPE", "type"}, {"CREATED", "created_at"}},
                page->next_cursor().empty()
                    ? ""
                    : absl::StrCat("next page: --after ", page->next_cursor()));
    }
  });

  events->add_subcommand("types", "every event type")->callback([&ctx, rc] {
    Client* client = ctx.client(rc);
    if (client == nullptr) return;
    auto types = client->ListEventTypes();
    *rc = types.ok() ? kExitOk : ApiError(types.status());
    if (!types.ok()) return;
    if (ctx.json()) {
      std::cout << ToJson(*types) << std::endl;
    } else {
      for (const std::string& t : types->types()) std::cout << t << "\n";
      std::cout << std::flush;
    }
  });

  static std::string publish_type, publish_data, publish_json;
  CLI::App* publish =
      events->add_subcommand("publish", "publish an event (ingest scope)");
  publish->add_option("type", publish_type, "event type, e.g. dm.sent");
  publish->add_option("--data", publish_data,
                      "the payload as JSON (its message depends on the type)");
  publish->add_option("--json", publish_json,
                      "the whole PublishEventRequest as JSON");
  publish->callback([&ctx, rc] {
    v1::PublishEventRequest request;
    if (!publish_json.empty()) {
      auto parsed =
          google::protobuf::util::JsonStringToMessage(publish_json, &request);
      if (!parsed.ok()) {
        *rc =
            UsageError(absl::StrCat("--json: ", parsed.message().as_string()));
        return;
      }
    }
    if (!publish_type.empty()) request.set_type(publish_type);
    if (request.type().empty()) {
      *rc = UsageError("give an event type (or --json with \"type\")");
      return;
    }
    if (!publish_data.empty()) {
      const std::string field = PayloadFieldFor(request.type());
      const auto* descriptor =
          v1::PublishEventRequest::descriptor()->FindFieldByName(field);
      if (descriptor == nullptr) {
        *rc = UsageError(
            absl::StrCat("events of type ", request.type(), " take no --data"));
        return;
      }
      auto* payload =
          request.GetReflection()->MutableMessage(&request, descriptor);
      auto parsed =
          google::protobuf::util::JsonStringToMessage(publish_data, payload);
      if (!parsed.ok()) {
        *rc =
            UsageError(absl::StrCat("--data: ", parsed.message().as_string()));
        return;
      }
    }
    Client* client = ctx.client(rc);
    if (client == nullptr) return;
    auto published = client->PublishEvent(request);
    *rc = published.ok() ? kExitOk : ApiError(published.status());
    if (published.ok()) PrintObject(ctx, *published);
  });

  static TailFlags tail_flags;
  CLI::App* tail = events->add_subcommand(
      "tail",
      "follow the live stream; reconnects by itself; Ctrl-C prints the "
      "cursor to resume from");
  tail->add_option("--types", tail_flags.types, "comma-separated")
      ->delimiter(',');
  tail->add_option("--verticals", tail_flags.verticals, "lead events only")
      ->delimiter(',');
  tail->add_option("--score-tiers", tail_flags.score_tiers, "lead events only")
      ->delimiter(',');
  tail->add_option("--suburbs", tail_flags.suburbs, "lead events only")
      ->delimiter(',');
  tail->add_option("--provinces", tail_flags.provinces, "lead events only")
      ->delimiter(',');
  auto* since = tail->add_option("--since", tail_flags.since,
                                 "replay from this RFC 3339 time or duration "
                                 "ago, then follow");
  tail->add_option("--after", tail_flags.after, "continue after this cursor")
      ->excludes(since);
  tail->add_option("--checkpoint", tail_flags.checkpoint,
                   "file that keeps the cursor: a restarted tail resumes "
                   "from it");
  tail->callback([&ctx, rc] { *rc = RunTail(ctx, tail_flags); });
}

}  // namespace leadrelay::cli
