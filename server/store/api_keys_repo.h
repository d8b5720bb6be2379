// API keys: only their SHA-256 is stored. Authentication and the rate-limit
// counter share one round trip.
#ifndef LEADRELAY_SERVER_STORE_API_KEYS_REPO_H_
#define LEADRELAY_SERVER_STORE_API_KEYS_REPO_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "leadrelay/v1/account.pb.h"
#include "store/pg.h"

namespace leadrelay::store {

struct CreatedApiKey {
  v1::ApiKey api_key;
  std::string secret;  // shown once
};

absl::StatusOr<CreatedApiKey> CreateApiKey(
    Connection& conn, const std::string& account_id, const std::string& name,
    const std::vector<std::string>& scopes);
// Locks the account row and counts its keys not revoked, so concurrent
// creations cannot pass the per-account cap together.
absl::StatusOr<int> CountActiveApiKeysLocked(Connection& conn,
                                             const std::string& account_id);
absl::StatusOr<std::vector<v1::ApiKey>> ListApiKeys(
    Connection& conn, const std::string& account_id);
absl::StatusOr<v1::ApiKey> GetApiKey(Connection& conn,
                                     const std::string& account_id,
                                     const std::string& key_id);
// An account and one of its keys (GetMe).
struct AccountKeyRef {
  std::string account_id;
  std::string key_id;
};
struct AccountAndKey {
  v1::Account account;
  v1::ApiKey key;
};
// Reads several accounts with a key of each in one statement; one outcome
// per ref, in order: not_found naming whichever is missing (a key of
// another account is missing too).
absl::StatusOr<std::vector<absl::StatusOr<AccountAndKey>>> GetAccountsAndKeys(
    Connection& conn, const std::vector<AccountKeyRef>& refs);
absl::StatusOr<v1::ApiKey> RevokeApiKey(Connection& conn,
                                        const std::string& account_id,
                                        const std::string& key_id);

struct KeyLookup {
  std::string key_id;
  std::string account_id;
  std::vector<std::string> scopes;
  std::string key_hash;
  int rate_limit = 0;  // per minute; 0: unlimited
  int64_t count = 0;   // requests in the current window, this one too
  int64_t window_start_us = 0;
  int64_t now_us = 0;
  bool account_suspended = false;
  int monthly_quota = 0;  // of the account's plan; 0: none
  // The account-wide window, shared by every key of the account; counted
  // only when the key's own limit let the request through (account_count
  // is 0 otherwise).
  int account_rate_limit = 0;  // per minute; 0: unlimited
  int64_t account_count = 0;
  int64_t account_window_start_us = 0;
};

// Finds the live key with this hash and counts the request against its
// window and its account's. nullopt when no live key matches.
absl::StatusOr<std::optional<KeyLookup>> AuthenticateAndCount(
    Connection& conn, const std::string& key_hash);

}  // namespace leadrelay::store

#endif  // LEADRELAY_SERVER_STORE_API_KEYS_REPO_H_
