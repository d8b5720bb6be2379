// The delivery-log half of WebhookService: list, inspect, redeliver,
// recover, and test.
#include "absl/strings/str_cat.h"
#include "common/random_ids.h"
#include "common/status_util.h"
#include "domain/page_budget.h"
#include "services/services.h"
#include "store/deliveries_repo.h"
#include "store/events_repo.h"
#include "store/proto_time.h"
#include "store/webhooks_repo.h"

namespace leadrelay {

using store::Connection;

grpc::Status WebhookServiceImpl::ListDeliveries(
    grpc::ServerContext* ctx, const v1::ListDeliveriesRequest* req,
    v1::ListDeliveriesResponse* resp) {
  return Serve(
      deps_, ctx, "leadrelay.v1.WebhookService.ListDeliveries", *req,
      [&](const auth::Caller& caller) -> absl::Status {
        store::DeliveryQuery q;
        q.webhook_id = req->webhook_id();
        q.status = req->status();
        if (!q.status.empty() && q.status != "pending" &&
            q.status != "succeeded" && q.status != "failed") {
          return InvalidRequest(
              "status must be one of pending, succeeded, failed");
        }
        q.event_type = req->event_type();
        if (req->has_since()) q.since = FromTimestamp(req->since());
        if (req->has_until()) q.until = FromTimestamp(req->until());
        if (req->page() < 0) return InvalidRequest("page must be 1 or more");
        if (req->limit() < 0 || req->limit() > 100) {
          return InvalidRequest(absl::StrCat(
              "limit must be between 1 and 100; got ", req->limit()));
        }
        if (req->page() > 0) q.page = req->page();
        if (req->limit() > 0) q.limit = req->limit();
        LR_ASSIGN_OR_RETURN(
            q.offset, domain::PageOffset(req->page_token(), q.page, q.limit));
        return deps_.pool->Run([&](Connection& conn) -> absl::Status {
          // NOT_FOUND for another account's webhook, not an empty
          // list.
          LR_RETURN_IF_ERROR(
              store::GetWebhook(conn, caller.account_id, q.webhook_id)
                  .status());
          LR_ASSIGN_OR_RETURN(
              *resp, store::ListDeliveries(conn, caller.account_id, q));
          int fit = domain::FittingCount(resp->deliveries(),
                                         deps_.options.max_response_bytes);
          resp->mutable_deliveries()->DeleteSubrange(
              fit, resp->deliveries_size() - fit);
          resp->set_next_page_token(domain::NextPageToken(
              q.offset, resp->deliveries_size(), resp->total()));
          return absl::OkStatus();
        });
      });
}

grpc::Status WebhookServiceImpl::GetDelivery(grpc::ServerContext* ctx,
                                             const v1::GetDeliveryRequest* req,
                                             v1::Delivery* resp) {
  return Serve(deps_, ctx, "leadrelay.v1.WebhookService.GetDelivery", *req,
               [&](const auth::Caller& caller) {
                 return deps_.pool->Run([&](Connection& conn) -> absl::Status {
                   LR_ASSIGN_OR_RETURN(
                       *resp,
                       store::GetDelivery(conn, caller.account_id,
                                          req->webhook_id(), req->id(), true));
                   return absl::OkStatus();
                 });
               });
}

grpc::Status WebhookServiceImpl::Redeliver(grpc::ServerContext* ctx,
                                           const v1::RedeliverRequest* req,
                                           v1::Delivery* resp) {
  return Serve(deps_, ctx, "leadrelay.v1.WebhookService.Redeliver", *req,
               [&](const auth::Caller& caller) {
                 return deps_.pool->Run([&](Connection& conn) -> absl::Status {
                   LR_ASSIGN_OR_RETURN(
                       *resp, store::Redeliver(conn, caller.account_id,
                                               req->webhook_id(), req->id()));
                   return absl::OkStatus();
                 });
               });
}

grpc::Status WebhookServiceImpl::RecoverDeliveries(
    grpc::ServerContext* ctx, const v1::RecoverDeliveriesRequest* req,
    v1::RecoverDeliveriesResponse* resp) {
  return Serve(
      deps_, ctx, "leadrelay.v1.WebhookService.RecoverDeliveries", *req,
      [&](const auth::Caller& caller) -> absl::Status {
        if (!req->has_since()) {
          return InvalidRequest("since is required (an RFC 3339 time)");
        }
        return deps_.pool->Run([&](Connection& conn) -> absl::Status {
          LR_RETURN_IF_ERROR(
              store::GetWebhook(conn, caller.account_id, req->webhook_id())
                  .status());
          LR_ASSIGN_OR_RETURN(int queued,
                              store::RecoverFailedDeliveries(
                                  conn, caller.account_id, req->webhook_id(),
                                  FromTimestamp(req->since())));
          resp->set_deliveries_queued(queued);
          return absl::OkStatus();
        });
      });
}

grpc::Status WebhookServiceImpl::TestWebhook(grpc::ServerContext* ctx,
                                             const v1::TestWebhookRequest* req,
                                             v1::TestWebhookResponse* resp) {
  return Serve(
      deps_, ctx, "leadrelay.v1.WebhookService.TestWebhook", *req,
      [&](const auth::Caller& caller) -> absl::Status {
        if (deps_.dispatcher == nullptr) {
          return Unavailable("this server does not send webhooks");
        }
        store::ClaimedDelivery claim;
        LR_RETURN_IF_ERROR(
            deps_.pool->InTransaction([&](Connection& conn) -> absl::Status {
              LR_ASSIGN_OR_RETURN(
                  v1::Webhook hook,
                  store::GetWebhook(conn, caller.account_id, req->id()));
              v1::Event event;
              event.set_type("webhook.test");
              event.mutable_webhook_test()->set_webhook_id(hook.id());
              event.mutable_webhook_test()->set_message(
                  "This is a test delivery from leadrelay.");
              *event.mutable_webhook_test()->mutable_filters() = hook.filters();
              LR_ASSIGN_OR_RETURN(
                  store::AppendedEvent appended,
                  store::AppendEvent(conn, caller.account_id, std::move(event),
                                     /*fan_out=*/false));
              LR_ASSIGN_OR_RETURN(claim,
                                  store::InsertClaimedTestDelivery(
                                      conn, caller.account_id, hook.id(),
                                      appended.event.id(), NewId("test.", 12)));
              return absl::OkStatus();
            }));
        LR_ASSIGN_OR_RETURN(*resp->mutable_delivery(),
                            deps_.dispatcher->SendNow(std::move(claim)));
        resp->set_success(resp->delivery().status() == "succeeded");
        return absl::OkStatus();
      });
}

}  // namespace leadrelay
