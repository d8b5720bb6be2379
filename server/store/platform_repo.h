// Platform service identities: their keys (hashed), the one-round-trip
// authentication of a platform call with its audit row, and account
// administration (list, rename, re-plan, suspend).
#ifndef LEADRELAY_SERVER_STORE_PLATFORM_REPO_H_
#define LEADRELAY_SERVER_STORE_PLATFORM_REPO_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "leadrelay/v1/account.pb.h"
#include "store/pg.h"

namespace leadrelay::store {

// Platform keys look like account keys with their own prefix, so the
// authorizer knows which table to ask without a second round trip.
inline constexpr char kPlatformKeyPrefix[] = "lrp_";

struct CreatedPlatformService {
  std::string service_id;
  std::string key_id;
  std::string secret;  // shown once
};

// Registers service `name` (or finds it) and gives it a new platform key.
absl::StatusOr<CreatedPlatformService> CreatePlatformServiceKey(
    Connection& conn, const std::string& name);

// How a platform caller proved who it is.
struct PlatformCredential {
  // SHA-256 of a platform key, or empty when the caller used a certificate.
  std::string key_hash;
  // The certificate's subject CN, when key_hash is empty.
  std::string service_name;
};

struct PlatformLookup {
  bool service_found = false;
  std::string service_id;
  std::string service_name;
  std::string key_id;  // empty for certificate callers
  std::string key_hash;
  bool account_found = false;
  bool account_suspended = false;
  int monthly_quota = 0;  // of the named account's plan
};

// Finds the live service behind `credential` and the account it names
// (`account_id` may be empty), and records the call in platform_calls when
// the service is found (and the account, if one is named, exists). One
// statement.
absl::StatusOr<PlatformLookup> AuthenticatePlatformCall(
    Connection& conn, const PlatformCredential& credential,
    const std::string& account_id, const std::string& method);

struct AccountFilter {
  std::string plan;           // exact; empty: any
  std::string name_contains;  // case-insensitive; empty: any
  std::string after_id;       // keyset cursor (ids are random: order by
                              // created_at, id)
  int64_t after_created_us = 0;
  int limit = 50;
};

struct AccountPage {
  std::vector<v1::Account> accounts;
  bool more = false;
  int64_t last_created_us = 0;
};

absl::StatusOr<AccountPage> ListAccounts(Connection& conn,
                                         const AccountFilter& filter);

struct AccountChanges {
  std::optional<std::string> name;
  std::optional<std::string> plan;
  std::optional<bool> suspended;
};

// Applies `changes` and notifies every process: key caches are dropped
// (suspension takes effect at once) and dispatchers wake (a resumed
// account's webhooks catch up).
absl::StatusOr<v1::Account> UpdateAccount(Connection& conn,
                                          const std::string& account_id,
                                          const AccountChanges& changes);

}  // namespace leadrelay::store

#endif  // LEADRELAY_SERVER_STORE_PLATFORM_REPO_H_
