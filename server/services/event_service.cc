#include "common/status_util.h"
#include "domain/event_catalogue.h"
#include "domain/input_limits.h"
#include "grpcpp/impl/codegen/proto_utils.h"
#include "ops/server_metrics.h"
#include "services/services.h"
#include "store/accounts_repo.h"
#include "store/events_repo.h"

namespace leadrelay {

using store::Connection;

grpc::Status EventServiceImpl::PublishEvent(grpc::ServerContext* ctx,
                                            const v1::PublishEventRequest* req,
                                            v1::PublishEventResponse* resp) {
  return Serve(
      deps_, ctx, "leadrelay.v1.EventService.PublishEvent", *req,
      [&](const auth::Caller& caller) -> absl::Status {
        v1::Event event;
        LR_RETURN_IF_ERROR(domain::BuildPublishedEvent(*req, event));
        LR_RETURN_IF_ERROR(domain::CheckEventSize(event, deps_.options.limits));
        return deps_.pool->InTransaction([&](Connection& conn) -> absl::Status {
          LR_ASSIGN_OR_RETURN(
              store::AppendedEvent appended,
              store::AppendEvent(conn, caller.account_id, std::move(event)));
          LR_RETURN_IF_ERROR(store::DebitCredits(conn, caller.account_id,
                                                 caller.policy.credit_cost(),
                                                 PaidCall(caller)));
          *resp->mutable_event() = std::move(appended.event);
          resp->set_deliveries_queued(appended.deliveries_queued);
          return absl::OkStatus();
        });
      });
}

grpc::Status EventServiceImpl::ListEvents(grpc::ServerContext* ctx,
                                          const v1::ListEventsRequest* req,
                                          v1::ListEventsResponse* resp) {
  return Serve(
      deps_, ctx, "leadrelay.v1.EventService.ListEvents", *req,
      [&](const auth::Caller& caller) -> absl::Status {
        std::vector<std::string> types(req->types().begin(),
                                       req->types().end());
        for (const std::string& t : types) {
          if (!domain::IsKnownEventType(t)) {
            return InvalidRequest("unknown event type '" + EchoValue(t) + "'");
          }
        }
        if (req->limit() < 0 || req->limit() > 1000) {
          return InvalidRequest("limit must be between 1 and 1000");
        }
        int limit = req->limit() == 0 ? 100 : req->limit();
        return deps_.pool->Run([&](Connection& conn) -> absl::Status {
          LR_ASSIGN_OR_RETURN(
              store::EventPage page,
              store::ListEvents(conn, caller.account_id, types, req->after(),
                                limit, deps_.options.max_response_bytes));
          for (auto& e : page.events) *resp->add_events() = std::move(e);
          resp->set_next_cursor(std::move(page.next_cursor));
          return absl::OkStatus();
        });
      });
}

grpc::Status EventServiceImpl::ListEventTypes(
    grpc::ServerContext* ctx, const v1::ListEventTypesRequest*,
    v1::ListEventTypesResponse* resp) {
  return Serve(deps_, ctx, "leadrelay.v1.EventService.ListEventTypes",
               [&](const auth::Caller&) {
                 for (const auto& t : domain::EventTypes()) resp->add_types(t);
                 return absl::OkStatus();
               });
}

constexpr char kStreamMethod[] = "leadrelay.v1.EventService.StreamEvents";

grpc::ServerWriteReactor<grpc::ByteBuffer>* EventServiceImpl::StreamEvents(
    grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* raw) {
  v1::StreamEventsRequest request;
  grpc::ByteBuffer copy(*raw);
  if (!grpc::SerializationTraits<v1::StreamEventsRequest>::Deserialize(&copy,
                                                                       &request)
           .ok()) {
    return stream::RefuseStream(ToGrpcStatus(
        InvalidRequest("malformed StreamEventsRequest"), kStreamMethod));
  }
  if (deps_.hub == nullptr) {
    return stream::RefuseStream(ToGrpcStatus(
        Unavailable("this server does not stream events"), kStreamMethod));
  }
  // Authorizing and the start position may wait on the database: off
  // gRPC's threads (services/blocking_calls.h).
  stream::EventHub::PendingStream pending = deps_.hub->NewPendingStream();
  deps_.blocking_calls->Post(
      CredentialKey(*ctx),
      [this, ctx, request = std::move(request), stream = pending.stream] {
        absl::StatusOr<auth::Caller> caller =
            deps_.authorizer->Authorize(*ctx, kStreamMethod);
        absl::Status refused = caller.status();
        if (caller.ok()) {
          refused = domain::CheckRequest(request, deps_.options.limits);
        }
        if (refused.ok()) {
          refused = deps_.hub->Attach(stream, *caller, request);
          if (refused.ok()) return;
        }
        ops::RecordAuthOutcome(refused);
        stream::EventHub::RefusePending(stream,
                                        ToGrpcStatus(refused, kStreamMethod));
      });
  return pending.reactor;
}

}  // namespace leadrelay
