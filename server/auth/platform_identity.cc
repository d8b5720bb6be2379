#include "auth/platform_identity.h"

#include "absl/strings/str_cat.h"
#include "auth/access_rules.h"
#include "auth/authorizer.h"
#include "auth/call_headers.h"
#include "auth/platform_rules.h"
#include "common/random_ids.h"
#include "common/status_util.h"
#include "grpcpp/security/auth_context.h"
#include "store/platform_repo.h"

namespace leadrelay::auth {
namespace {

// The subject CN of a client certificate the TLS handshake verified against
// --tls_client_ca; empty when the call has none.
std::string VerifiedCommonName(grpc::ServerContextBase& context) {
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth == nullptr || !auth->IsPeerAuthenticated()) return "";
  std::vector<grpc::string_ref> names =
      auth->FindPropertyValues("x509_common_name");
  if (names.empty()) return "";
  return std::string(names.front().data(), names.front().size());
}

}  // namespace

std::optional<PlatformIdentity::Presented>
PlatformIdentity::PlatformCredentialOf(grpc::ServerContextBase& context) {
  std::optional<absl::string_view> authorization =
      CallHeader(context, "authorization");
  std::optional<absl::string_view> x_api_key = CallHeader(context, "x-api-key");
  Presented presented;
  if (authorization.has_value() || x_api_key.has_value()) {
    absl::StatusOr<std::string> extracted =
        ExtractApiKey(authorization, x_api_key);
    if (!extracted.ok()) return std::nullopt;  // the key path explains
    presented.key = *std::move(extracted);
  }
  presented.common_name = VerifiedCommonName(context);
  presented.credential =
      ClassifyCredential(presented.key, presented.common_name);
  if (presented.credential == Credential::kAccountKeyOrNone) {
    return std::nullopt;
  }
  return presented;
}

bool PlatformIdentity::Claims(grpc::ServerContextBase& context) const {
  return PlatformCredentialOf(context).has_value();
}

std::optional<absl::StatusOr<Caller>> PlatformIdentity::Authorize(
    grpc::ServerContextBase& context, absl::string_view method) {
  std::optional<Presented> presented = PlatformCredentialOf(context);
  if (!presented.has_value()) return std::nullopt;
  const Credential credential = presented->credential;
  const std::string& key = presented->key;
  const std::string& common_name = presented->common_name;

  v1::MethodPolicy policy = PolicyFor(method);
  absl::StatusOr<std::string> account =
      NamedAccount(CallHeader(context, kAccountHeader));
  if (!account.ok()) return account.status();
  if (policy.platform_only()) account->clear();  // admin RPCs name no account
  std::optional<absl::string_view> surface =
      CallHeader(context, kSurfaceHeader);
  absl::Status shape = CheckPlatformCallShape(
      {surface.has_value() && *surface == kRestSurface,
       options_.allow_over_rest, policy.platform_only(), *account});
  if (!shape.ok()) return shape;

  store::PlatformCredential proof;
  if (credential == Credential::kPlatformKey) {
    proof.key_hash = Sha256(key);
  } else {
    proof.service_name = common_name;
  }
  store::PlatformLookup found;
  absl::Status looked_up =
      pool_.Run([&](store::Connection& conn) -> absl::Status {
        LR_ASSIGN_OR_RETURN(
            found, store::AuthenticatePlatformCall(conn, proof, *account,
                                                   std::string(method)));
        return absl::OkStatus();
      });
  if (!looked_up.ok()) return looked_up;
  if (!found.service_found ||
      (credential == Credential::kPlatformKey &&
       !ConstantTimeEquals(found.key_hash, proof.key_hash))) {
    return Unauthorized(credential == Credential::kPlatformKey
                            ? "invalid or revoked platform key"
                            : "the client certificate names no registered "
                              "platform service");
  }
  if (!account->empty()) {
    if (!found.account_found) return NotFound("account", *account);
    if (found.account_suspended) {
      return Forbidden(absl::StrCat("account ", *account, " is suspended"),
                       kReasonAccountSuspended);
    }
  }
  Caller caller;
  caller.key_id = credential == Credential::kPlatformKey
                      ? found.key_id
                      : absl::StrCat("cert:", found.service_name);
  caller.account_id = *std::move(account);
  caller.scopes = {"admin"};  // acts exactly as the account's admin key
  caller.policy = std::move(policy);
  caller.method = std::string(method);
  caller.acting_service = found.service_name;
  caller.monthly_quota = found.monthly_quota;
  return caller;
}

absl::Status CheckAccountKeyCall(grpc::ServerContextBase& context,
                                 const Caller& caller) {
  if (caller.policy.platform_only()) {
    return Forbidden(absl::StrCat(caller.method,
                                  " is for platform service identities only"));
  }
  std::optional<absl::string_view> named = CallHeader(context, kAccountHeader);
  if (named.has_value() && *named != caller.account_id) {
    return Forbidden(
        "an account key acts only for its own account; x-leadrelay-account "
        "names another");
  }
  return absl::OkStatus();
}

}  // namespace leadrelay::auth
