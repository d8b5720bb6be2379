#include "store/credit_ledger_repo.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "common/status_util.h"
#include "store/proto_time.h"

namespace leadrelay::store {
namespace {

// Entry columns plus the balance after each entry: the account's balance
// minus every later entry, all read in the statement's one snapshot.
constexpr char kLedgerPageSql[] = R"sql(
    WITH page AS (
      SELECT id, at, amount, reason, cause, service, idempotency_key
      FROM credit_ledger
      WHERE account_id = $1 AND ($2::int8 = 0 OR id < $2::int8)
        AND ($4::text = '' OR idempotency_key = $4::text)
      ORDER BY id DESC LIMIT $3),
    later AS (
      SELECT coalesce(sum(amount), 0) AS s FROM credit_ledger
      WHERE account_id = $1 AND id > (SELECT coalesce(max(id), 0) FROM page)),
    total AS (
      SELECT coalesce(sum(credits), 0) AS t FROM credit_buckets
      WHERE account_id = $1)
    SELECT p.id, lr_us(p.at), p.amount, p.reason, p.cause, p.service,
           coalesce(p.idempotency_key, ''),
           total.t - later.s - coalesce(sum(p.amount) OVER (
             ORDER BY p.id DESC ROWS BETWEEN UNBOUNDED PRECEDING
             AND 1 PRECEDING), 0),
           total.t
    FROM page p, later, total
    ORDER BY p.id DESC)sql";

v1::CreditLedgerEntry EntryFrom(const Result& r, int row) {
  v1::CreditLedgerEntry e;
  e.set_id(r.Int(row, 0));
  SetTimestamp(r.Time(row, 1), e.mutable_time());
  e.set_amount(static_cast<int32_t>(r.Int(row, 2)));
  e.set_reason(r.String(row, 3));
  e.set_cause(r.String(row, 4));
  e.set_service(r.String(row, 5));
  e.set_idempotency_key(r.String(row, 6));
  e.set_balance_after(r.Int(row, 7));
  return e;
}

// The entry recorded under `key`, if any.
absl::StatusOr<std::optional<Adjustment>> FindAdjustment(
    Connection& conn, const std::string& account_id, const std::string& key) {
  LR_ASSIGN_OR_RETURN(
      Result r, conn.Exec(kLedgerPageSql, {account_id, int64_t{0}, 1, key}));
  if (r.rows() == 0) return std::optional<Adjustment>();
  Adjustment a;
  a.entry = EntryFrom(r, 0);
  a.credits = r.Int(0, 8);
  return std::optional<Adjustment>(std::move(a));
}

}  // namespace

absl::StatusOr<Adjustment> AdjustCredits(Connection& conn,
                                         const std::string& account_id,
                                         int amount, const CreditCause& cause) {
  if (cause.idempotency_key.empty()) {
    return InvalidRequest("idempotency_key is required");
  }
  // Calls with the same key queue here, so only the first applies.
  LR_RETURN_IF_ERROR(conn.Exec("SELECT pg_advisory_xact_lock(hashtextextended("
                               "'credits/' || $1 || '/' || $2, 0))",
                               {account_id, cause.idempotency_key})
                         .status());
  LR_ASSIGN_OR_RETURN(std::optional<Adjustment> earlier,
                      FindAdjustment(conn, account_id, cause.idempotency_key));
  if (earlier.has_value()) {
    if (earlier->entry.amount() != amount) {
      return InvalidRequest(
          absl::StrCat("idempotency_key '", cause.idempotency_key,
                       "' was already used for an adjustment of ",
                       earlier->entry.amount(), " credits"));
    }
    return *std::move(earlier);
  }
  if (amount > 0) {
    LR_RETURN_IF_ERROR(AddCredits(conn, account_id, amount, cause));
  } else {
    LR_RETURN_IF_ERROR(DebitCredits(conn, account_id, -amount, cause));
  }
  LR_ASSIGN_OR_RETURN(std::optional<Adjustment> made,
                      FindAdjustment(conn, account_id, cause.idempotency_key));
  if (!made.has_value()) return Internal("ledger entry missing after adjust");
  made->applied = true;
  return *std::move(made);
}

absl::StatusOr<LedgerPage> ListCreditLedger(Connection& conn,
                                            const std::string& account_id,
                                            int64_t before_id, int limit) {
  LR_ASSIGN_OR_RETURN(
      Result r, conn.Exec(kLedgerPageSql,
                          {account_id, before_id, limit + 1, std::string()}));
  LedgerPage page;
  for (int i = 0; i < r.rows() && i < limit; ++i) {
    page.entries.push_back(EntryFrom(r, i));
  }
  page.more = r.rows() > limit;
  return page;
}

}  // namespace leadrelay::store
