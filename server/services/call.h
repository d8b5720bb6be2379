// The frame of every unary handler: authorize against the method's declared
// policy, run the body, translate the status.
#ifndef LEADRELAY_SERVER_SERVICES_CALL_H_
#define LEADRELAY_SERVER_SERVICES_CALL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/hash/hash.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "auth/authorizer.h"
#include "auth/call_headers.h"
#include "common/status_util.h"
#include "crypto/secret_box.h"
#include "delivery/dispatcher.h"
#include "domain/input_limits.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/server_callback.h"
#include "ops/call_observer.h"
#include "ops/server_metrics.h"
#include "services/blocking_calls.h"
#include "services/grpc_status.h"
#include "store/accounts_repo.h"
#include "store/lead_batcher.h"
#include "store/pg.h"
#include "store/point_readers.h"
#include "stream/event_hub.h"

namespace leadrelay {

struct ServiceOptions {
  // Hosts that may receive webhooks over http (local development, tests).
  std::vector<std::string> allowed_webhook_hosts;
  absl::Duration secret_rotation_grace = absl::Hours(24);
  domain::InputLimits limits;
  // Responses of list calls are cut to fit this many bytes (see
  // domain/page_budget.h).
  size_t max_response_bytes = 1024 * 1024;
};

struct ServiceDeps {
  store::Pool* pool;
  auth::Authorizer* authorizer;
  ServiceOptions options;
  // Sends test deliveries; null when this process runs no dispatcher.
  delivery::Dispatcher* dispatcher = nullptr;
  stream::EventHub* hub = nullptr;
  // Groups concurrent CreateLeads into one statement.
  store::LeadBatcher* lead_batcher = nullptr;
  // Answers concurrent GetLeads, and GetMes, with one statement each.
  store::PointReaders* point_readers = nullptr;
  // Encrypts webhook secrets at rest.
  const crypto::SecretBox* secret_box = nullptr;
  // Where callback-API calls wait on the database (see ServeCallback).
  BlockingCalls* blocking_calls = nullptr;
};

// The credit ledger's cause of a paid call's debit.
inline store::CreditCause PaidCall(const auth::Caller& caller) {
  return {"paid call", caller.method, caller.acting_service, ""};
}

template <typename Body>
grpc::Status Serve(const ServiceDeps& deps, grpc::ServerContext* context,
                   absl::string_view method, Body&& body) {
  ops::CallScope scope(*context, method);  // request id, account, metrics
  absl::StatusOr<auth::Caller> caller =
      deps.authorizer->Authorize(*context, method);
  if (caller.ok()) scope.SetAccount(caller->account_id);
  absl::Status status = caller.ok() ? body(*caller) : caller.status();
  scope.Finished(status);
  return ToGrpcStatus(status, method);
}

// As above, checking the request against the input limits (after
// authorization, so an anonymous caller learns nothing about them).
template <typename Body>
grpc::Status Serve(const ServiceDeps& deps, grpc::ServerContext* context,
                   absl::string_view method,
                   const google::protobuf::Message& request, Body&& body) {
  return Serve(
      deps, context, method, [&](const auth::Caller& caller) -> absl::Status {
        LR_RETURN_IF_ERROR(domain::CheckRequest(request, deps.options.limits));
        return body(caller);
      });
}

// Ends a callback-API call with the handler's outcome; exactly once, from
// any thread.
using FinishCall = absl::AnyInvocable<void(absl::Status) &&>;

// Which credential a call presents, for BlockingCalls' turns: its key
// headers, or its peer when it has none (certificates, anonymous calls).
inline uint64_t CredentialKey(const grpc::ServerContextBase& context) {
  absl::string_view authorization =
      auth::CallHeader(context, "authorization").value_or("");
  absl::string_view api_key =
      auth::CallHeader(context, "x-api-key").value_or("");
  std::string peer;
  if (authorization.empty() && api_key.empty()) peer = context.peer();
  return absl::Hash<
      std::tuple<absl::string_view, absl::string_view, absl::string_view>>{}(
      std::make_tuple(authorization, api_key, absl::string_view(peer)));
}

// The rest of a callback-API call once its caller is known: the input
// limits, then `body(caller, finish)`.
template <typename Body>
void ProceedAs(const ServiceDeps& deps, ops::CallScope& scope,
               const google::protobuf::Message& request,
               absl::StatusOr<auth::Caller> caller, Body& body,
               FinishCall finish) {
  absl::Status status = caller.status();
  if (caller.ok()) {
    scope.SetAccount(caller->account_id);
    status = domain::CheckRequest(request, deps.options.limits);
  }
  if (!status.ok()) return std::move(finish)(status);
  body(*caller, std::move(finish));
}

// The frame of a callback-API unary handler, for the hot calls whose body
// queues its work (a coalesced read, a batched write) and is finished from
// the thread that does it. A caller known from memory (a cached key) is
// served on the calling thread, gRPC's; one that needs the database goes to
// deps.blocking_calls first, so that no gRPC thread waits on PostgreSQL.
// `body(caller, finish)` may run on either thread (capture by value: it can
// outlive the handler's frame) and ends the call through `finish`, now or
// later; a body that must wait on the database posts that part to
// deps.blocking_calls itself.
template <typename Body>
grpc::ServerUnaryReactor* ServeCallback(
    const ServiceDeps& deps, grpc::CallbackServerContext* context,
    absl::string_view method, const google::protobuf::Message& request,
    Body body) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  FinishCall finish = [reactor,
                       method = std::string(method)](absl::Status status) {
    ops::RecordAuthOutcome(status);
    reactor->Finish(ToGrpcStatus(status, method));
  };
  {
    ops::CallScope scope(*context, method);  // request id, account, metrics
    std::optional<absl::StatusOr<auth::Caller>> known =
        deps.authorizer->AuthorizeFromMemory(*context, method);
    if (known.has_value()) {
      ProceedAs(deps, scope, request, *std::move(known), body,
                std::move(finish));
      return reactor;
    }
  }
  deps.blocking_calls->Post(
      CredentialKey(*context),
      [&deps, context, method = std::string(method), &request,
       body = std::move(body), finish = std::move(finish)]() mutable {
        ops::CallScope scope(*context, method);
        ProceedAs(deps, scope, request,
                  deps.authorizer->Authorize(*context, method), body,
                  std::move(finish));
      });
  return reactor;
}

}  // namespace leadrelay

#endif  // LEADRELAY_SERVER_SERVICES_CALL_H_
