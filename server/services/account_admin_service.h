// AccountAdminService: account administration for platform service
// identities (gRPC only).
#ifndef LEADRELAY_SERVER_SERVICES_ACCOUNT_ADMIN_SERVICE_H_
#define LEADRELAY_SERVER_SERVICES_ACCOUNT_ADMIN_SERVICE_H_

#include "leadrelay/v1/account_admin.grpc.pb.h"
#include "services/call.h"

namespace leadrelay {

class AccountAdminServiceImpl final : public v1::AccountAdminService::Service {
 public:
  explicit AccountAdminServiceImpl(ServiceDeps deps) : deps_(std::move(deps)) {}
  grpc::Status CreateAccount(grpc::ServerContext* ctx,
                             const v1::CreateAccountRequest* req,
                             v1::CreateAccountResponse* resp) override;
  grpc::Status GetAccount(grpc::ServerContext* ctx,
                          const v1::GetAccountRequest* req,
                          v1::Account* resp) override;
  grpc::Status ListAccounts(grpc::ServerContext* ctx,
                            const v1::ListAccountsRequest* req,
                            v1::ListAccountsResponse* resp) override;
  grpc::Status UpdateAccount(grpc::ServerContext* ctx,
                             const v1::UpdateAccountRequest* req,
                             v1::Account* resp) override;
  grpc::Status AdjustCredits(grpc::ServerContext* ctx,
                             const v1::AdjustCreditsRequest* req,
                             v1::AdjustCreditsResponse* resp) override;
  grpc::Status ListCreditLedger(grpc::ServerContext* ctx,
                                const v1::ListCreditLedgerRequest* req,
                                v1::ListCreditLedgerResponse* resp) override;

 private:
  ServiceDeps deps_;
};

}  // namespace leadrelay

#endif  // LEADRELAY_SERVER_SERVICES_ACCOUNT_ADMIN_SERVICE_H_
