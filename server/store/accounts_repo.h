// Accounts: creation, reads, credits and statistics.
#ifndef LEADRELAY_SERVER_STORE_ACCOUNTS_REPO_H_
#define LEADRELAY_SERVER_STORE_ACCOUNTS_REPO_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "leadrelay/v1/account.pb.h"
#include "store/pg.h"

namespace leadrelay::store {

absl::StatusOr<v1::Account> CreateAccount(Connection& conn,
                                          const std::string& name,
                                          const std::string& plan, int credits);
absl::StatusOr<v1::Account> GetAccount(Connection& conn,
                                       const std::string& account_id);
// Adds credits (spread over the account's buckets).
absl::Status AddCredits(Connection& conn, const std::string& account_id,
                        int credits);
// Debits `cost` credits inside the caller's transaction; fails with
// insufficient_credits (and debits nothing) when the balance is short.
absl::Status DebitCredits(Connection& conn, const std::string& account_id,
                          int cost);
absl::StatusOr<v1::AccountStats> GetAccountStats(Connection& conn,
                                                 const std::string& account_id);

}  // namespace leadrelay::store

#endif  // LEADRELAY_SERVER_STORE_ACCOUNTS_REPO_H_
