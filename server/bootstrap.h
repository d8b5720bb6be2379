// Creates an account and its first admin key from the command line.
#ifndef LEADRELAY_SERVER_BOOTSTRAP_H_
#define LEADRELAY_SERVER_BOOTSTRAP_H_

#include <string>

#include "absl/status/statusor.h"
#include "store/pg.h"

namespace leadrelay {

struct BootstrapResult {
  std::string account_id;
  std::string api_key;  // printed once, never stored
};

absl::StatusOr<BootstrapResult> BootstrapAccount(store::Pool& pool,
                                                 const std::string& name,
                                                 const std::string& plan,
                                                 int credits);

}  // namespace leadrelay

#endif  // LEADRELAY_SERVER_BOOTSTRAP_H_
