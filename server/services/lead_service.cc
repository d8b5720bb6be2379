#include "common/status_util.h"
#include "domain/lead_rules.h"
#include "domain/page_budget.h"
#include "domain/quota_rules.h"
#include "services/services.h"
#include "store/accounts_repo.h"
#include "store/events_repo.h"
#include "store/lead_batcher.h"
#include "store/leads_repo.h"
#include "store/proto_time.h"
#include "store/quota_repo.h"

namespace leadrelay {
namespace {

using store::Connection;

// lead.new / lead.updated carry the lead and, apart, its contact (Leaditio).
v1::Event LeadEvent(const char* type, const v1::Lead& lead,
                    std::vector<std::string> changed = {}) {
  v1::Event event;
  event.set_type(type);
  v1::LeadEventData* data = event.mutable_lead();
  *data->mutable_lead() = lead;
  data->mutable_lead()->clear_phone();
  data->mutable_lead()->clear_email();
  data->mutable_contact()->set_phone(lead.phone());
  data->mutable_contact()->set_email(lead.email());
  for (auto& f : changed) data->add_changed_fields(std::move(f));
  return event;
}

}  // namespace

grpc::ServerUnaryReactor* LeadServiceImpl::CreateLead(
    grpc::CallbackServerContext* ctx, const v1::CreateLeadRequest* req,
    v1::Lead* resp) {
  return ServeCallback(
      deps_, ctx, "leadrelay.v1.LeadService.CreateLead", *req,
      [this, ctx, req, resp](const auth::Caller& caller, FinishCall finish) {
        v1::Lead lead = req->lead();
        absl::Status valid = domain::NormalizeNewLead(lead);
        if (!valid.ok()) return std::move(finish)(valid);
        auto create = [this, ctx, resp, caller, lead = std::move(lead),
                       finish = std::move(finish)]() mutable {
          // Plans with a monthly quota: this lead must fit in it (one short
          // read before batching; concurrent creates may overshoot by a
          // few, see README).
          if (caller.monthly_quota > 0) {
            absl::Status fits =
                deps_.pool->Run([&](Connection& conn) -> absl::Status {
                  LR_ASSIGN_OR_RETURN(
                      int64_t used,
                      store::LeadsThisMonth(conn, caller.account_id));
                  // This lead is not written yet: count it too.
                  return domain::CheckMonthlyQuota(caller.monthly_quota,
                                                   used + 1);
                });
            if (!fits.ok()) return std::move(finish)(fits);
          }
          store::PrepareNewLead(lead);
          v1::Event event = LeadEvent("lead.new", lead);
          store::PrepareEvent(caller.account_id, event);
          // Written with the concurrent CreateLeads of the account (one
          // statement, one commit); a producer's retry returns the lead it
          // created, free of charge.
          deps_.lead_batcher->Create(
              caller.account_id, caller.policy.credit_cost(),
              {std::move(lead), std::move(event), caller.acting_service},
              [ctx, resp, finish = std::move(finish)](
                  absl::StatusOr<store::LeadInsert> inserted) mutable {
                if (inserted.ok()) {
                  *resp = std::move(inserted->lead);
                  // A bulk import counts a replayed create as already
                  // present.
                  if (!inserted->created) {
                    ctx->AddInitialMetadata("x-leadrelay-replayed", "true");
                  }
                }
                std::move(finish)(inserted.status());
              });
        };
        // The quota read waits on the database: not on a gRPC thread.
        if (caller.monthly_quota > 0) {
          deps_.blocking_calls->Run(CredentialKey(*ctx), std::move(create));
        } else {
          create();
        }
      });
}

grpc::Status LeadServiceImpl::ListLeads(grpc::ServerContext* ctx,
                                        const v1::ListLeadsRequest* req,
                                        v1::ListLeadsResponse* resp) {
  return Serve(deps_, ctx, "leadrelay.v1.LeadService.ListLeads", *req,
               [&](const auth::Caller& caller) -> absl::Status {
                 LR_ASSIGN_OR_RETURN(domain::LeadQuery query,
                                     domain::ParseLeadQuery(*req));
                 return deps_.pool->Run([&](Connection& conn) -> absl::Status {
                   LR_ASSIGN_OR_RETURN(
                       store::LeadPage page,
                       store::ListLeads(conn, caller.account_id, query,
                                        deps_.options.max_response_bytes));
                   for (auto& l : page.leads) *resp->add_leads() = std::move(l);
                   // Stored sizes include what lists leave out, so this cut
                   // rarely removes more; it is the response's guarantee.
                   int fit = domain::FittingCount(
                       resp->leads(), deps_.options.max_response_bytes);
                   resp->mutable_leads()->DeleteSubrange(
                       fit, resp->leads_size() - fit);
                   resp->set_total(page.total);
                   resp->set_page(query.page);
                   resp->set_limit(query.limit);
                   resp->set_next_page_token(domain::NextPageToken(
                       query.offset, resp->leads_size(), page.total));
                   return absl::OkStatus();
                 });
               });
}

grpc::ServerUnaryReactor* LeadServiceImpl::GetLead(
    grpc::CallbackServerContext* ctx, const v1::GetLeadRequest* req,
    v1::Lead* resp) {
  return ServeCallback(
      deps_, ctx, "leadrelay.v1.LeadService.GetLead", *req,
      [this, req, resp](const auth::Caller& caller, FinishCall finish) {
        if (req->id().empty()) {
          return std::move(finish)(InvalidRequest("id is required"));
        }
        deps_.point_readers->leads.Read(
            {caller.account_id, req->id()},
            [resp, finish = std::move(finish)](
                absl::StatusOr<v1::Lead> lead) mutable {
              if (lead.ok()) *resp = *std::move(lead);
              std::move(finish)(lead.status());
            });
      });
}

grpc::Status LeadServiceImpl::UpdateLead(grpc::ServerContext* ctx,
                                         const v1::UpdateLeadRequest* req,
                                         v1::Lead* resp) {
  return Serve(
      deps_, ctx, "leadrelay.v1.LeadService.UpdateLead", *req,
      [&](const auth::Caller& caller) -> absl::Status {
        if (req->id().empty()) return InvalidRequest("id is required");
        return deps_.pool->InTransaction([&](Connection& conn) -> absl::Status {
          LR_ASSIGN_OR_RETURN(
              v1::Lead lead,
              store::LockLead(conn, caller.account_id, req->id()));
          LR_ASSIGN_OR_RETURN(std::vector<std::string> changed,
                              domain::ApplyLeadUpdate(*req, lead));
          if (!changed.empty()) {
            SetTimestamp(absl::Now(), lead.mutable_updated_at());
            LR_RETURN_IF_ERROR(store::SaveLead(conn, caller.account_id, lead));
            // Carries the lead's id, so an erasure of the lead finds it.
            LR_RETURN_IF_ERROR(
                store::AppendEvent(conn, caller.account_id,
                                   LeadEvent("lead.updated", lead, changed))
                    .status());
          }
          LR_RETURN_IF_ERROR(store::DebitCredits(conn, caller.account_id,
                                                 caller.policy.credit_cost(),
                                                 PaidCall(caller)));
          *resp = std::move(lead);
          return absl::OkStatus();
        });
      });
}

}  // namespace leadrelay
