#include "domain/webhook_rules.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status_util.h"
#include "domain/address_policy.h"

namespace leadrelay::domain {

absl::StatusOr<ParsedUrl> ParseHttpUrl(absl::string_view url) {
  auto bad = [&](absl::string_view why) {
    return InvalidRequest(absl::StrCat("url is not valid (", why, ")"));
  };
  if (url.empty()) return InvalidRequest("url is required");
  if (url.size() > 2048) return bad("longer than 2048 characters");
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= ' ' ||
        static_cast<unsigned char>(c) >= 0x7f) {
      return bad("contains spaces or non-ASCII characters");
    }
  }
  size_t sep = url.find("://");
  if (sep == absl::string_view::npos) return bad("missing scheme");
  ParsedUrl out;
  out.scheme = absl::AsciiStrToLower(url.substr(0, sep));
  if (out.scheme != "http" && out.scheme != "https") {
    return bad("scheme must be https");
  }
  absl::string_view rest = url.substr(sep + 3);
  size_t path_start = rest.find_first_of("/?#");
  absl::string_view authority = rest.substr(0, path_start);
  out.path = path_start == absl::string_view::npos
                 ? "/"
                 : std::string(rest.substr(path_start));
  if (!out.path.empty() && out.path[0] != '/') out.path = "/" + out.path;
  if (size_t hash = out.path.find('#'); hash != std::string::npos) {
    out.path.resize(hash);
  }
  if (authority.find('@') != absl::string_view::npos) {
    return bad("credentials in the URL are not allowed");
  }
  absl::string_view host = authority;
  absl::string_view port;
  bool bracketed = !host.empty() && host[0] == '[';
  if (bracketed) {
    size_t close = host.find(']');
    if (close == absl::string_view::npos) return bad("unclosed IPv6 bracket");
    port = host.substr(close + 1);
    host = host.substr(1, close - 1);
    if (!port.empty()) {
      if (port[0] != ':') return bad("junk after IPv6 address");
      port.remove_prefix(1);
    }
  } else if (size_t colon = host.rfind(':'); colon != absl::string_view::npos) {
    port = host.substr(colon + 1);
    host = host.substr(0, colon);
  }
  if (!port.empty()) {
    bool digits =
        port.size() <= 5 && std::all_of(port.begin(), port.end(), [](char c) {
          return absl::ascii_isdigit(static_cast<unsigned char>(c));
        });
    if (!digits || !absl::SimpleAtoi(port, &out.port) || out.port < 1 ||
        out.port > 65535) {
      return bad("port must be 1-65535");
    }
  }
  out.host = absl::AsciiStrToLower(host);
  if (!out.host.empty() && out.host.back() == '.') out.host.pop_back();
  if (out.host.empty()) return bad("missing host");
  if (bracketed) {
    // An IPv6 literal: hex digits, colons, and dots of an embedded IPv4.
    for (char c : out.host) {
      if (!absl::ascii_isxdigit(static_cast<unsigned char>(c)) && c != ':' &&
          c != '.') {
        return bad("malformed IPv6 address");
      }
    }
  } else {
    // A DNS name or IPv4 literal: letters, digits, '-', '.' and '_'.
    for (char c : out.host) {
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' &&
          c != '.' && c != '_') {
        return bad("host must be a DNS name or an IP address");
      }
    }
    if (absl::StrContains(out.host, "..")) return bad("empty DNS label");
  }
  return out;
}

absl::Status ValidateWebhookUrl(absl::string_view url,
                                const std::vector<std::string>& allowed) {
  LR_ASSIGN_OR_RETURN(ParsedUrl parsed, ParseHttpUrl(url));
  bool allowed_host =
      std::find(allowed.begin(), allowed.end(), parsed.host) != allowed.end();
  if (allowed_host) return absl::OkStatus();
  if (parsed.scheme != "https") {
    return InvalidRequest(
        absl::StrCat("url must use https; got '", parsed.scheme, "://'"));
  }
  // Names are checked again on the address actually connected to.
  if (parsed.host == "localhost" || absl::EndsWith(parsed.host, ".localhost")) {
    return InvalidRequest("url must not point at localhost");
  }
  if (auto range = ForbiddenLiteral(parsed.host)) {
    return InvalidRequest(absl::StrCat("url must point at a public address; ",
                                       parsed.host, " is in the ", *range,
                                       " range"));
  }
  return absl::OkStatus();
}

absl::Status ValidateWebhookSecret(absl::string_view secret) {
  if (secret.size() < 16 || secret.size() > 128) {
    return InvalidRequest("secret must be 16 to 128 characters long");
  }
  for (char c : secret) {
    if (c < '!' || c > '~') {
      return InvalidRequest("secret must be printable ASCII without spaces");
    }
  }
  return absl::OkStatus();
}

std::string SecretHint(absl::string_view secret, bool generated) {
  if (!generated) return "(custom)";
  return std::string(secret.substr(0, 10));  // "whsec_" + 4 characters
}

}  // namespace leadrelay::domain
