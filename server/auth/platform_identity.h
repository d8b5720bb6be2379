// Platform service identities: a platform key (scope `platform`, bound to no
// account) or a verified client certificate whose subject CN names a
// registered service. A platform caller acts for the account named in
// x-leadrelay-account, exactly as that account's admin key would; each call
// is recorded (service, account, method) in the authentication round trip.
#ifndef LEADRELAY_SERVER_AUTH_PLATFORM_IDENTITY_H_
#define LEADRELAY_SERVER_AUTH_PLATFORM_IDENTITY_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "auth/platform_rules.h"
#include "grpcpp/server_context.h"
#include "store/pg.h"

namespace leadrelay::auth {

struct Caller;

struct PlatformOptions {
  // Accept platform identities on the REST surface too.
  bool allow_over_rest = false;
};

class PlatformIdentity {
 public:
  PlatformIdentity(store::Pool& pool, PlatformOptions options)
      : pool_(pool), options_(options) {}

  // nullopt when the call carries no platform credential (the account-key
  // path decides); otherwise the platform caller or why it is refused.
  std::optional<absl::StatusOr<Caller>> Authorize(
      grpc::ServerContextBase& context, absl::string_view method);
  // Whether Authorize would take the call (it carries a platform
  // credential), without its database lookup.
  bool Claims(grpc::ServerContextBase& context) const;

 private:
  struct Presented {
    Credential credential;
    std::string key;
    std::string common_name;
  };
  // The credential the call presents; nullopt when it carries none of a
  // platform's.
  static std::optional<Presented> PlatformCredentialOf(
      grpc::ServerContextBase& context);

  store::Pool& pool_;
  PlatformOptions options_;
};

// For account keys: naming an account other than the key's own is
// forbidden, and so are platform-only methods.
absl::Status CheckAccountKeyCall(grpc::ServerContextBase& context,
                                 const Caller& caller);

}  // namespace leadrelay::auth

#endif  // LEADRELAY_SERVER_AUTH_PLATFORM_IDENTITY_H_
