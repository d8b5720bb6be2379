// Pure rules of platform calls: which credential a call carries, the
// account it names, and what a platform caller may do where.
#ifndef LEADRELAY_SERVER_AUTH_PLATFORM_RULES_H_
#define LEADRELAY_SERVER_AUTH_PLATFORM_RULES_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace leadrelay::auth {

// Metadata naming the account a platform caller acts for (REST header
// X-LeadRelay-Account).
inline constexpr char kAccountHeader[] = "x-leadrelay-account";
// Set by the REST gateway on every call it forwards (a client's own header
// of that name is replaced), so the server knows the public surface.
inline constexpr char kSurfaceHeader[] = "x-leadrelay-surface";
inline constexpr char kRestSurface[] = "rest";
// Public reason of a suspended account's refusals.
inline constexpr char kReasonAccountSuspended[] = "account_suspended";

enum class Credential {
  kAccountKeyOrNone,  // the ordinary key path decides
  kPlatformKey,       // a key with the platform prefix
  kCertificate,       // no key, a verified client certificate
};

// `key` is the raw key the call sent (empty when it sent none);
// `certificate_cn` the verified client certificate's subject CN (empty when
// none).
Credential ClassifyCredential(absl::string_view key,
                              absl::string_view certificate_cn);

// The account named by the x-leadrelay-account header: "" when absent,
// invalid_request when malformed.
absl::StatusOr<std::string> NamedAccount(
    std::optional<absl::string_view> header);

struct PlatformCallShape {
  bool over_rest = false;
  bool allow_over_rest = false;
  bool platform_only_method = false;  // AccountAdminService
  std::string named_account;
};

// OK when a platform identity may make this call before any lookup: REST
// only when allowed; account RPCs only for a named account.
absl::Status CheckPlatformCallShape(const PlatformCallShape& shape);

}  // namespace leadrelay::auth

#endif  // LEADRELAY_SERVER_AUTH_PLATFORM_RULES_H_
