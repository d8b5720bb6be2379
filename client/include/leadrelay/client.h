// The leadrelay client: one object per service process, safe to share
// between threads. Built from options (or the environment), it holds the
// channel(s) and the stubs and gives a typed call for every RPC that returns
// absl::StatusOr. Failures keep the server's public reason and retry delay
// (see errors.h). Safe calls are retried on UNAVAILABLE and rate_limited
// (see retry_policy.h) within the call's deadline.
//
//   absl::StatusOr<leadrelay::ClientOptions> options =
//       leadrelay::ClientOptions::FromEnv();  // LEADRELAY_GRPC, ..._API_KEY
//   auto client = leadrelay::Client::Create(*options);
//   absl::StatusOr<v1::Lead> lead = (*client)->GetLead(request);
#ifndef LEADRELAY_CLIENT_CLIENT_H_
#define LEADRELAY_CLIENT_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "leadrelay/errors.h"
#include "leadrelay/retry_policy.h"
#include "leadrelay/v1/account.grpc.pb.h"
#include "leadrelay/v1/event.grpc.pb.h"
#include "leadrelay/v1/lead.grpc.pb.h"
#include "leadrelay/v1/webhook.grpc.pb.h"

namespace leadrelay {

inline constexpr char kClientVersion[] = "0.1.0";

struct ClientOptions {
  // host:port of leadrelay-server (LEADRELAY_GRPC).
  std::string target = "127.0.0.1:50051";
  // Sent as "authorization: Bearer <key>" (LEADRELAY_API_KEY).
  std::string api_key;
  // TLS with the system roots (LEADRELAY_TLS=1), or with the PEM roots in
  // ca_file (LEADRELAY_CA_FILE; implies TLS). Plaintext otherwise.
  bool tls = false;
  std::string ca_file;
  // Platform identities act for one account: sent as x-leadrelay-account
  // (LEADRELAY_ACCOUNT) when set.
  std::string account;
  // Deadline of one logical call, every retry included.
  absl::Duration default_deadline = absl::Seconds(30);
  // Prepended to gRPC's own user agent, after "leadrelay-cpp/<version>".
  std::string user_agent;
  RetryPolicy retry;
  // CreateLead without an external_id gets a random one ("lrc_...") per
  // logical call, so a retried create can never make two leads.
  bool generate_external_ids = true;
  // TCP connections to spread calls over (bulk work benefits from a few).
  int channels = 1;

  // Defaults overridden by LEADRELAY_GRPC, LEADRELAY_API_KEY, LEADRELAY_TLS,
  // LEADRELAY_CA_FILE and LEADRELAY_ACCOUNT.
  static ClientOptions FromEnv();
};

// Per-call overrides.
struct CallOptions {
  std::optional<absl::Duration> deadline;
  bool retry = true;
};

// What CreateLead did: made the lead, or found one with its external_id.
struct CreatedLead {
  v1::Lead lead;
  bool created = true;
};

class Client {
 public:
  // Fails with invalid_request when the options cannot work (no target, an
  // unreadable CA file). Does not connect: the first call does.
  static absl::StatusOr<std::unique_ptr<Client>> Create(ClientOptions options);

  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const ClientOptions& options() const { return options_; }

  // AccountService
  absl::StatusOr<v1::GetMeResponse> GetMe(const CallOptions& call = {});
  absl::StatusOr<v1::GetCreditsResponse> GetCredits(
      const CallOptions& call = {});
  absl::StatusOr<v1::AccountStats> GetAccountStats(
      const CallOptions& call = {});
  // ApiKeyService
  absl::StatusOr<v1::CreateApiKeyResponse> CreateApiKey(
      const v1::CreateApiKeyRequest& request, const CallOptions& call = {});
  absl::StatusOr<v1::ListApiKeysResponse> ListApiKeys(
      const CallOptions& call = {});
  absl::StatusOr<v1::RevokeApiKeyResponse> RevokeApiKey(
      const v1::RevokeApiKeyRequest& request, const CallOptions& call = {});
  // LeadService
  absl::StatusOr<v1::Lead> CreateLead(v1::CreateLeadRequest request,
                                      const CallOptions& call = {});
  // As CreateLead, and says whether the lead was made by this call.
  absl::StatusOr<CreatedLead> CreateLeadDetailed(v1::CreateLeadRequest request,
                                                 const CallOptions& call = {});
  absl::StatusOr<v1::ListLeadsResponse> ListLeads(
      const v1::ListLeadsRequest& request, const CallOptions& call = {});
  absl::StatusOr<v1::Lead> GetLead(const v1::GetLeadRequest& request,
                                   const CallOptions& call = {});
  absl::StatusOr<v1::Lead> UpdateLead(const v1::UpdateLeadRequest& request,
                                      const CallOptions& call = {});
  // Erasures are idempotent (a second call returns the same tombstone), so
  // they are retried like reads. EraseLeads erases at most 200 leads per
  // call: call again with the same keys while the response says `more`.
  absl::StatusOr<v1::LeadErasure> EraseLead(const v1::EraseLeadRequest& request,
                                            const CallOptions& call = {});
  absl::StatusOr<v1::EraseLeadsResponse> EraseLeads(
      const v1::EraseLeadsRequest& request, const CallOptions& call = {});
  // WebhookService
  absl::StatusOr<v1::CreateWebhookResponse> CreateWebhook(
      const v1::CreateWebhookRequest& request, const CallOptions& call = {});
  absl::StatusOr<v1::ListWebhooksResponse> ListWebhooks(
      const CallOptions& call = {});
  absl::StatusOr<v1::Webhook> GetWebhook(const v1::GetWebhookRequest& request,
                                         const CallOptions& call = {});
  absl::StatusOr<v1::Webhook> UpdateWebhook(
      const v1::UpdateWebhookRequest& request, const CallOptions& call = {});
  absl::StatusOr<v1::DeleteWebhookResponse> DeleteWebhook(
      const v1::DeleteWebhookRequest& request, const CallOptions& call = {});
  absl::StatusOr<v1::RotateWebhookSecretResponse> RotateWebhookSecret(
      const v1::RotateWebhookSecretRequest& request,
      const CallOptions& call = {});
  absl::StatusOr<v1::TestWebhookResponse> TestWebhook(
      const v1::TestWebhookRequest& request, const CallOptions& call = {});
  absl::StatusOr<v1::ListDeliveriesResponse> ListDeliveries(
      const v1::ListDeliveriesRequest& request, const CallOptions& call = {});
  absl::StatusOr<v1::Delivery> GetDelivery(
      const v1::GetDeliveryRequest& request, const CallOptions& call = {});
  absl::StatusOr<v1::Delivery> Redeliver(const v1::RedeliverRequest& request,
                                         const CallOptions& call = {});
  absl::StatusOr<v1::RecoverDeliveriesResponse> RecoverDeliveries(
      const v1::RecoverDeliveriesRequest& request,
      const CallOptions& call = {});
  // EventService
  absl::StatusOr<v1::PublishEventResponse> PublishEvent(
      const v1::PublishEventRequest& request, const CallOptions& call = {});
  absl::StatusOr<v1::ListEventsResponse> ListEvents(
      const v1::ListEventsRequest& request, const CallOptions& call = {});
  absl::StatusOr<v1::ListEventTypesResponse> ListEventTypes(
      const CallOptions& call = {});

  // One raw StreamEvents call (no reconnects: see Subscription for that).
  // `context` must outlive the reader; it gets the key and account metadata.
  std::unique_ptr<grpc::ClientReader<v1::StreamEventsResponse>> OpenEventStream(
      grpc::ClientContext* context, const v1::StreamEventsRequest& request);

  // Adds the key (and account) metadata to a context the caller makes.
  void Authorize(grpc::ClientContext* context) const;

 private:
  struct Stubs {
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<v1::AccountService::Stub> accounts;
    std::unique_ptr<v1::ApiKeyService::Stub> keys;
    std::unique_ptr<v1::LeadService::Stub> leads;
    std::unique_ptr<v1::WebhookService::Stub> webhooks;
    std::unique_ptr<v1::EventService::Stub> events;
  };

  explicit Client(ClientOptions options) : options_(std::move(options)) {}
  Stubs& NextStubs();

  // One logical call: attempts with retries per the policy. `attempt` makes
  // one attempt with the context it is given.
  template <typename Response, typename Attempt>
  absl::StatusOr<Response> Invoke(absl::string_view method, bool safe,
                                  const CallOptions& call,
                                  const Attempt& attempt);

  ClientOptions options_;
  std::vector<Stubs> stubs_;
  std::atomic<uint64_t> next_stub_{0};
};

}  // namespace leadrelay

#endif  // LEADRELAY_CLIENT_CLIENT_H_
