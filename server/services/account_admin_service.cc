#include "services/account_admin_service.h"

#include <cstdint>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status_util.h"
#include "store/accounts_repo.h"
#include "store/api_keys_repo.h"
#include "store/credit_ledger_repo.h"
#include "store/platform_repo.h"

namespace leadrelay {
namespace {

using store::Connection;

constexpr char kService[] = "leadrelay.v1.AccountAdminService.";

std::string Method(absl::string_view name) {
  return absl::StrCat(kService, name);
}

absl::Status ValidateName(const std::string& name) {
  if (name.empty() || name.size() > 100) {
    return InvalidRequest("name is required (at most 100 characters)");
  }
  return absl::OkStatus();
}

// 0 means `fallback`; otherwise 1..max.
absl::StatusOr<int> PageSize(int requested, int fallback, int max) {
  if (requested == 0) return fallback;
  if (requested < 0 || requested > max) {
    return InvalidRequest(absl::StrCat("page_size must be 1 to ", max));
  }
  return requested;
}

// Account page tokens: "<created_at in µs>.<account id>" of the last row.
absl::Status ParseAccountToken(const std::string& token,
                               store::AccountFilter& filter) {
  if (token.empty()) return absl::OkStatus();
  std::pair<std::string, std::string> parts =
      absl::StrSplit(token, absl::MaxSplits('.', 1));
  if (!absl::SimpleAtoi(parts.first, &filter.after_created_us) ||
      parts.second.empty()) {
    return InvalidRequest("page_token is not one this API returned");
  }
  filter.after_id = parts.second;
  return absl::OkStatus();
}

}  // namespace

grpc::Status AccountAdminServiceImpl::CreateAccount(
    grpc::ServerContext* ctx, const v1::CreateAccountRequest* req,
    v1::CreateAccountResponse* resp) {
  return Serve(
      deps_, ctx, Method("CreateAccount"),
      [&](const auth::Caller& caller) -> absl::Status {
        LR_RETURN_IF_ERROR(ValidateName(req->name()));
        if (req->plan().empty()) return InvalidRequest("plan is required");
        if (req->initial_credits() < 0) {
          return InvalidRequest("initial_credits must be 0 or more");
        }
        return deps_.pool->InTransaction([&](Connection& conn) -> absl::Status {
          LR_ASSIGN_OR_RETURN(
              *resp->mutable_account(),
              store::CreateAccount(conn, req->name(), req->plan(),
                                   req->initial_credits(),
                                   {"initial credits", caller.method,
                                    caller.acting_service, ""}));
          LR_ASSIGN_OR_RETURN(store::CreatedApiKey key,
                              store::CreateApiKey(conn, resp->account().id(),
                                                  "first admin", {"admin"}));
          *resp->mutable_admin_key() = std::move(key.api_key);
          resp->set_key(std::move(key.secret));
          return absl::OkStatus();
        });
      });
}

grpc::Status AccountAdminServiceImpl::GetAccount(
    grpc::ServerContext* ctx, const v1::GetAccountRequest* req,
    v1::Account* resp) {
  return Serve(deps_, ctx, Method("GetAccount"),
               [&](const auth::Caller&) -> absl::Status {
                 if (req->id().empty()) return InvalidRequest("id is required");
                 return deps_.pool->Run([&](Connection& conn) -> absl::Status {
                   LR_ASSIGN_OR_RETURN(*resp,
                                       store::GetAccount(conn, req->id()));
                   return absl::OkStatus();
                 });
               });
}

grpc::Status AccountAdminServiceImpl::ListAccounts(
    grpc::ServerContext* ctx, const v1::ListAccountsRequest* req,
    v1::ListAccountsResponse* resp) {
  return Serve(
      deps_, ctx, Method("ListAccounts"),
      [&](const auth::Caller&) -> absl::Status {
        store::AccountFilter filter;
        LR_ASSIGN_OR_RETURN(filter.limit, PageSize(req->page_size(), 50, 100));
        LR_RETURN_IF_ERROR(ParseAccountToken(req->page_token(), filter));
        if (req->name_contains().size() > 100) {
          return InvalidRequest("name_contains: at most 100 characters");
        }
        filter.plan = req->plan();
        filter.name_contains = req->name_contains();
        return deps_.pool->Run([&](Connection& conn) -> absl::Status {
          LR_ASSIGN_OR_RETURN(store::AccountPage page,
                              store::ListAccounts(conn, filter));
          for (auto& a : page.accounts) *resp->add_accounts() = std::move(a);
          if (page.more) {
            resp->set_next_page_token(absl::StrCat(
                page.last_created_us, ".", resp->accounts().rbegin()->id()));
          }
          return absl::OkStatus();
        });
      });
}

grpc::Status AccountAdminServiceImpl::UpdateAccount(
    grpc::ServerContext* ctx, const v1::UpdateAccountRequest* req,
    v1::Account* resp) {
  return Serve(
      deps_, ctx, Method("UpdateAccount"),
      [&](const auth::Caller&) -> absl::Status {
        if (req->id().empty()) return InvalidRequest("id is required");
        store::AccountChanges changes;
        if (req->has_name()) {
          LR_RETURN_IF_ERROR(ValidateName(req->name()));
          changes.name = req->name();
        }
        if (req->has_plan()) changes.plan = req->plan();
        if (req->has_suspended()) changes.suspended = req->suspended();
        LR_RETURN_IF_ERROR(
            deps_.pool->InTransaction([&](Connection& conn) -> absl::Status {
              LR_ASSIGN_OR_RETURN(
                  *resp, store::UpdateAccount(conn, req->id(), changes));
              return absl::OkStatus();
            }));
        // Cached keys may carry the old plan or state (other
        // processes hear it through NOTIFY).
        deps_.authorizer->Invalidate("");
        return absl::OkStatus();
      });
}

grpc::Status AccountAdminServiceImpl::AdjustCredits(
    grpc::ServerContext* ctx, const v1::AdjustCreditsRequest* req,
    v1::AdjustCreditsResponse* resp) {
  return Serve(
      deps_, ctx, Method("AdjustCredits"),
      [&](const auth::Caller& caller) -> absl::Status {
        if (req->account_id().empty()) {
          return InvalidRequest("account_id is required");
        }
        if (req->amount() == 0) {
          return InvalidRequest(
              "amount must be positive (add) or negative "
              "(remove), not 0");
        }
        if (req->reason().empty() || req->reason().size() > 200) {
          return InvalidRequest("reason is required (at most 200 characters)");
        }
        if (req->idempotency_key().empty() ||
            req->idempotency_key().size() > 100) {
          return InvalidRequest(
              "idempotency_key is required (at most 100 characters)");
        }
        return deps_.pool->InTransaction([&](Connection& conn) -> absl::Status {
          LR_RETURN_IF_ERROR(
              store::GetAccount(conn, req->account_id()).status());
          LR_ASSIGN_OR_RETURN(
              store::Adjustment made,
              store::AdjustCredits(
                  conn, req->account_id(), req->amount(),
                  {req->reason(), caller.method, caller.acting_service,
                   req->idempotency_key()}));
          *resp->mutable_entry() = std::move(made.entry);
          resp->set_credits(static_cast<int32_t>(made.credits));
          resp->set_applied(made.applied);
          return absl::OkStatus();
        });
      });
}

grpc::Status AccountAdminServiceImpl::ListCreditLedger(
    grpc::ServerContext* ctx, const v1::ListCreditLedgerRequest* req,
    v1::ListCreditLedgerResponse* resp) {
  return Serve(
      deps_, ctx, Method("ListCreditLedger"),
      [&](const auth::Caller&) -> absl::Status {
        if (req->account_id().empty()) {
          return InvalidRequest("account_id is required");
        }
        LR_ASSIGN_OR_RETURN(int limit, PageSize(req->page_size(), 100, 500));
        int64_t before = 0;
        if (!req->page_token().empty() &&
            (!absl::SimpleAtoi(req->page_token(), &before) || before <= 0)) {
          return InvalidRequest("page_token is not one this API returned");
        }
        return deps_.pool->Run([&](Connection& conn) -> absl::Status {
          LR_RETURN_IF_ERROR(
              store::GetAccount(conn, req->account_id()).status());
          LR_ASSIGN_OR_RETURN(
              store::LedgerPage page,
              store::ListCreditLedger(conn, req->account_id(), before, limit));
          for (auto& e : page.entries) *resp->add_entries() = std::move(e);
          if (page.more) {
            resp->set_next_page_token(
                absl::StrCat(resp->entries().rbegin()->id()));
          }
          return absl::OkStatus();
        });
      });
}

}  // namespace leadrelay
