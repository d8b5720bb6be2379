// Fuzzes webhook URL parsing and validation and the address policy: the
// input is a URL (also tried as a bare host literal and a secret); its first
// 16 bytes are also checked as raw IPv4/IPv6 addresses.
#include <arpa/inet.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "domain/address_policy.h"
#include "domain/webhook_rules.h"

namespace {

using leadrelay::domain::ForbiddenIpv4Range;
using leadrelay::domain::ForbiddenIpv6Range;
using leadrelay::domain::ForbiddenLiteral;

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = leadrelay::domain::ParseHttpUrl(text);
  if (parsed.ok()) {
    Check(parsed->scheme == "http" || parsed->scheme == "https");
    Check(!parsed->host.empty());
    Check(parsed->port >= 0 && parsed->port <= 65535);
    Check(!parsed->path.empty() && parsed->path[0] == '/');
    Check(parsed->path.find('#') == std::string::npos);
    for (char c : parsed->host) Check(c > ' ' && c < 0x7f && c != '@');
  }
  // A URL accepted without an allow-list is https and not at a forbidden
  // literal address; the allow-list only ever widens what is accepted.
  const std::vector<std::string> allowed = {"localhost", "127.0.0.1"};
  bool strict = leadrelay::domain::ValidateWebhookUrl(text, {}).ok();
  bool lenient = leadrelay::domain::ValidateWebhookUrl(text, allowed).ok();
  if (strict) {
    Check(parsed.ok() && parsed->scheme == "https");
    Check(!ForbiddenLiteral(parsed->host).has_value());
    // Nor at one a resolver would read from a legacy IPv4 form.
    in_addr legacy;
    if (inet_aton(parsed->host.c_str(), &legacy) != 0) {
      Check(
          !ForbiddenIpv4Range(reinterpret_cast<const uint8_t*>(&legacy.s_addr))
               .has_value());
    }
  }
  Check(!strict || lenient);
  leadrelay::domain::ValidateWebhookSecret(text).IgnoreError();
  ForbiddenLiteral(text);

  if (size >= 16) {
    uint8_t v6[16];
    std::memcpy(v6, data, 16);
    ForbiddenIpv6Range(v6);
    // An IPv4-mapped IPv6 address is judged like the IPv4 address.
    uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    std::memcpy(mapped + 12, data, 4);
    Check(ForbiddenIpv6Range(mapped).has_value() ==
          ForbiddenIpv4Range(data).has_value());
  }
  return 0;
}
