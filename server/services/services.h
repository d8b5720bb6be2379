// gRPC service implementations. Each handler authorizes through Serve(),
// validates with domain/ rules and talks to store/ repositories.
#ifndef LEADRELAY_SERVER_SERVICES_SERVICES_H_
#define LEADRELAY_SERVER_SERVICES_SERVICES_H_

#include "leadrelay/v1/account.grpc.pb.h"
#include "leadrelay/v1/event.grpc.pb.h"
#include "leadrelay/v1/lead.grpc.pb.h"
#include "leadrelay/v1/webhook.grpc.pb.h"
#include "services/call.h"

namespace leadrelay {

// GetMe, GetLead and CreateLead, the hot calls, use the callback API: their
// coalesced read or batched write finishes the call, so no thread waits for
// a batch.
class AccountServiceImpl final
    : public v1::AccountService::WithCallbackMethod_GetMe<
          v1::AccountService::Service> {
 public:
  explicit AccountServiceImpl(ServiceDeps deps) : deps_(std::move(deps)) {}
  grpc::ServerUnaryReactor* GetMe(grpc::CallbackServerContext* ctx,
                                  const v1::GetMeRequest* req,
                                  v1::GetMeResponse* resp) override;
  grpc::Status GetCredits(grpc::ServerContext* ctx,
                          const v1::GetCreditsRequest* req,
                          v1::GetCreditsResponse* resp) override;
  grpc::Status GetAccountStats(grpc::ServerContext* ctx,
                               const v1::GetAccountStatsRequest* req,
                               v1::AccountStats* resp) override;

 private:
  ServiceDeps deps_;
};

class ApiKeyServiceImpl final : public v1::ApiKeyService::Service {
 public:
  explicit ApiKeyServiceImpl(ServiceDeps deps) : deps_(std::move(deps)) {}
  grpc::Status CreateApiKey(grpc::ServerContext* ctx,
                            const v1::CreateApiKeyRequest* req,
                            v1::CreateApiKeyResponse* resp) override;
  grpc::Status ListApiKeys(grpc::ServerContext* ctx,
                           const v1::ListApiKeysRequest* req,
                           v1::ListApiKeysResponse* resp) override;
  grpc::Status RevokeApiKey(grpc::ServerContext* ctx,
                            const v1::RevokeApiKeyRequest* req,
                            v1::RevokeApiKeyResponse* resp) override;

 private:
  ServiceDeps deps_;
};

class LeadServiceImpl final
    : public v1::LeadService::WithCallbackMethod_CreateLead<
          v1::LeadService::WithCallbackMethod_GetLead<
              v1::LeadService::Service>> {
 public:
  explicit LeadServiceImpl(ServiceDeps deps) : deps_(std::move(deps)) {}
  grpc::ServerUnaryReactor* CreateLead(grpc::CallbackServerContext* ctx,
                                       const v1::CreateLeadRequest* req,
                                       v1::Lead* resp) override;
  grpc::Status ListLeads(grpc::ServerContext* ctx,
                         const v1::ListLeadsRequest* req,
                         v1::ListLeadsResponse* resp) override;
  grpc::ServerUnaryReactor* GetLead(grpc::CallbackServerContext* ctx,
                                    const v1::GetLeadRequest* req,
                                    v1::Lead* resp) override;
  grpc::Status UpdateLead(grpc::ServerContext* ctx,
                          const v1::UpdateLeadRequest* req,
                          v1::Lead* resp) override;
  // In lead_erasure_service.cc.
  grpc::Status EraseLead(grpc::ServerContext* ctx,
                         const v1::EraseLeadRequest* req,
                         v1::LeadErasure* resp) override;
  grpc::Status EraseLeads(grpc::ServerContext* ctx,
                          const v1::EraseLeadsRequest* req,
                          v1::EraseLeadsResponse* resp) override;

 private:
  ServiceDeps deps_;
};

class EventServiceImpl final
    : public v1::EventService::WithRawCallbackMethod_StreamEvents<
          v1::EventService::Service> {
 public:
  explicit EventServiceImpl(ServiceDeps deps) : deps_(std::move(deps)) {}
  grpc::Status PublishEvent(grpc::ServerContext* ctx,
                            const v1::PublishEventRequest* req,
                            v1::PublishEventResponse* resp) override;
  grpc::Status ListEvents(grpc::ServerContext* ctx,
                          const v1::ListEventsRequest* req,
                          v1::ListEventsResponse* resp) override;
  grpc::Status ListEventTypes(grpc::ServerContext* ctx,
                              const v1::ListEventTypesRequest* req,
                              v1::ListEventTypesResponse* resp) override;
  // Raw bytes: the hub writes each event's serialized form to every
  // subscriber.
  grpc::ServerWriteReactor<grpc::ByteBuffer>* StreamEvents(
      grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* req) override;

 private:
  ServiceDeps deps_;
};

class WebhookServiceImpl final : public v1::WebhookService::Service {
 public:
  explicit WebhookServiceImpl(ServiceDeps deps) : deps_(std::move(deps)) {}
  grpc::Status CreateWebhook(grpc::ServerContext* ctx,
                             const v1::CreateWebhookRequest* req,
                             v1::CreateWebhookResponse* resp) override;
  grpc::Status ListWebhooks(grpc::ServerContext* ctx,
                            const v1::ListWebhooksRequest* req,
                            v1::ListWebhooksResponse* resp) override;
  grpc::Status GetWebhook(grpc::ServerContext* ctx,
                          const v1::GetWebhookRequest* req,
                          v1::Webhook* resp) override;
  grpc::Status UpdateWebhook(grpc::ServerContext* ctx,
                             const v1::UpdateWebhookRequest* req,
                             v1::Webhook* resp) override;
  grpc::Status DeleteWebhook(grpc::ServerContext* ctx,
                             const v1::DeleteWebhookRequest* req,
                             v1::DeleteWebhookResponse* resp) override;
  grpc::Status RotateWebhookSecret(
      grpc::ServerContext* ctx, const v1::RotateWebhookSecretRequest* req,
      v1::RotateWebhookSecretResponse* resp) override;
  grpc::Status ListDeliveries(grpc::ServerContext* ctx,
                              const v1::ListDeliveriesRequest* req,
                              v1::ListDeliveriesResponse* resp) override;
  grpc::Status GetDelivery(grpc::ServerContext* ctx,
                           const v1::GetDeliveryRequest* req,
                           v1::Delivery* resp) override;
  grpc::Status Redeliver(grpc::ServerContext* ctx,
                         const v1::RedeliverRequest* req,
                         v1::Delivery* resp) override;
  grpc::Status RecoverDeliveries(grpc::ServerContext* ctx,
                                 const v1::RecoverDeliveriesRequest* req,
                                 v1::RecoverDeliveriesResponse* resp) override;
  grpc::Status TestWebhook(grpc::ServerContext* ctx,
                           const v1::TestWebhookRequest* req,
                           v1::TestWebhookResponse* resp) override;

 private:
  ServiceDeps deps_;
};

}  // namespace leadrelay

#endif  // LEADRELAY_SERVER_SERVICES_SERVICES_H_
