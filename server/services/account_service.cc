#include "auth/access_rules.h"
#include "common/status_util.h"
#include "domain/input_limits.h"
#include "services/services.h"
#include "store/accounts_repo.h"
#include "store/api_keys_repo.h"

namespace leadrelay {

using store::Connection;

grpc::ServerUnaryReactor* AccountServiceImpl::GetMe(
    grpc::CallbackServerContext* ctx, const v1::GetMeRequest* req,
    v1::GetMeResponse* resp) {
  return ServeCallback(
      deps_, ctx, "leadrelay.v1.AccountService.GetMe", *req,
      [this, ctx, resp](const auth::Caller& caller, FinishCall finish) {
        // A platform service acting for the account made the call with no
        // key of the account's: api_key stays empty. (Rare: one plain read,
        // off gRPC's threads.)
        if (!caller.acting_service.empty()) {
          auto read = [this, resp, account_id = caller.account_id,
                       finish = std::move(finish)]() mutable {
            std::move(finish)(
                deps_.pool->Run([&](Connection& conn) -> absl::Status {
                  LR_ASSIGN_OR_RETURN(*resp->mutable_account(),
                                      store::GetAccount(conn, account_id));
                  return absl::OkStatus();
                }));
          };
          return deps_.blocking_calls->Run(CredentialKey(*ctx),
                                           std::move(read));
        }
        deps_.point_readers->accounts_and_keys.Read(
            {caller.account_id, caller.key_id},
            [resp, finish = std::move(finish)](
                absl::StatusOr<store::AccountAndKey> me) mutable {
              if (me.ok()) {
                *resp->mutable_account() = std::move(me->account);
                *resp->mutable_api_key() = std::move(me->key);
              }
              std::move(finish)(me.status());
            });
      });
}

grpc::Status AccountServiceImpl::GetCredits(grpc::ServerContext* ctx,
                                            const v1::GetCreditsRequest*,
                                            v1::GetCreditsResponse* resp) {
  return Serve(deps_, ctx, "leadrelay.v1.AccountService.GetCredits",
               [&](const auth::Caller& caller) {
                 return deps_.pool->Run([&](Connection& conn) -> absl::Status {
                   LR_ASSIGN_OR_RETURN(
                       v1::Account account,
                       store::GetAccount(conn, caller.account_id));
                   resp->set_credits(account.credits());
                   resp->set_plan(account.plan());
                   return absl::OkStatus();
                 });
               });
}

grpc::Status AccountServiceImpl::GetAccountStats(
    grpc::ServerContext* ctx, const v1::GetAccountStatsRequest*,
    v1::AccountStats* resp) {
  return Serve(deps_, ctx, "leadrelay.v1.AccountService.GetAccountStats",
               [&](const auth::Caller& caller) {
                 return deps_.pool->Run([&](Connection& conn) -> absl::Status {
                   LR_ASSIGN_OR_RETURN(
                       *resp, store::GetAccountStats(conn, caller.account_id));
                   return absl::OkStatus();
                 });
               });
}

grpc::Status ApiKeyServiceImpl::CreateApiKey(grpc::ServerContext* ctx,
                                             const v1::CreateApiKeyRequest* req,
                                             v1::CreateApiKeyResponse* resp) {
  return Serve(
      deps_, ctx, "leadrelay.v1.ApiKeyService.CreateApiKey", *req,
      [&](const auth::Caller& caller) -> absl::Status {
        if (req->name().empty() || req->name().size() > 100) {
          return InvalidRequest("name is required (at most 100 characters)");
        }
        std::vector<std::string> scopes(req->scopes().begin(),
                                        req->scopes().end());
        if (scopes.empty()) scopes = {"read", "write"};
        scopes = domain::Deduplicated(std::move(scopes));
        LR_RETURN_IF_ERROR(auth::ValidateScopes(scopes));
        return deps_.pool->InTransaction([&](Connection& conn) -> absl::Status {
          LR_ASSIGN_OR_RETURN(int active, store::CountActiveApiKeysLocked(
                                              conn, caller.account_id));
          if (active >= auth::kMaxActiveKeysPerAccount) {
            return TooManyKeys(auth::kMaxActiveKeysPerAccount);
          }
          LR_ASSIGN_OR_RETURN(store::CreatedApiKey created,
                              store::CreateApiKey(conn, caller.account_id,
                                                  req->name(), scopes));
          *resp->mutable_api_key() = std::move(created.api_key);
          resp->set_key(std::move(created.secret));
          return absl::OkStatus();
        });
      });
}

grpc::Status ApiKeyServiceImpl::ListApiKeys(grpc::ServerContext* ctx,
                                            const v1::ListApiKeysRequest*,
                                            v1::ListApiKeysResponse* resp) {
  return Serve(deps_, ctx, "leadrelay.v1.ApiKeyService.ListApiKeys",
               [&](const auth::Caller& caller) {
                 return deps_.pool->Run([&](Connection& conn) -> absl::Status {
                   LR_ASSIGN_OR_RETURN(
                       std::vector<v1::ApiKey> keys,
                       store::ListApiKeys(conn, caller.account_id));
                   for (auto& k : keys) *resp->add_api_keys() = std::move(k);
                   return absl::OkStatus();
                 });
               });
}

grpc::Status ApiKeyServiceImpl::RevokeApiKey(grpc::ServerContext* ctx,
                                             const v1::RevokeApiKeyRequest* req,
                                             v1::RevokeApiKeyResponse* resp) {
  return Serve(deps_, ctx, "leadrelay.v1.ApiKeyService.RevokeApiKey", *req,
               [&](const auth::Caller& caller) {
                 return deps_.pool->Run([&](Connection& conn) -> absl::Status {
                   LR_ASSIGN_OR_RETURN(
                       *resp->mutable_api_key(),
                       store::RevokeApiKey(conn, caller.account_id, req->id()));
                   deps_.authorizer->Invalidate(req->id());
                   return absl::OkStatus();
                 });
               });
}

}  // namespace leadrelay
