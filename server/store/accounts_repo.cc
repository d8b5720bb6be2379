#include "store/accounts_repo.h"

#include "absl/strings/str_format.h"
#include "common/random_ids.h"
#include "common/status_util.h"
#include "store/proto_time.h"

namespace leadrelay::store {
namespace {

constexpr char kAccountColumns[] =
    "a.id, a.name, a.plan, a.credits, p.rate_limit_per_minute, "
    "p.monthly_quota, lr_us(a.plan_renews_at), lr_us(a.created_at)";

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
  return a;
}

}  // namespace

absl::StatusOr<v1::Account> CreateAccount(Connection& conn,
                                          const std::string& name,
                                          const std::string& plan,
                                          int credits) {
  std::string id = NewId("acct_");
  LR_ASSIGN_OR_RETURN(
      Result r,
      conn.Exec("INSERT INTO accounts (id, name, plan, credits, plan_renews_at)"
                " SELECT $1, $2, name, $4,"
                "  date_trunc('month', now()) + interval '1 month'"
                " FROM plans WHERE name = $3 RETURNING id",
                {id, name, plan, credits}));
  if (r.rows() == 0) return InvalidRequest("unknown plan '" + plan + "'");
  return GetAccount(conn, id);
}

absl::StatusOr<v1::Account> GetAccount(Connection& conn,
                                       const std::string& account_id) {
  LR_ASSIGN_OR_RETURN(
      Result r, conn.Exec(absl::StrFormat(
                              "SELECT %s FROM accounts a JOIN plans p ON "
                              "p.name = a.plan WHERE a.id = $1",
                              kAccountColumns),
                          {account_id}));
  if (r.rows() == 0) return NotFound("account", account_id);
  return AccountFrom(r, 0);
}

absl::Status DebitCredits(Connection& conn, const std::string& account_id,
                          int cost) {
  if (cost <= 0) return absl::OkStatus();
  LR_ASSIGN_OR_RETURN(
      Result r, conn.Exec("UPDATE accounts SET credits = credits - $2 "
                          "WHERE id = $1 AND credits >= $2 RETURNING credits",
                          {account_id, cost}));
  if (r.rows() == 1) return absl::OkStatus();
  LR_ASSIGN_OR_RETURN(
      Result balance,
      conn.Exec("SELECT credits FROM accounts WHERE id = $1", {account_id}));
  int available = balance.rows() ? static_cast<int>(balance.Int(0, 0)) : 0;
  return InsufficientCredits(cost, available);
}

absl::StatusOr<v1::AccountStats> GetAccountStats(
    Connection& conn, const std::string& account_id) {
  LR_ASSIGN_OR_RETURN(
      Result r,
      conn.Exec(
          "SELECT count(*),"
          " count(*) FILTER (WHERE l.status = 'converted'),"
          " count(*) FILTER (WHERE l.delivered_at >= date_trunc('month', now())),"
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
  return s;
}

}  // namespace leadrelay::store
