// Creates a platform service identity and a platform key for it from the
// command line (--bootstrap_platform_service).
#ifndef LEADRELAY_SERVER_BOOTSTRAP_PLATFORM_H_
#define LEADRELAY_SERVER_BOOTSTRAP_PLATFORM_H_

#include <string>

#include "absl/status/statusor.h"
#include "store/pg.h"

namespace leadrelay {

struct PlatformBootstrapResult {
  std::string service_id;
  std::string platform_key;  // printed once, never stored
};

// Registers service `name` (1 to 100 characters of [A-Za-z0-9._-], the CN
// its client certificates carry) if new, and gives it a new platform key.
absl::StatusOr<PlatformBootstrapResult> BootstrapPlatformService(
    store::Pool& pool, const std::string& name);

}  // namespace leadrelay

#endif  // LEADRELAY_SERVER_BOOTSTRAP_PLATFORM_H_
