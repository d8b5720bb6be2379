// The monthly lead quota of a plan: what CreateLead enforces.
#ifndef LEADRELAY_SERVER_DOMAIN_QUOTA_RULES_H_
#define LEADRELAY_SERVER_DOMAIN_QUOTA_RULES_H_

#include <cstdint>

#include "absl/status/status.h"

namespace leadrelay::domain {

inline constexpr char kReasonQuotaExceeded[] = "quota_exceeded";

// `quota` is the plan's monthly_quota (0: none); `leads_this_month` counts
// the account's leads delivered since the start of the calendar month, the one
// being created included. PERMISSION_DENIED with reason quota_exceeded when
// it would go past the quota.
absl::Status CheckMonthlyQuota(int quota, int64_t leads_this_month);

}  // namespace leadrelay::domain

#endif  // LEADRELAY_SERVER_DOMAIN_QUOTA_RULES_H_
