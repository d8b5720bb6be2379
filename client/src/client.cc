#include "leadrelay/client.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace leadrelay {
namespace {

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

double UnitRandom() {
  thread_local absl::BitGen gen;
  return absl::Uniform(gen, 0.0, 1.0);
}

std::string RandomToken(int length) {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  thread_local absl::BitGen gen;
  std::string out;
  for (int i = 0; i < length; ++i) {
    out += kAlphabet[absl::Uniform(gen, 0u, sizeof(kAlphabet) - 1)];
  }
  return out;
}

}  // namespace

ClientOptions ClientOptions::FromEnv() {
  ClientOptions options;
  if (std::string v = Env("LEADRELAY_GRPC"); !v.empty()) options.target = v;
  options.api_key = Env("LEADRELAY_API_KEY");
  std::string tls = absl::AsciiStrToLower(Env("LEADRELAY_TLS"));
  options.tls = tls == "1" || tls == "true" || tls == "yes";
  options.ca_file = Env("LEADRELAY_CA_FILE");
  options.account = Env("LEADRELAY_ACCOUNT");
  return options;
}

absl::StatusOr<std::unique_ptr<Client>> Client::Create(ClientOptions options) {
  if (options.target.empty()) {
    return absl::InvalidArgumentError(
        "no server address: set LEADRELAY_GRPC or the target option");
  }
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (!options.ca_file.empty()) {
    std::ifstream in(options.ca_file);
    if (!in) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot read CA file ", options.ca_file));
    }
    std::stringstream pem;
    pem << in.rdbuf();
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = pem.str();
    credentials = grpc::SslCredentials(ssl);
  } else if (options.tls) {
    credentials = grpc::SslCredentials(grpc::SslCredentialsOptions());
  } else {
    credentials = grpc::InsecureChannelCredentials();
  }
  std::unique_ptr<Client> client(new Client(std::move(options)));
  const ClientOptions& o = client->options_;
  std::string agent = absl::StrCat("leadrelay-cpp/", kClientVersion);
  if (!o.user_agent.empty()) agent = absl::StrCat(o.user_agent, " ", agent);
  for (int i = 0; i < std::max(1, o.channels); ++i) {
    grpc::ChannelArguments args;
    args.SetUserAgentPrefix(agent);
    // Our own retry loop reads RetryInfo; gRPC's would not (see README).
    args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
    // Reconnect soon after a server restart instead of backing off towards
    // gRPC's default two minutes.
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 250);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5000);
    if (o.channels > 1) {
      // Distinct arguments and a local pool: one TCP connection per channel.
      args.SetInt("leadrelay.client_channel", i);
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    }
    Stubs stubs;
    stubs.channel = grpc::CreateCustomChannel(o.target, credentials, args);
    stubs.accounts = v1::AccountService::NewStub(stubs.channel);
    stubs.keys = v1::ApiKeyService::NewStub(stubs.channel);
    stubs.leads = v1::LeadService::NewStub(stubs.channel);
    stubs.webhooks = v1::WebhookService::NewStub(stubs.channel);
    stubs.events = v1::EventService::NewStub(stubs.channel);
    client->stubs_.push_back(std::move(stubs));
  }
  return client;
}

Client::Stubs& Client::NextStubs() {
  return stubs_[next_stub_.fetch_add(1, std::memory_order_relaxed) %
                stubs_.size()];
}

void Client::Authorize(grpc::ClientContext* context) const {
  if (!options_.api_key.empty()) {
    context->AddMetadata("authorization",
                         absl::StrCat("Bearer ", options_.api_key));
  }
  if (!options_.account.empty()) {
    context->AddMetadata("x-leadrelay-account", options_.account);
  }
}

template <typename Response, typename Attempt>
absl::StatusOr<Response> Client::Invoke(absl::string_view method, bool safe,
                                        const CallOptions& call,
                                        const Attempt& attempt) {
  const absl::Time deadline =
      absl::Now() + call.deadline.value_or(options_.default_deadline);
  for (int attempts = 1;; ++attempts) {
    grpc::ClientContext context;
    Authorize(&context);
    context.set_deadline(absl::ToChronoTime(deadline));
    Response response;
    absl::Status status =
        FromGrpcStatus(attempt(context, NextStubs(), response));
    if (status.ok()) return response;
    if (!call.retry) return status;
    const std::string reason = ErrorReason(status);
    FailedAttempt failure;
    failure.attempts_made = attempts;
    failure.code = status.code();
    failure.reason = reason;
    failure.server_delay = RetryDelay(status);
    failure.safe_to_repeat = safe;
    failure.time_left = deadline - absl::Now();
    RetryDecision decision = DecideRetry(options_.retry, failure, UnitRandom());
    if (!decision.retry) return status;
    absl::SleepFor(decision.wait);
  }
}

// Expands to a call with a request.
#define LR_UNARY(Stub, Method, Request, Response)                         \
  absl::StatusOr<Response> Client::Method(const Request& request,         \
                                          const CallOptions& call) {      \
    return Invoke<Response>(                                              \
        #Method, IsSafeToRepeat(#Method, false), call,                    \
        [&](grpc::ClientContext& ctx, Stubs& stubs, Response& response) { \
          return stubs.Stub->Method(&ctx, request, &response);            \
        });                                                               \
  }
// Expands to a call whose request is empty.
#define LR_UNARY_EMPTY(Stub, Method, Request, Response)                   \
  absl::StatusOr<Response> Client::Method(const CallOptions& call) {      \
    return Invoke<Response>(                                              \
        #Method, IsSafeToRepeat(#Method, false), call,                    \
        [&](grpc::ClientContext& ctx, Stubs& stubs, Response& response) { \
          return stubs.Stub->Method(&ctx, Request(), &response);          \
        });                                                               \
  }

LR_UNARY_EMPTY(accounts, GetMe, v1::GetMeRequest, v1::GetMeResponse)
LR_UNARY_EMPTY(accounts, GetCredits, v1::GetCreditsRequest,
               v1::GetCreditsResponse)
LR_UNARY_EMPTY(accounts, GetAccountStats, v1::GetAccountStatsRequest,
               v1::AccountStats)
LR_UNARY(keys, CreateApiKey, v1::CreateApiKeyRequest, v1::CreateApiKeyResponse)
LR_UNARY_EMPTY(keys, ListApiKeys, v1::ListApiKeysRequest,
               v1::ListApiKeysResponse)
LR_UNARY(keys, RevokeApiKey, v1::RevokeApiKeyRequest, v1::RevokeApiKeyResponse)
LR_UNARY(leads, ListLeads, v1::ListLeadsRequest, v1::ListLeadsResponse)
LR_UNARY(leads, GetLead, v1::GetLeadRequest, v1::Lead)
LR_UNARY(leads, UpdateLead, v1::UpdateLeadRequest, v1::Lead)
LR_UNARY(leads, EraseLead, v1::EraseLeadRequest, v1::LeadErasure)
LR_UNARY(leads, EraseLeads, v1::EraseLeadsRequest, v1::EraseLeadsResponse)
LR_UNARY(webhooks, CreateWebhook, v1::CreateWebhookRequest,
         v1::CreateWebhookResponse)
LR_UNARY_EMPTY(webhooks, ListWebhooks, v1::ListWebhooksRequest,
               v1::ListWebhooksResponse)
LR_UNARY(webhooks, GetWebhook, v1::GetWebhookRequest, v1::Webhook)
LR_UNARY(webhooks, UpdateWebhook, v1::UpdateWebhookRequest, v1::Webhook)
LR_UNARY(webhooks, DeleteWebhook, v1::DeleteWebhookRequest,
         v1::DeleteWebhookResponse)
LR_UNARY(webhooks, RotateWebhookSecret, v1::RotateWebhookSecretRequest,
         v1::RotateWebhookSecretResponse)
LR_UNARY(webhooks, TestWebhook, v1::TestWebhookRequest, v1::TestWebhookResponse)
LR_UNARY(webhooks, ListDeliveries, v1::ListDeliveriesRequest,
         v1::ListDeliveriesResponse)
LR_UNARY(webhooks, GetDelivery, v1::GetDeliveryRequest, v1::Delivery)
LR_UNARY(webhooks, Redeliver, v1::RedeliverRequest, v1::Delivery)
LR_UNARY(webhooks, RecoverDeliveries, v1::RecoverDeliveriesRequest,
         v1::RecoverDeliveriesResponse)
LR_UNARY(events, PublishEvent, v1::PublishEventRequest,
         v1::PublishEventResponse)
LR_UNARY(events, ListEvents, v1::ListEventsRequest, v1::ListEventsResponse)
LR_UNARY_EMPTY(events, ListEventTypes, v1::ListEventTypesRequest,
               v1::ListEventTypesResponse)

#undef LR_UNARY
#undef LR_UNARY_EMPTY

absl::StatusOr<CreatedLead> Client::CreateLeadDetailed(
    v1::CreateLeadRequest request, const CallOptions& call) {
  if (options_.generate_external_ids && request.lead().external_id().empty()) {
    request.mutable_lead()->set_external_id(
        absl::StrCat("lrc_", RandomToken(24)));
  }
  const bool safe =
      IsSafeToRepeat("CreateLead", !request.lead().external_id().empty());
  bool replayed = false;
  absl::StatusOr<v1::Lead> lead = Invoke<v1::Lead>(
      "CreateLead", safe, call,
      [&](grpc::ClientContext& ctx, Stubs& stubs, v1::Lead& response) {
        grpc::Status status = stubs.leads->CreateLead(&ctx, request, &response);
        const auto& headers = ctx.GetServerInitialMetadata();
        replayed = headers.find("x-leadrelay-replayed") != headers.end();
        return status;
      });
  if (!lead.ok()) return lead.status();
  return CreatedLead{*std::move(lead), !replayed};
}

absl::StatusOr<v1::Lead> Client::CreateLead(v1::CreateLeadRequest request,
                                            const CallOptions& call) {
  absl::StatusOr<CreatedLead> created =
      CreateLeadDetailed(std::move(request), call);
  if (!created.ok()) return created.status();
  return std::move(created->lead);
}

std::unique_ptr<grpc::ClientReader<v1::StreamEventsResponse>>
Client::OpenEventStream(grpc::ClientContext* context,
                        const v1::StreamEventsRequest& request) {
  Authorize(context);
  return NextStubs().events->StreamEvents(context, request);
}

}  // namespace leadrelay
