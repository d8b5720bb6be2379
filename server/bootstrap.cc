#include "bootstrap.h"

#include "common/status_util.h"
#include "store/accounts_repo.h"
#include "store/api_keys_repo.h"

namespace leadrelay {

absl::StatusOr<BootstrapResult> BootstrapAccount(store::Pool& pool,
                                                 const std::string& name,
                                                 const std::string& plan,
                                                 int credits) {
  BootstrapResult out;
  LR_RETURN_IF_ERROR(
      pool.InTransaction([&](store::Connection& conn) -> absl::Status {
        LR_ASSIGN_OR_RETURN(
            v1::Account account,
            store::CreateAccount(conn, name, plan, credits,
                                 {"initial credits", "bootstrap", "", ""}));
        LR_ASSIGN_OR_RETURN(store::CreatedApiKey key,
                            store::CreateApiKey(conn, account.id(),
                                                "bootstrap admin", {"admin"}));
        out.account_id = account.id();
        out.api_key = std::move(key.secret);
        return absl::OkStatus();
      }));
  return out;
}

}  // namespace leadrelay
