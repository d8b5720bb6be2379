#include "bootstrap_platform.h"

#include "absl/strings/ascii.h"
#include "common/status_util.h"
#include "store/platform_repo.h"

namespace leadrelay {

absl::StatusOr<PlatformBootstrapResult> BootstrapPlatformService(
    store::Pool& pool, const std::string& name) {
  bool valid = !name.empty() && name.size() <= 100;
  for (char c : name) {
    if (!absl::ascii_isalnum(c) && c != '.' && c != '_' && c != '-') {
      valid = false;
    }
  }
  if (!valid) {
    return InvalidRequest(
        "a platform service name is 1 to 100 characters of A-Z a-z 0-9 . _ -");
  }
  PlatformBootstrapResult out;
  LR_RETURN_IF_ERROR(
      pool.InTransaction([&](store::Connection& conn) -> absl::Status {
        LR_ASSIGN_OR_RETURN(store::CreatedPlatformService created,
                            store::CreatePlatformServiceKey(conn, name));
        out.service_id = std::move(created.service_id);
        out.platform_key = std::move(created.secret);
        return absl::OkStatus();
      }));
  return out;
}

}  // namespace leadrelay
