// Which IP addresses a webhook may connect to. Everything that is not a
// public unicast address is refused: loopback, private, link-local, CGNAT,
// multicast, reserved, documentation, benchmarking, cloud metadata, and the
// IPv6 forms that embed such an IPv4 address. Pure.
#ifndef LEADRELAY_SERVER_DOMAIN_ADDRESS_POLICY_H_
#define LEADRELAY_SERVER_DOMAIN_ADDRESS_POLICY_H_

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace leadrelay::domain {

// nullopt when `ipv4` (network byte order, 4 bytes) is public; else the name
// of the range it falls in, e.g. "private (10.0.0.0/8)".
std::optional<std::string> ForbiddenIpv4Range(const uint8_t ipv4[4]);
std::optional<std::string> ForbiddenIpv6Range(const uint8_t ipv6[16]);

// For a connected-to socket address (AF_INET or AF_INET6).
std::optional<std::string> ForbiddenRange(const sockaddr* address);

// For a literal like "10.1.2.3", "::ffff:127.0.0.1" or "[fe80::1]";
// nullopt also when `host` is not an IP literal (a name is resolved and
// checked at connect time).
std::optional<std::string> ForbiddenLiteral(absl::string_view host);

}  // namespace leadrelay::domain

#endif  // LEADRELAY_SERVER_DOMAIN_ADDRESS_POLICY_H_
