// The credit ledger: idempotent operator adjustments and reading the
// ledger with each entry's resulting balance. (Each paid call's debit writes
// its ledger row in accounts_repo's DebitCredits, next to the debit.)
//
// Rows store only amounts. The balance after an entry is computed on read,
// in one snapshot, as the current balance minus the entries after it; since
// every change writes its row in its own transaction, the ledger's sum always
// equals the balance and no debit waits on a running total.
#ifndef LEADRELAY_SERVER_STORE_CREDIT_LEDGER_REPO_H_
#define LEADRELAY_SERVER_STORE_CREDIT_LEDGER_REPO_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "leadrelay/v1/account_admin.pb.h"
#include "store/accounts_repo.h"
#include "store/pg.h"

namespace leadrelay::store {

struct Adjustment {
  v1::CreditLedgerEntry entry;
  int64_t credits = 0;   // the balance now
  bool applied = false;  // false: a retry; nothing changed
};

// Adds (amount > 0) or removes (amount < 0) credits inside the caller's
// transaction. `cause.idempotency_key` is required: a second call with the
// same key returns the first entry and changes nothing (concurrent ones wait
// for each other); with another amount it is invalid_request.
absl::StatusOr<Adjustment> AdjustCredits(Connection& conn,
                                         const std::string& account_id,
                                         int amount, const CreditCause& cause);

struct LedgerPage {
  std::vector<v1::CreditLedgerEntry> entries;  // newest first
  bool more = false;
};

// Entries with id < `before_id` (0: from the newest), at most `limit`.
absl::StatusOr<LedgerPage> ListCreditLedger(Connection& conn,
                                            const std::string& account_id,
                                            int64_t before_id, int limit);

}  // namespace leadrelay::store

#endif  // LEADRELAY_SERVER_STORE_CREDIT_LEDGER_REPO_H_
