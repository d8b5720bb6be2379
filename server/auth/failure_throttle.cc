#include "auth/failure_throttle.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/strip.h"

namespace leadrelay::auth {

absl::Duration FailureThrottle::Blocked(const std::string& address,
                                        absl::Time now) {
  if (options_.max_failures <= 0) return absl::ZeroDuration();
  absl::MutexLock lock(&mu_);
  auto it = windows_.find(address);
  if (it == windows_.end()) return absl::ZeroDuration();
  absl::Time end = it->second.start + options_.window;
  if (now >= end) {
    windows_.erase(it);
    return absl::ZeroDuration();
  }
  return it->second.failures >= options_.max_failures ? end - now
                                                      : absl::ZeroDuration();
}

void FailureThrottle::RecordFailure(const std::string& address,
                                    absl::Time now) {
  if (options_.max_failures <= 0) return;
  absl::MutexLock lock(&mu_);
  auto it = windows_.find(address);
  if (it != windows_.end() && now < it->second.start + options_.window) {
    ++it->second.failures;
    return;
  }
  if (it == windows_.end() && windows_.size() >= options_.max_addresses) {
    absl::erase_if(windows_, [&](const auto& entry) {
      return now >= entry.second.start + options_.window;
    });
    if (windows_.size() >= options_.max_addresses) windows_.clear();
  }
  windows_[address] = Window{now, 1};
}

std::string AddressOfPeer(absl::string_view peer) {
  if (absl::ConsumePrefix(&peer, "ipv4:")) {
    return std::string(peer.substr(0, peer.rfind(':')));
  }
  if (absl::ConsumePrefix(&peer, "ipv6:")) {
    // "[addr]:port", or URI-escaped "%5Baddr%5D:port" in newer gRPC.
    for (auto [open, close] :
         {std::pair<absl::string_view, absl::string_view>{"[", "]"},
          {"%5B", "%5D"}}) {
      size_t end = peer.rfind(close);
      if (absl::StartsWith(peer, open) && end != absl::string_view::npos) {
        return std::string(peer.substr(open.size(), end - open.size()));
      }
    }
    return std::string(peer);
  }
  return std::string(peer);
}

}  // namespace leadrelay::auth
