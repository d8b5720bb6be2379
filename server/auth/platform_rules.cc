#include "auth/platform_rules.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_util.h"

namespace leadrelay::auth {
namespace {

// Must match store::kPlatformKeyPrefix (pure code does not see the store).
constexpr absl::string_view kPlatformKeyPrefix = "lrp_";

}  // namespace

Credential ClassifyCredential(absl::string_view key,
                              absl::string_view certificate_cn) {
  if (absl::StartsWith(key, kPlatformKeyPrefix))
    return Credential::kPlatformKey;
  if (key.empty() && !certificate_cn.empty()) return Credential::kCertificate;
  return Credential::kAccountKeyOrNone;
}

absl::StatusOr<std::string> NamedAccount(
    std::optional<absl::string_view> header) {
  if (!header.has_value()) return std::string();
  absl::string_view id = absl::StripAsciiWhitespace(*header);
  bool well_formed =
      absl::StartsWith(id, "acct_") && id.size() > 5 && id.size() <= 64;
  for (char c : id) {
    if (!absl::ascii_isalnum(c) && c != '_') well_formed = false;
  }
  if (!well_formed) {
    return InvalidRequest(
        "x-leadrelay-account must be an account id such as acct_...");
  }
  return std::string(id);
}

absl::Status CheckPlatformCallShape(const PlatformCallShape& shape) {
  if (shape.over_rest && !shape.allow_over_rest) {
    return Forbidden(
        "platform identities are not accepted on the REST API; call the gRPC "
        "port");
  }
  if (!shape.platform_only_method && shape.named_account.empty()) {
    return InvalidRequest(absl::StrCat(
        "a platform identity must name the account it acts for in the ",
        kAccountHeader, " metadata (REST header X-LeadRelay-Account)"));
  }
  return absl::OkStatus();
}

}  // namespace leadrelay::auth
