// Authenticates a call's API key, applies the per-key rate limit, checks the
// method's declared scope, and reports the limit in response metadata.
#ifndef LEADRELAY_SERVER_AUTH_AUTHORIZER_H_
#define LEADRELAY_SERVER_AUTH_AUTHORIZER_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/server_context.h"
#include "leadrelay/v1/options.pb.h"
#include "store/pg.h"

namespace leadrelay::auth {

struct Caller {
  std::string key_id;
  std::string account_id;
  std::vector<std::string> scopes;
  v1::MethodPolicy policy;
  // The full method name, e.g. "leadrelay.v1.LeadService.CreateLead".
  std::string method;
  // The platform service acting for account_id; empty for account keys.
  std::string acting_service;
  // The account's plan's monthly lead quota; 0: none.
  int monthly_quota = 0;
};

class PlatformIdentity;

// Keys of unlimited plans are cached for `cache_ttl` (they need no counter
// in the database); a revocation evicts them at once in this process and,
// through NOTIFY, in every other one.
class Authorizer {
 public:
  explicit Authorizer(store::Pool& pool,
                      absl::Duration cache_ttl = absl::Seconds(30))
      : pool_(pool), cache_ttl_(cache_ttl) {}

  // `method` is the full proto name, e.g. "leadrelay.v1.LeadService.GetLead".
  absl::StatusOr<Caller> Authorize(grpc::ServerContextBase& context,
                                   absl::string_view method);

  // A key was revoked (its id), or anything may have changed ("").
  void Invalidate(const std::string& key_id);

  // Also accept platform identities (see platform_identity.h).
  void set_platform(PlatformIdentity* platform) { platform_ = platform; }

 private:
  struct CachedKey {
    std::string key_id;
    std::string account_id;
    std::vector<std::string> scopes;
    absl::Time expires;
    int monthly_quota = 0;
  };

  store::Pool& pool_;
  absl::Duration cache_ttl_;
  PlatformIdentity* platform_ = nullptr;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, CachedKey> cache_ ABSL_GUARDED_BY(mu_);
};

}  // namespace leadrelay::auth

#endif  // LEADRELAY_SERVER_AUTH_AUTHORIZER_H_
