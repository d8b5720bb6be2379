#include "store/quota_repo.h"

#include "common/status_util.h"

namespace leadrelay::store {

absl::StatusOr<int64_t> LeadsThisMonth(Connection& conn,
                                       const std::string& account_id) {
  // Served by leads_account_delivered (account_id, delivered_at DESC).
  LR_ASSIGN_OR_RETURN(
      Result r, conn.Exec("SELECT count(*) FROM leads WHERE account_id = $1 "
                          "AND delivered_at >= date_trunc('month', now())",
                          {account_id}));
  return r.Int(0, 0);
}

}  // namespace leadrelay::store
