// LeadService.EraseLead and EraseLeads: one transaction per call, so an
// erasure is complete or did not happen.
#include "common/status_util.h"
#include "domain/lead_erasure.h"
#include "services/services.h"
#include "store/lead_erasure_repo.h"

namespace leadrelay {
namespace {

store::Eraser EraserOf(const auth::Caller& caller) {
  return {caller.key_id, caller.acting_service};
}

}  // namespace

grpc::Status LeadServiceImpl::EraseLead(grpc::ServerContext* ctx,
                                        const v1::EraseLeadRequest* req,
                                        v1::LeadErasure* resp) {
  return Serve(deps_, ctx, "leadrelay.v1.LeadService.EraseLead", *req,
               [&](const auth::Caller& caller) -> absl::Status {
                 if (req->id().empty()) return InvalidRequest("id is required");
                 return deps_.pool->InTransaction(
                     [&](store::Connection& conn) -> absl::Status {
                       LR_ASSIGN_OR_RETURN(
                           *resp,
                           store::EraseLead(conn, caller.account_id, req->id(),
                                            EraserOf(caller)));
                       return absl::OkStatus();
                     });
               });
}

grpc::Status LeadServiceImpl::EraseLeads(grpc::ServerContext* ctx,
                                         const v1::EraseLeadsRequest* req,
                                         v1::EraseLeadsResponse* resp) {
  // The key count is checked before the input limits, so any request over
  // it gets erase_batch_too_large whatever its lists hold.
  return Serve(
      deps_, ctx, "leadrelay.v1.LeadService.EraseLeads",
      [&](const auth::Caller& caller) -> absl::Status {
        LR_RETURN_IF_ERROR(domain::CheckEraseKeyCount(*req));
        LR_RETURN_IF_ERROR(domain::CheckRequest(*req, deps_.options.limits));
        LR_RETURN_IF_ERROR(domain::ValidateEraseLeads(*req));
        std::vector<std::string> external_ids(req->external_ids().begin(),
                                              req->external_ids().end());
        return deps_.pool->InTransaction(
            [&](store::Connection& conn) -> absl::Status {
              // One more than erased, to tell the caller whether to come back.
              LR_ASSIGN_OR_RETURN(
                  std::vector<std::string> ids,
                  store::FindLeadsToErase(conn, caller.account_id, external_ids,
                                          domain::ContactKeysOf(*req),
                                          domain::kMaxLeadsErasedPerCall + 1));
              if (static_cast<int>(ids.size()) >
                  domain::kMaxLeadsErasedPerCall) {
                ids.resize(domain::kMaxLeadsErasedPerCall);
                resp->set_more(true);
              }
              for (const std::string& id : ids) {
                LR_ASSIGN_OR_RETURN(*resp->add_erasures(),
                                    store::EraseLead(conn, caller.account_id,
                                                     id, EraserOf(caller)));
              }
              return absl::OkStatus();
            });
      });
}

}  // namespace leadrelay
