#include "domain/quota_rules.h"

#include "absl/strings/str_cat.h"
#include "common/status_util.h"

namespace leadrelay::domain {

absl::Status CheckMonthlyQuota(int quota, int64_t leads_this_month) {
  if (quota <= 0 || leads_this_month <= quota) return absl::OkStatus();
  return Forbidden(absl::StrCat("the plan's monthly quota of ", quota,
                                " leads is used up until the month ends; "
                                "a plan with a larger quota lifts it"),
                   kReasonQuotaExceeded);
}

}  // namespace leadrelay::domain
