// Usage counted against the plan's monthly quota.
#ifndef LEADRELAY_SERVER_STORE_QUOTA_REPO_H_
#define LEADRELAY_SERVER_STORE_QUOTA_REPO_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "store/pg.h"

namespace leadrelay::store {

// Leads of the account delivered since the start of this calendar month, as
// GetAccountStats counts leads_this_month; sees the caller's own
// uncommitted insert.
absl::StatusOr<int64_t> LeadsThisMonth(Connection& conn,
                                       const std::string& account_id);

}  // namespace leadrelay::store

#endif  // LEADRELAY_SERVER_STORE_QUOTA_REPO_H_
