// Authenticates a call's API key, applies the per-key rate limit, checks the
// method's declared scope, and reports the limit in response metadata.
#ifndef LEADRELAY_SERVER_AUTH_AUTHORIZER_H_
#define LEADRELAY_SERVER_AUTH_AUTHORIZER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/server_context.h"
#include "leadrelay/v1/options.pb.h"
#include "store/pg.h"

namespace leadrelay::auth {

struct Caller {
  std::string key_id;
  std::string account_id;
  std::vector<std::string> scopes;
  v1::MethodPolicy policy;
};

class Authorizer {
 public:
  explicit Authorizer(store::Pool& pool) : pool_(pool) {}

  // `method` is the full proto name, e.g. "leadrelay.v1.LeadService.GetLead".
  absl::StatusOr<Caller> Authorize(grpc::ServerContextBase& context,
                                   absl::string_view method);

 private:
  store::Pool& pool_;
};

}  // namespace leadrelay::auth

#endif  // LEADRELAY_SERVER_AUTH_AUTHORIZER_H_
