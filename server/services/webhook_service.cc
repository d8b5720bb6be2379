#include "absl/strings/str_cat.h"
#include "common/random_ids.h"
#include "common/status_util.h"
#include "domain/event_catalogue.h"
#include "domain/input_limits.h"
#include "domain/lead_filter.h"
#include "domain/webhook_rules.h"
#include "services/services.h"
#include "store/webhooks_repo.h"

namespace leadrelay {

using store::Connection;

namespace {

// The caller's own secret (validated) or a generated one, with its hint.
absl::StatusOr<store::NewSecret> ChooseSecret(const std::string& requested) {
  if (requested.empty()) {
    std::string secret = NewWebhookSecret();
    std::string hint = domain::SecretHint(secret, /*generated=*/true);
    return store::NewSecret{std::move(secret), std::move(hint)};
  }
  LR_RETURN_IF_ERROR(domain::ValidateWebhookSecret(requested));
  return store::NewSecret{requested,
                          domain::SecretHint(requested, /*generated=*/false)};
}

}  // namespace

grpc::Status WebhookServiceImpl::CreateWebhook(
    grpc::ServerContext* ctx, const v1::CreateWebhookRequest* req,
    v1::CreateWebhookResponse* resp) {
  return Serve(
      deps_, ctx, "leadrelay.v1.WebhookService.CreateWebhook", *req,
      [&](const auth::Caller& caller) -> absl::Status {
        LR_RETURN_IF_ERROR(domain::ValidateWebhookUrl(
            req->url(), deps_.options.allowed_webhook_hosts));
        LR_RETURN_IF_ERROR(domain::ValidateSubscription(
            {req->events().begin(), req->events().end()}));
        if (req->name().size() > 100) {
          return InvalidRequest("name is longer than 100 characters");
        }
        LR_ASSIGN_OR_RETURN(
            domain::LeadFilter filters,
            domain::ParseLeadFilter(req->filters(), "filters."));
        LR_ASSIGN_OR_RETURN(store::NewSecret secret,
                            ChooseSecret(req->secret()));
        return deps_.pool->InTransaction([&](Connection& conn) -> absl::Status {
          LR_ASSIGN_OR_RETURN(
              int count, store::CountWebhooksLocked(conn, caller.account_id));
          if (count >= domain::kMaxWebhooksPerAccount) {
            return InvalidRequest(absl::StrCat(
                "an account can have at most ", domain::kMaxWebhooksPerAccount,
                " webhooks; delete one before adding another"));
          }
          // Stored once each, in the order first given.
          v1::CreateWebhookRequest deduplicated = *req;
          std::vector<std::string> events = domain::Deduplicated(
              {req->events().begin(), req->events().end()});
          deduplicated.mutable_events()->Assign(events.begin(), events.end());
          LR_ASSIGN_OR_RETURN(
              *resp->mutable_webhook(),
              store::InsertWebhook(conn, caller.account_id, deduplicated,
                                   filters, secret, *deps_.secret_box));
          resp->set_webhook_id(resp->webhook().id());
          resp->set_secret(secret.value);
          return absl::OkStatus();
        });
      });
}

grpc::Status WebhookServiceImpl::ListWebhooks(grpc::ServerContext* ctx,
                                              const v1::ListWebhooksRequest*,
                                              v1::ListWebhooksResponse* resp) {
  return Serve(deps_, ctx, "leadrelay.v1.WebhookService.ListWebhooks",
               [&](const auth::Caller& caller) {
                 return deps_.pool->Run([&](Connection& conn) -> absl::Status {
                   LR_ASSIGN_OR_RETURN(
                       std::vector<v1::Webhook> hooks,
                       store::ListWebhooks(conn, caller.account_id));
                   for (auto& w : hooks) *resp->add_webhooks() = std::move(w);
                   return absl::OkStatus();
                 });
               });
}

grpc::Status WebhookServiceImpl::GetWebhook(grpc::ServerContext* ctx,
                                            const v1::GetWebhookRequest* req,
                                            v1::Webhook* resp) {
  return Serve(deps_, ctx, "leadrelay.v1.WebhookService.GetWebhook", *req,
               [&](const auth::Caller& caller) {
                 return deps_.pool->Run([&](Connection& conn) -> absl::Status {
                   LR_ASSIGN_OR_RETURN(
                       *resp,
                       store::GetWebhook(conn, caller.account_id, req->id()));
                   return absl::OkStatus();
                 });
               });
}

grpc::Status WebhookServiceImpl::UpdateWebhook(
    grpc::ServerContext* ctx, const v1::UpdateWebhookRequest* req,
    v1::Webhook* resp) {
  return Serve(
      deps_, ctx, "leadrelay.v1.WebhookService.UpdateWebhook", *req,
      [&](const auth::Caller& caller) -> absl::Status {
        store::WebhookChange change;
        if (req->has_name()) change.name = req->name();
        if (req->has_url()) {
          LR_RETURN_IF_ERROR(domain::ValidateWebhookUrl(
              req->url(), deps_.options.allowed_webhook_hosts));
          change.url = req->url();
        }
        if (req->events_size() > 0) {
          change.events = domain::Deduplicated(
              {req->events().begin(), req->events().end()});
          LR_RETURN_IF_ERROR(domain::ValidateSubscription(*change.events));
        }
        if (req->has_enabled()) change.enabled = req->enabled();
        if (req->has_filters()) {
          LR_ASSIGN_OR_RETURN(change.filters, domain::ParseLeadFilter(
                                                  req->filters(), "filters."));
        }
        return deps_.pool->Run([&](Connection& conn) -> absl::Status {
          LR_ASSIGN_OR_RETURN(
              *resp,
              store::UpdateWebhook(conn, caller.account_id, req->id(), change));
          return absl::OkStatus();
        });
      });
}

grpc::Status WebhookServiceImpl::DeleteWebhook(
    grpc::ServerContext* ctx, const v1::DeleteWebhookRequest* req,
    v1::DeleteWebhookResponse*) {
  return Serve(deps_, ctx, "leadrelay.v1.WebhookService.DeleteWebhook", *req,
               [&](const auth::Caller& caller) {
                 return deps_.pool->Run([&](Connection& conn) {
                   return store::DeleteWebhook(conn, caller.account_id,
                                               req->id());
                 });
               });
}

grpc::Status WebhookServiceImpl::RotateWebhookSecret(
    grpc::ServerContext* ctx, const v1::RotateWebhookSecretRequest* req,
    v1::RotateWebhookSecretResponse* resp) {
  return Serve(
      deps_, ctx, "leadrelay.v1.WebhookService.RotateWebhookSecret", *req,
      [&](const auth::Caller& caller) -> absl::Status {
        LR_ASSIGN_OR_RETURN(store::NewSecret secret,
                            ChooseSecret(req->secret()));
        return deps_.pool->Run([&](Connection& conn) -> absl::Status {
          LR_ASSIGN_OR_RETURN(
              *resp->mutable_webhook(),
              store::RotateWebhookSecret(
                  conn, caller.account_id, req->id(), secret,
                  deps_.options.secret_rotation_grace, *deps_.secret_box));
          resp->set_secret(secret.value);
          return absl::OkStatus();
        });
      });
}

}  // namespace leadrelay
