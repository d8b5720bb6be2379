#include "store/accounts_repo.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/random_ids.h"
#include "common/status_util.h"
#include "store/proto_time.h"

namespace leadrelay::store {
namespace {

// Buckets an account's credits are spread over (see 0004_credit_buckets).
constexpr int kCreditBuckets = 16;

constexpr char kAccountColumns[] =
    "a.id, a.name, a.plan, (SELECT coalesce(sum(credits), 0) FROM "
    "credit_buckets c WHERE c.account_id = a.id), p.rate_limit_per_minute, "
    "p.monthly_quota, lr_us(a.plan_renews_at), lr_us(a.created_at), "
    "lr_us(a.suspended_at)";

v1::Account AccountFrom(const Result& r, int row) {
  v1::Account a;
  a.set_id(r.String(row, 0));
  a.set_name(r.String(row, 1));
  a.set_plan(r.String(row, 2));
  a.set_credits(static_cast<int32_t>(r.Int(row, 3)));
  a.set_rate_limit_per_minute(static_cast<int32_t>(r.Int(row, 4)));
  a.set_monthly_quota(static_cast<int32_t>(r.Int(row, 5)));
  SetTimestamp(r.Time(row, 6), a.mutable_plan_renews_at());
  SetTimestamp(r.Time(row, 7), a.mutable_created_at());
  if (!r.IsNull(row, 8)) SetTimestamp(r.Time(row, 8), a.mutable_suspended_at());
  return a;
}

}  // namespace

const char* AccountColumns() { return kAccountColumns; }

v1::Account AccountFromRow(const Result& r, int row) {
  return AccountFrom(r, row);
}

absl::StatusOr<v1::Account> CreateAccount(Connection& conn,
                                          const std::string& name,
                                          const std::string& plan, int credits,
                                          const CreditCause& cause) {
  std::string id = NewId("acct_");
  LR_ASSIGN_OR_RETURN(
      Result r,
      conn.Exec("INSERT INTO accounts (id, name, plan, plan_renews_at)"
                " SELECT $1, $2, name,"
                "  date_trunc('month', now()) + interval '1 month'"
                " FROM plans WHERE name = $3 RETURNING id",
                {id, name, plan}));
  if (r.rows() == 0)
    return InvalidRequest("unknown plan '" + EchoValue(plan) + "'");
  LR_RETURN_IF_ERROR(AddCredits(conn, id, credits, cause));
  return GetAccount(conn, id);
}

absl::StatusOr<v1::Account> GetAccount(Connection& conn,
                                       const std::string& account_id) {
  LR_ASSIGN_OR_RETURN(
      Result r,
      conn.Exec(absl::StrFormat("SELECT %s FROM accounts a JOIN plans p ON "
                                "p.name = a.plan WHERE a.id = $1",
                                kAccountColumns),
                {account_id}));
  if (r.rows() == 0) return NotFound("account", account_id);
  return AccountFrom(r, 0);
}

absl::Status AddCredits(Connection& conn, const std::string& account_id,
                        int credits, const CreditCause& cause) {
  // Spread evenly; the first buckets take the remainder. The ledger row is
  // written by the same statement.
  return conn
      .Exec(R"sql(
      WITH added AS (
        INSERT INTO credit_buckets (account_id, bucket, credits)
        SELECT $1, b, $2 / $3 + CASE WHEN b < $2 % $3 THEN 1 ELSE 0 END
        FROM generate_series(0, $3 - 1) AS b
        ON CONFLICT (account_id, bucket)
        DO UPDATE SET credits = credit_buckets.credits + EXCLUDED.credits)
      INSERT INTO credit_ledger (account_id, amount, reason, cause, service,
                                 idempotency_key)
      SELECT $1, $2, $4, $5, $6, nullif($7, '') WHERE $2 <> 0)sql",
            {account_id, credits, kCreditBuckets, cause.reason, cause.cause,
             cause.service, cause.idempotency_key})
      .status();
}

absl::Status DebitCredits(Connection& conn, const std::string& account_id,
                          int cost, const CreditCause& cause) {
  if (cost <= 0) return absl::OkStatus();
  // The credit ledger row of a debit: with the debit, in its transaction.
  // Both paths below write exactly one (the fast path in the same statement,
  // so a paid call costs no extra round trip).
  const std::vector<Param> params = {account_id,    cost,
                                     cause.reason,  cause.cause,
                                     cause.service, cause.idempotency_key};
  constexpr char kLedgerInsert[] = R"sql(
      INSERT INTO credit_ledger (account_id, amount, reason, cause, service,
                                 idempotency_key)
      SELECT $1, -$2::int, $3, $4, $5, nullif($6, ''))sql";
  // Fast path: any bucket with enough credits that nobody else holds. The
  // pick is a scalar subquery so that it runs once whatever the join order
  // (see migration 0080).
  static const std::string* const kFastPath = new std::string(absl::StrCat(
      R"sql(
      WITH debited AS (
        UPDATE credit_buckets SET credits = credits - $2
        WHERE account_id = $1
          AND bucket = (SELECT bucket FROM credit_buckets
                        WHERE account_id = $1 AND credits >= $2
                        ORDER BY random() LIMIT 1
                        FOR UPDATE SKIP LOCKED)
        RETURNING 1))sql",
      kLedgerInsert, " FROM debited RETURNING 1"));
  LR_ASSIGN_OR_RETURN(Result r, conn.Exec(*kFastPath, params));
  if (r.rows() == 1) return absl::OkStatus();
  // Slow path: lock every bucket (in order, so no deadlock) and take the
  // cost from as many as needed; short only when the sum is.
  LR_ASSIGN_OR_RETURN(
      Result all, conn.Exec("SELECT bucket, credits FROM credit_buckets "
                            "WHERE account_id = $1 ORDER BY bucket FOR UPDATE",
                            {account_id}));
  int64_t available = 0;
  for (int i = 0; i < all.rows(); ++i) available += all.Int(i, 1);
  if (available < cost) {
    return InsufficientCredits(cost, static_cast<int>(available));
  }
  int remaining = cost;
  for (int i = 0; i < all.rows() && remaining > 0; ++i) {
    int take = static_cast<int>(std::min<int64_t>(remaining, all.Int(i, 1)));
    if (take == 0) continue;
    LR_RETURN_IF_ERROR(
        conn.Exec("UPDATE credit_buckets SET credits = credits - $3 "
                  "WHERE account_id = $1 AND bucket = $2",
                  {account_id, static_cast<int>(all.Int(i, 0)), take})
            .status());
    remaining -= take;
  }
  return conn.Exec(kLedgerInsert, params).status();
}

absl::StatusOr<v1::AccountStats> GetAccountStats(
    Connection& conn, const std::string& account_id) {
  LR_ASSIGN_OR_RETURN(
      Result r,
      conn.Exec("SELECT count(l.id),"
                " count(l.id) FILTER (WHERE l.status = 'converted'),"
                " count(l.id) FILTER (WHERE l.delivered_at >= "
                "date_trunc('month', now())),"
                " p.monthly_quota, a.plan, lr_us(a.plan_renews_at)"
                " FROM accounts a JOIN plans p ON p.name = a.plan"
                " LEFT JOIN leads l ON l.account_id = a.id"
                " WHERE a.id = $1"
                " GROUP BY a.id, p.monthly_quota, a.plan, a.plan_renews_at",
                {account_id}));
  if (r.rows() == 0) return NotFound("account", account_id);
  v1::AccountStats s;
  s.set_leads_received(static_cast<int32_t>(r.Int(0, 0)));
  s.set_leads_converted(static_cast<int32_t>(r.Int(0, 1)));
  double rate = s.leads_received() == 0
                    ? 0.0
                    : 100.0 * s.leads_converted() / s.leads_received();
  s.set_conversion_rate(absl::StrFormat("%.1f%%", rate));
  s.set_leads_this_month(static_cast<int32_t>(r.Int(0, 2)));
  s.set_quota_this_month(static_cast<int32_t>(r.Int(0, 3)));
  s.set_active_plan(r.String(0, 4));
  SetTimestamp(r.Time(0, 5), s.mutable_plan_renews_at());
  // One row per UTC day of the last 30 (leads_account_delivered serves it).
  LR_ASSIGN_OR_RETURN(
      Result days,
      conn.Exec("SELECT to_char(d.day, 'YYYY-MM-DD'), count(l.id)"
                " FROM generate_series("
                "   ((now() AT TIME ZONE 'UTC')::date - 29)::timestamp,"
                "   (now() AT TIME ZONE 'UTC')::date::timestamp,"
                "   interval '1 day') AS d(day)"
                " LEFT JOIN leads l ON l.account_id = $1"
                "  AND l.delivered_at >= d.day AT TIME ZONE 'UTC'"
                "  AND l.delivered_at < (d.day + interval '1 day')"
                "   AT TIME ZONE 'UTC'"
                " GROUP BY d.day ORDER BY d.day",
                {account_id}));
  for (int i = 0; i < days.rows(); ++i) {
    v1::DailyCount* day = s.add_leads_per_day();
    day->set_day(days.String(i, 0));
    day->set_count(static_cast<int32_t>(days.Int(i, 1)));
  }
  return s;
}

}  // namespace leadrelay::store
