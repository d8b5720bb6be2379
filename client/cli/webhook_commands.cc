// webhooks create|list|get|update|delete|rotate-secret|test|deliveries|
// delivery|redeliver|recover.
#include <algorithm>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "cli_context.h"
#include "google/protobuf/util/time_util.h"
#include "output.h"

namespace leadrelay::cli {
namespace {

const std::vector<Column>& DeliveryColumns() {
  static const auto* const kColumns =
      new std::vector<Column>{{"ID", "id"},
                              {"EVENT", "event_type"},
                              {"EVENT ID", "event_id"},
                              {"STATUS", "status"},
                              {"ATTEMPTS", "attempt_count"},
                              {"HTTP", "last_http_status"},
                              {"LAST ATTEMPT", "last_attempt_at"},
                              {"NEXT ATTEMPT", "next_attempt_at"}};
  return *kColumns;
}

// Runs `call` with the client and prints its result as an object.
template <typename Call>
void RunAndPrint(CliContext& ctx, int* rc, const Call& call) {
  Client* client = ctx.client(rc);
  if (client == nullptr) return;
  auto result = call(*client);
  *rc = result.ok() ? kExitOk : ApiError(result.status());
  if (result.ok()) PrintObject(ctx, *result);
}

bool SetTime(const std::string& text, google::protobuf::Timestamp* out,
             int* rc) {
  if (text.empty()) return true;
  absl::StatusOr<absl::Time> time = ParseTimeFlag(text);
  if (!time.ok()) {
    *rc = UsageError(std::string(time.status().message()));
    return false;
  }
  *out = google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(
      absl::ToUnixMicros(*time));
  return true;
}

// Which leads an endpoint takes (lead.new, lead.updated): the flags of
// `webhooks create` and `webhooks update`.
struct FilterFlags {
  std::vector<std::string> verticals;
  std::vector<std::string> score_tiers;
  int min_score = -1;  // -1: not given
  std::vector<std::string> suburbs;
  std::vector<std::string> provinces;
  bool clear = false;

  void AddTo(CLI::App* command) {
    command
        ->add_option("--verticals", verticals,
                     "only leads of these verticals, comma-separated")
        ->delimiter(',');
    command
        ->add_option("--score-tiers", score_tiers,
                     "only leads of these score tiers (hot, warm, qualified)")
        ->delimiter(',');
    command->add_option("--min-score", min_score,
                        "only leads scoring at least this (0..100)");
    command
        ->add_option("--suburbs", suburbs,
                     "only leads in these suburbs, comma-separated (case "
                     "and spacing do not matter)")
        ->delimiter(',');
    command
        ->add_option("--provinces", provinces,
                     "only leads in these provinces, comma-separated")
        ->delimiter(',');
  }
  bool given() const {
    return !verticals.empty() || !score_tiers.empty() || min_score >= 0 ||
           !suburbs.empty() || !provinces.empty();
  }
  v1::LeadFilter ToProto() const {
    v1::LeadFilter filter;
    filter.mutable_verticals()->Assign(verticals.begin(), verticals.end());
    filter.mutable_score_tiers()->Assign(score_tiers.begin(),
                                         score_tiers.end());
    filter.set_min_score(std::max(0, min_score));
    filter.mutable_suburbs()->Assign(suburbs.begin(), suburbs.end());
    filter.mutable_provinces()->Assign(provinces.begin(), provinces.end());
    return filter;
  }
};

}  // namespace

void AddWebhookCommands(CLI::App& app, CliContext& ctx, int* rc) {
  CLI::App* hooks = app.add_subcommand("webhooks", "webhook endpoints");
  hooks->require_subcommand(1);

  static v1::CreateWebhookRequest create_req;
  static std::vector<std::string> create_events;
  CLI::App* create = hooks->add_subcommand(
      "create", "register an endpoint; the signing secret is shown once");
  create->add_option("--url", *create_req.mutable_url())->required();
  create->add_option("--events", create_events, "event types, comma-separated")
      ->delimiter(',')
      ->required();
  create->add_option("--name", *create_req.mutable_name());
  create->add_option("--secret", *create_req.mutable_secret(),
                     "your own signing secret (default: a new whsec_...)");
  static FilterFlags create_filters;
  create_filters.AddTo(create);
  create->callback([&ctx, rc] {
    for (const std::string& e : create_events) create_req.add_events(e);
    if (create_filters.given()) {
      *create_req.mutable_filters() = create_filters.ToProto();
    }
    RunAndPrint(ctx, rc, [](Client& c) { return c.CreateWebhook(create_req); });
  });

  hooks->add_subcommand("list", "the account's endpoints")
      ->callback([&ctx, rc] {
        Client* client = ctx.client(rc);
        if (client == nullptr) return;
        auto list = client->ListWebhooks();
        *rc = list.ok() ? kExitOk : ApiError(list.status());
        if (list.ok()) {
          PrintList(ctx, *list, "webhooks",
                    {{"ID", "id"},
                     {"NAME", "name"},
                     {"URL", "url"},
                     {"EVENTS", "events"},
                     {"ENABLED", "enabled"},
                     {"SECRET", "secret_prefix"}});
        }
      });

  static v1::GetWebhookRequest get_req;
  CLI::App* get = hooks->add_subcommand("get", "one endpoint");
  get->add_option("id", *get_req.mutable_id())->required();
  get->callback([&ctx, rc] {
    RunAndPrint(ctx, rc, [](Client& c) { return c.GetWebhook(get_req); });
  });

  static v1::UpdateWebhookRequest update_req;
  static std::string name, url;
  static std::vector<std::string> events;
  static bool enable = false, disable = false;
  CLI::App* update = hooks->add_subcommand("update", "change an endpoint");
  update->add_option("id", *update_req.mutable_id())->required();
  update->add_option("--name", name);
  update->add_option("--url", url);
  update->add_option("--events", events, "replaces the event types")
      ->delimiter(',');
  auto* en = update->add_flag("--enable", enable, "enable the endpoint");
  update->add_flag("--disable", disable, "disable the endpoint")->excludes(en);
  // Filters given replace the endpoint's filters as a whole.
  static FilterFlags update_filters;
  update_filters.AddTo(update);
  update->add_flag("--no-filters", update_filters.clear,
                   "take every lead again");
  update->callback([&ctx, rc] {
    if (update_filters.clear && update_filters.given()) {
      *rc = UsageError("--no-filters with filter flags");
      return;
    }
    if (update_filters.clear || update_filters.given()) {
      *update_req.mutable_filters() = update_filters.ToProto();
    }
    if (!name.empty()) update_req.set_name(name);
    if (!url.empty()) update_req.set_url(url);
    for (const std::string& e : events) update_req.add_events(e);
    if (enable) update_req.set_enabled(true);
    if (disable) update_req.set_enabled(false);
    RunAndPrint(ctx, rc, [](Client& c) { return c.UpdateWebhook(update_req); });
  });

  static v1::DeleteWebhookRequest delete_req;
  CLI::App* del = hooks->add_subcommand("delete", "remove an endpoint");
  del->add_option("id", *delete_req.mutable_id())->required();
  del->callback([&ctx, rc] {
    Client* client = ctx.client(rc);
    if (client == nullptr) return;
    auto deleted = client->DeleteWebhook(delete_req);
    *rc = deleted.ok() ? kExitOk : ApiError(deleted.status());
    if (deleted.ok()) {
      if (ctx.json()) {
        std::cout << "{\"deleted\":\"" << delete_req.id() << "\"}" << std::endl;
      } else {
        std::cout << "deleted " << delete_req.id() << std::endl;
      }
    }
  });

  static v1::RotateWebhookSecretRequest rotate_req;
  CLI::App* rotate = hooks->add_subcommand(
      "rotate-secret",
      "new signing secret; the old one keeps signing beside it for 24 h");
  rotate->add_option("id", *rotate_req.mutable_id())->required();
  rotate->add_option("--secret", *rotate_req.mutable_secret(),
                     "your own new secret");
  rotate->callback([&ctx, rc] {
    RunAndPrint(ctx, rc,
                [](Client& c) { return c.RotateWebhookSecret(rotate_req); });
  });

  static v1::TestWebhookRequest test_req;
  CLI::App* test =
      hooks->add_subcommand("test", "send a webhook.test event now");
  test->add_option("id", *test_req.mutable_id())->required();
  test->callback([&ctx, rc] {
    RunAndPrint(ctx, rc, [](Client& c) { return c.TestWebhook(test_req); });
  });

  static v1::ListDeliveriesRequest deliveries_req;
  static std::string since, until;
  static int page = 0, limit = 0;
  CLI::App* deliveries =
      hooks->add_subcommand("deliveries", "the delivery log of an endpoint");
  deliveries->add_option("webhook_id", *deliveries_req.mutable_webhook_id())
      ->required();
  deliveries->add_option("--status", *deliveries_req.mutable_status(),
                         "pending, succeeded, failed");
  deliveries->add_option("--event-type", *deliveries_req.mutable_event_type());
  deliveries->add_option("--since", since, "RFC 3339 time or a duration ago");
  deliveries->add_option("--until", until, "RFC 3339 time or a duration ago");
  deliveries->add_option("--page", page);
  deliveries->add_option("--limit", limit);
  deliveries->callback([&ctx, rc] {
    if (!SetTime(since, deliveries_req.mutable_since(), rc) ||
        !SetTime(until, deliveries_req.mutable_until(), rc)) {
      return;
    }
    deliveries_req.set_page(page);
    deliveries_req.set_limit(limit);
    Client* client = ctx.client(rc);
    if (client == nullptr) return;
    auto list = client->ListDeliveries(deliveries_req);
    *rc = list.ok() ? kExitOk : ApiError(list.status());
    if (list.ok()) {
      PrintList(ctx, *list, "deliveries", DeliveryColumns(),
                absl::StrCat("page ", list->page(), ", ",
                             list->deliveries_size(), " of ", list->total()));
    }
  });

  static v1::GetDeliveryRequest delivery_req;
  CLI::App* delivery =
      hooks->add_subcommand("delivery", "one delivery with every attempt");
  delivery->add_option("webhook_id", *delivery_req.mutable_webhook_id())
      ->required();
  delivery->add_option("id", *delivery_req.mutable_id())->required();
  delivery->callback([&ctx, rc] {
    RunAndPrint(ctx, rc, [](Client& c) { return c.GetDelivery(delivery_req); });
  });

  static v1::RedeliverRequest redeliver_req;
  CLI::App* redeliver = hooks->add_subcommand(
      "redeliver", "send a delivery again (same delivery id)");
  redeliver->add_option("webhook_id", *redeliver_req.mutable_webhook_id())
      ->required();
  redeliver->add_option("id", *redeliver_req.mutable_id())->required();
  redeliver->callback([&ctx, rc] {
    RunAndPrint(ctx, rc, [](Client& c) { return c.Redeliver(redeliver_req); });
  });

  static v1::RecoverDeliveriesRequest recover_req;
  static std::string recover_since;
  CLI::App* recover = hooks->add_subcommand(
      "recover", "resend every failed delivery since a time");
  recover->add_option("webhook_id", *recover_req.mutable_webhook_id())
      ->required();
  recover
      ->add_option("--since", recover_since, "RFC 3339 time or a duration ago")
      ->required();
  recover->callback([&ctx, rc] {
    if (!SetTime(recover_since, recover_req.mutable_since(), rc)) return;
    RunAndPrint(ctx, rc,
                [](Client& c) { return c.RecoverDeliveries(recover_req); });
  });
}

}  // namespace leadrelay::cli
