#include "domain/address_policy.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

#include "absl/strings/str_cat.h"

namespace leadrelay::domain {
namespace {

struct Range4 {
  uint8_t net[4];
  int bits;
  const char* name;
};

constexpr Range4 kForbidden4[] = {
    {{0, 0, 0, 0}, 8, "this-network (0.0.0.0/8)"},
    {{10, 0, 0, 0}, 8, "private (10.0.0.0/8)"},
    {{100, 64, 0, 0}, 10, "carrier-grade NAT (100.64.0.0/10)"},
    {{127, 0, 0, 0}, 8, "loopback (127.0.0.0/8)"},
    {{169, 254, 0, 0}, 16, "link-local / cloud metadata (169.254.0.0/16)"},
    {{172, 16, 0, 0}, 12, "private (172.16.0.0/12)"},
    {{192, 0, 0, 0}, 24, "IETF protocol assignments (192.0.0.0/24)"},
    {{192, 0, 2, 0}, 24, "documentation (192.0.2.0/24)"},
    {{192, 88, 99, 0}, 24, "6to4 relay anycast (192.88.99.0/24)"},
    {{192, 168, 0, 0}, 16, "private (192.168.0.0/16)"},
    {{198, 18, 0, 0}, 15, "benchmarking (198.18.0.0/15)"},
    {{198, 51, 100, 0}, 24, "documentation (198.51.100.0/24)"},
    {{203, 0, 113, 0}, 24, "documentation (203.0.113.0/24)"},
    {{224, 0, 0, 0}, 4, "multicast (224.0.0.0/4)"},
    {{240, 0, 0, 0}, 4, "reserved (240.0.0.0/4)"},
};

bool InPrefix(const uint8_t* address, const uint8_t* net, int bits) {
  for (int i = 0; bits > 0; ++i, bits -= 8) {
    uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
    if ((address[i] & mask) != (net[i] & mask)) return false;
  }
  return true;
}

struct Range6 {
  uint8_t net[16];
  int bits;
  const char* name;
};

constexpr Range6 kForbidden6[] = {
    {{0x01, 0x00}, 64, "discard-only (100::/64)"},
    {{0x20, 0x01, 0x0d, 0xb8}, 32, "documentation (2001:db8::/32)"},
    {{0x20, 0x01, 0x00, 0x00}, 23, "IETF protocol assignments (2001::/23)"},
    {{0xfc}, 7, "unique local (fc00::/7)"},
    {{0xfe, 0x80}, 10, "link-local (fe80::/10)"},
    {{0xfe, 0xc0}, 10, "site-local (fec0::/10)"},
    {{0xff}, 8, "multicast (ff00::/8)"},
};

}  // namespace

std::optional<std::string> ForbiddenIpv4Range(const uint8_t ipv4[4]) {
  for (const Range4& r : kForbidden4) {
    if (InPrefix(ipv4, r.net, r.bits)) return std::string(r.name);
  }
  return std::nullopt;
}

std::optional<std::string> ForbiddenIpv6Range(const uint8_t ipv6[16]) {
  static constexpr uint8_t kZero[16] = {};
  // ::/96 covers :: (unspecified), ::1 (loopback) and IPv4-compatible forms.
  if (std::memcmp(ipv6, kZero, 15) == 0 && ipv6[15] <= 1) {
    return std::string(ipv6[15] == 0 ? "unspecified (::)" : "loopback (::1)");
  }
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0,    0,
                                          0, 0, 0, 0, 0xff, 0xff};
  static constexpr uint8_t kNat64[12] = {0, 0x64, 0xff, 0x9b};
  if (std::memcmp(ipv6, kMapped, 12) == 0 ||
      std::memcmp(ipv6, kNat64, 12) == 0 || std::memcmp(ipv6, kZero, 12) == 0) {
    if (auto inner = ForbiddenIpv4Range(ipv6 + 12)) {
      return absl::StrCat("IPv6 form of ", *inner);
    }
    return std::nullopt;
  }
  if (ipv6[0] == 0x20 && ipv6[1] == 0x02) {  // 6to4 embeds an IPv4 address
    if (auto inner = ForbiddenIpv4Range(ipv6 + 2)) {
      return absl::StrCat("6to4 form of ", *inner);
    }
  }
  for (const Range6& r : kForbidden6) {
    if (InPrefix(ipv6, r.net, r.bits)) return std::string(r.name);
  }
  return std::nullopt;
}

std::optional<std::string> ForbiddenRange(const sockaddr* address) {
  if (address->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(address);
    return ForbiddenIpv4Range(
        reinterpret_cast<const uint8_t*>(&in->sin_addr.s_addr));
  }
  if (address->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address);
    return ForbiddenIpv6Range(in6->sin6_addr.s6_addr);
  }
  return std::string("non-IP address family");
}

std::optional<std::string> ForbiddenLiteral(absl::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  std::string text(host);
  uint8_t v4[4];
  if (inet_pton(AF_INET, text.c_str(), v4) == 1) return ForbiddenIpv4Range(v4);
  uint8_t v6[16];
  if (inet_pton(AF_INET6, text.c_str(), v6) == 1) {
    return ForbiddenIpv6Range(v6);
  }
  // Resolvers also take the legacy IPv4 forms ("127.1", "0x7f.1",
  // "2130706433"): judge them as the address they stand for.
  in_addr legacy;
  if (inet_aton(text.c_str(), &legacy) != 0) {
    return ForbiddenIpv4Range(reinterpret_cast<const uint8_t*>(&legacy.s_addr));
  }
  return std::nullopt;
}

}  // namespace leadrelay::domain
