// Authenticates a call's API key, applies the per-key and account-wide rate
// limits, checks the method's declared scope, and reports the limit in
// response metadata. Repeated bad keys from one client address are
// throttled (auth/failure_throttle.h).
#ifndef LEADRELAY_SERVER_AUTH_AUTHORIZER_H_
#define LEADRELAY_SERVER_AUTH_AUTHORIZER_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "auth/failure_throttle.h"
#include "grpcpp/server_context.h"
#include "leadrelay/v1/options.pb.h"
#include "store/pg.h"

namespace leadrelay::auth {

// Set by the gateway to the HTTP client's address (see ClientAddress).
inline constexpr char kClientAddressHeader[] = "x-leadrelay-client-address";

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
                      absl::Duration cache_ttl = absl::Seconds(30),
                      FailureThrottleOptions throttle = {})
      : pool_(pool), cache_ttl_(cache_ttl), failures_(throttle) {}

  // `method` is the full proto name, e.g. "leadrelay.v1.LeadService.GetLead".
  // May wait on the database (a key with a rate limit, or not cached).
  absl::StatusOr<Caller> Authorize(grpc::ServerContextBase& context,
                                   absl::string_view method);
  // Authorize's answer when it needs no database: a cached key, a malformed
  // or throttled one. nullopt otherwise (call Authorize where waiting is
  // allowed).
  std::optional<absl::StatusOr<Caller>> AuthorizeFromMemory(
      grpc::ServerContextBase& context, absl::string_view method);

  // A key was revoked (its id), or anything may have changed ("").
  void Invalidate(const std::string& key_id);

  // Also accept platform identities (see platform_identity.h).
  void set_platform(PlatformIdentity* platform) { platform_ = platform; }
  // Peers (addresses, as AddressOfPeer gives them) whose
  // kClientAddressHeader is believed: proxies such as a standalone
  // leadrelay-gateway. The in-process gateway (a call without a network
  // peer) is always believed.
  void TrustProxies(std::vector<std::string> addresses) {
    trusted_proxies_ = std::move(addresses);
  }

 private:
  struct CachedKey {
    std::string key_id;
    std::string account_id;
    std::vector<std::string> scopes;
    absl::Time expires;
    int monthly_quota = 0;
  };

  // The client address the failure throttle counts against.
  std::string ClientAddress(grpc::ServerContextBase& context) const;
  // auth_throttled while the client's address is blocked.
  absl::Status CheckNotThrottled(grpc::ServerContextBase& context);
  // The caller of a known key, if its scopes allow `method`.
  absl::StatusOr<Caller> Admit(grpc::ServerContextBase& context,
                               absl::string_view method, std::string key_id,
                               std::string account_id,
                               std::vector<std::string> scopes,
                               int monthly_quota);
  // Admit for a cached key; nullopt when `hash` is not cached.
  std::optional<absl::StatusOr<Caller>> AdmitCached(
      grpc::ServerContextBase& context, absl::string_view method,
      const std::string& hash);

  store::Pool& pool_;
  absl::Duration cache_ttl_;
  PlatformIdentity* platform_ = nullptr;
  FailureThrottle failures_;
  std::vector<std::string> trusted_proxies_;  // set before serving
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, CachedKey> cache_ ABSL_GUARDED_BY(mu_);
};

}  // namespace leadrelay::auth

#endif  // LEADRELAY_SERVER_AUTH_AUTHORIZER_H_
