// Accounts: creation, reads, credits and statistics.
#ifndef LEADRELAY_SERVER_STORE_ACCOUNTS_REPO_H_
#define LEADRELAY_SERVER_STORE_ACCOUNTS_REPO_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "leadrelay/v1/account.pb.h"
#include "store/pg.h"

namespace leadrelay::store {

// Why credits changed, for the credit ledger row written with the change.
struct CreditCause {
  std::string reason;  // "paid call", "initial credits", an operator's text
  // The RPC ("leadrelay.v1.LeadService.CreateLead"), or "bootstrap".
  std::string cause;
  std::string service;          // the platform service that acted, or ""
  std::string idempotency_key;  // operator adjustments only
};

absl::StatusOr<v1::Account> CreateAccount(Connection& conn,
                                          const std::string& name,
                                          const std::string& plan, int credits,
                                          const CreditCause& cause);
absl::StatusOr<v1::Account> GetAccount(Connection& conn,
                                       const std::string& account_id);
// Adds credits (spread over the account's buckets) and its ledger row.
absl::Status AddCredits(Connection& conn, const std::string& account_id,
                        int credits, const CreditCause& cause);
// Debits `cost` credits inside the caller's transaction, with its ledger row;
// fails with insufficient_credits (and debits nothing) when the balance is
// short.
absl::Status DebitCredits(Connection& conn, const std::string& account_id,
                          int cost, const CreditCause& cause);
// The columns an Account is read from (table aliases a and p = plans), and
// the reader of one such row.
const char* AccountColumns();
inline constexpr int kAccountCreatedCol = 7;
inline constexpr int kAccountColumnCount = 9;
v1::Account AccountFromRow(const Result& r, int row);

absl::StatusOr<v1::AccountStats> GetAccountStats(Connection& conn,
                                                 const std::string& account_id);

}  // namespace leadrelay::store

#endif  // LEADRELAY_SERVER_STORE_ACCOUNTS_REPO_H_
