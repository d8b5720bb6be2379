#include "store/request_tag.h"

#include "absl/strings/str_cat.h"
#include "common/request_context.h"

namespace leadrelay::store {

std::string BeginStatement(absl::string_view request_id) {
  // Sanitized ids hold no quote or backslash, so the literal is safe.
  std::string safe = SanitizeRequestId(request_id);
  if (safe.empty()) return "BEGIN";
  return absl::StrCat("BEGIN; SELECT set_config('leadrelay.request_id', '",
                      safe, "', true)");
}

std::string BeginStatementForCurrentRequest() {
  const RequestContext* request = CurrentRequest();
  return request == nullptr ? "BEGIN" : BeginStatement(request->request_id);
}

}  // namespace leadrelay::store
