#include "common/status_util.h"
#include "domain/lead_rules.h"
#include "domain/quota_rules.h"
#include "services/services.h"
#include "store/accounts_repo.h"
#include "store/events_repo.h"
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

grpc::Status LeadServiceImpl::CreateLead(grpc::ServerContext* ctx,
                                         const v1::CreateLeadRequest* req,
                                         v1::Lead* resp) {
  return Serve(
      deps_, ctx, "leadrelay.v1.LeadService.CreateLead",
      [&](const auth::Caller& caller) -> absl::Status {
        v1::Lead lead = req->lead();
        LR_RETURN_IF_ERROR(domain::NormalizeNewLead(lead));
        return deps_.pool->InTransaction([&](Connection& conn) -> absl::Status {
          LR_ASSIGN_OR_RETURN(store::LeadInsert inserted,
                              store::InsertLead(conn, caller.account_id, lead));
          *resp = std::move(inserted.lead);
          // A producer's retry returns the lead it created, free of charge.
          if (!inserted.created) return absl::OkStatus();
          // Plans with a monthly quota: this lead must fit in it.
          if (caller.monthly_quota > 0) {
            LR_ASSIGN_OR_RETURN(int64_t used,
                                store::LeadsThisMonth(conn, caller.account_id));
            LR_RETURN_IF_ERROR(
                domain::CheckMonthlyQuota(caller.monthly_quota, used));
          }
          LR_RETURN_IF_ERROR(store::DebitCredits(conn, caller.account_id,
                                                 caller.policy.credit_cost(),
                                                 PaidCall(caller)));
          return store::AppendEvent(conn, caller.account_id,
                                    LeadEvent("lead.new", *resp))
              .status();
        });
      });
}

grpc::Status LeadServiceImpl::ListLeads(grpc::ServerContext* ctx,
                                        const v1::ListLeadsRequest* req,
                                        v1::ListLeadsResponse* resp) {
  return Serve(deps_, ctx, "leadrelay.v1.LeadService.ListLeads",
               [&](const auth::Caller& caller) -> absl::Status {
                 LR_ASSIGN_OR_RETURN(domain::LeadQuery query,
                                     domain::ParseLeadQuery(*req));
                 return deps_.pool->Run([&](Connection& conn) -> absl::Status {
                   LR_ASSIGN_OR_RETURN(
                       store::LeadPage page,
                       store::ListLeads(conn, caller.account_id, query));
                   for (auto& l : page.leads) *resp->add_leads() = std::move(l);
                   resp->set_total(page.total);
                   resp->set_page(query.page);
                   resp->set_limit(query.limit);
                   return absl::OkStatus();
                 });
               });
}

grpc::Status LeadServiceImpl::GetLead(grpc::ServerContext* ctx,
                                      const v1::GetLeadRequest* req,
                                      v1::Lead* resp) {
  return Serve(
      deps_, ctx, "leadrelay.v1.LeadService.GetLead",
      [&](const auth::Caller& caller) -> absl::Status {
        if (req->id().empty()) return InvalidRequest("id is required");
        return deps_.pool->Run([&](Connection& conn) -> absl::Status {
          LR_ASSIGN_OR_RETURN(
              *resp, store::GetLead(conn, caller.account_id, req->id(), false));
          return absl::OkStatus();
        });
      });
}

grpc::Status LeadServiceImpl::UpdateLead(grpc::ServerContext* ctx,
                                         const v1::UpdateLeadRequest* req,
                                         v1::Lead* resp) {
  return Serve(
      deps_, ctx, "leadrelay.v1.LeadService.UpdateLead",
      [&](const auth::Caller& caller) -> absl::Status {
        if (req->id().empty()) return InvalidRequest("id is required");
        return deps_.pool->InTransaction([&](Connection& conn) -> absl::Status {
          LR_ASSIGN_OR_RETURN(
              v1::Lead lead,
              store::GetLead(conn, caller.account_id, req->id(), true));
          LR_ASSIGN_OR_RETURN(std::vector<std::string> changed,
                              domain::ApplyLeadUpdate(*req, lead));
          if (!changed.empty()) {
            SetTimestamp(absl::Now(), lead.mutable_updated_at());
            LR_RETURN_IF_ERROR(store::SaveLead(conn, caller.account_id, lead));
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
