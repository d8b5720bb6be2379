// Throttles repeated authentication failures per client address: after
// `max_failures` bad keys from one address within a window, that address
// is refused (auth_throttled) until the window ends, without its key being
// looked up. In-process: each replica counts on its own, so behind N
// replicas an address gets up to N times the allowance.
#ifndef LEADRELAY_SERVER_AUTH_FAILURE_THROTTLE_H_
#define LEADRELAY_SERVER_AUTH_FAILURE_THROTTLE_H_

#include <cstddef>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace leadrelay::auth {

struct FailureThrottleOptions {
  int max_failures = 20;  // per address per window; 0: no throttle
  absl::Duration window = absl::Minutes(1);
  // Addresses tracked at once; beyond, expired windows are dropped, then
  // all (memory stays bounded whatever the number of addresses).
  size_t max_addresses = 100000;
};

class FailureThrottle {
 public:
  explicit FailureThrottle(FailureThrottleOptions options)
      : options_(options) {}

  // How long `address` must still wait; zero when it may try.
  absl::Duration Blocked(const std::string& address, absl::Time now);
  void RecordFailure(const std::string& address, absl::Time now);

 private:
  struct Window {
    absl::Time start;
    int failures = 0;
  };

  const FailureThrottleOptions options_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Window> windows_ ABSL_GUARDED_BY(mu_);
};

// The client address of a gRPC peer ("ipv4:1.2.3.4:5678",
// "ipv6:[::1]:5678", "unix:/path"), without the port; the peer as given
// when it has no recognisable form.
std::string AddressOfPeer(absl::string_view peer);

}  // namespace leadrelay::auth

#endif  // LEADRELAY_SERVER_AUTH_FAILURE_THROTTLE_H_
