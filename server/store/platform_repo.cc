#include "store/platform_repo.h"

#include "absl/strings/str_cat.h"
#include "common/random_ids.h"
#include "common/status_util.h"
#include "store/accounts_repo.h"
#include "store/notification_listener.h"

namespace leadrelay::store {

absl::StatusOr<CreatedPlatformService> CreatePlatformServiceKey(
    Connection& conn, const std::string& name) {
  CreatedPlatformService out;
  LR_ASSIGN_OR_RETURN(Result s, conn.Exec(R"sql(
      INSERT INTO platform_services (id, name) VALUES ($1, $2)
      ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name
      RETURNING id)sql",
                                          {NewId("svc_"), name}));
  out.service_id = s.String(0, 0);
  out.secret = NewId(kPlatformKeyPrefix, 32);
  out.key_id = NewId("pkey_");
  LR_RETURN_IF_ERROR(
      conn.Exec("INSERT INTO platform_keys (id, service_id, prefix, key_hash) "
                "VALUES ($1, $2, $3, $4)",
                {out.key_id, out.service_id, out.secret.substr(0, 12),
                 Param::Bytes(Sha256(out.secret))})
          .status());
  return out;
}

absl::StatusOr<PlatformLookup> AuthenticatePlatformCall(
    Connection& conn, const PlatformCredential& credential,
    const std::string& account_id, const std::string& method) {
  // The service by key hash or by certificate name, the named account, and
  // the audit row, in one statement.
  LR_ASSIGN_OR_RETURN(Result r,
                      conn.Exec(R"sql(
      WITH s AS (
        SELECT s.id, s.name, k.id AS key_id, k.key_hash
        FROM platform_keys k JOIN platform_services s ON s.id = k.service_id
        WHERE octet_length($1::bytea) > 0 AND k.key_hash = $1::bytea
          AND k.revoked_at IS NULL AND s.disabled_at IS NULL
        UNION ALL
        SELECT s.id, s.name, '', ''::bytea FROM platform_services s
        WHERE octet_length($1::bytea) = 0 AND s.name = $2 AND s.disabled_at IS NULL),
      a AS (
        SELECT a.id, a.suspended_at IS NOT NULL AS suspended, p.monthly_quota
        FROM accounts a JOIN plans p ON p.name = a.plan
        WHERE $3 <> '' AND a.id = $3),
      audit AS (
        INSERT INTO platform_calls (service_id, account_id, method)
        SELECT s.id, nullif($3, ''), $4 FROM s
        WHERE $3 = '' OR EXISTS (SELECT 1 FROM a))
      SELECT s.id, s.name, s.key_id, s.key_hash, a.id IS NOT NULL,
             coalesce(a.suspended, false), coalesce(a.monthly_quota, 0)
      FROM s LEFT JOIN a ON true)sql",
                                {Param::Bytes(credential.key_hash),
                                 credential.service_name, account_id, method}));
  PlatformLookup out;
  if (r.rows() == 0) return out;
  out.service_found = true;
  out.service_id = r.String(0, 0);
  out.service_name = r.String(0, 1);
  out.key_id = r.String(0, 2);
  out.key_hash = r.Bytes(0, 3);
  out.account_found = r.Bool(0, 4);
  out.account_suspended = r.Bool(0, 5);
  out.monthly_quota = static_cast<int>(r.Int(0, 6));
  return out;
}

absl::StatusOr<AccountPage> ListAccounts(Connection& conn,
                                         const AccountFilter& filter) {
  LR_ASSIGN_OR_RETURN(
      Result r,
      conn.Exec(
          absl::StrCat("SELECT ", AccountColumns(),
                       " FROM accounts a JOIN plans p ON p.name = a.plan"
                       " WHERE ($1 = '' OR a.plan = $1)"
                       " AND ($2 = '' OR strpos(lower(a.name), lower($2)) > 0)"
                       " AND ($3 = '' OR lr_us(a.created_at) > $4::int8 OR"
                       " (lr_us(a.created_at) = $4::int8 AND a.id > $3))"
                       " ORDER BY a.created_at, a.id LIMIT $5"),
          {filter.plan, filter.name_contains, filter.after_id,
           filter.after_created_us, filter.limit + 1}));
  AccountPage page;
  for (int i = 0; i < r.rows() && i < filter.limit; ++i) {
    page.accounts.push_back(AccountFromRow(r, i));
    page.last_created_us = absl::ToUnixMicros(r.Time(i, kAccountCreatedCol));
  }
  page.more = r.rows() > filter.limit;
  return page;
}

absl::StatusOr<v1::Account> UpdateAccount(Connection& conn,
                                          const std::string& account_id,
                                          const AccountChanges& changes) {
  if (changes.plan.has_value()) {
    LR_ASSIGN_OR_RETURN(
        Result p,
        conn.Exec("SELECT 1 FROM plans WHERE name = $1", {*changes.plan}));
    if (p.rows() == 0) {
      return InvalidRequest(absl::StrCat(
          "unknown plan '", *changes.plan,
          "'; plans are free, starter, pro, enterprise, internal"));
    }
  }
  LR_ASSIGN_OR_RETURN(
      Result r,
      conn.Exec(
          absl::StrCat(
              R"sql(
      UPDATE accounts SET
        name = CASE WHEN $2 THEN $3 ELSE name END,
        plan = CASE WHEN $4 THEN $5 ELSE plan END,
        suspended_at = CASE
          WHEN NOT $6 THEN suspended_at
          WHEN $7 THEN coalesce(suspended_at, now())
          ELSE NULL END
      WHERE id = $1
      RETURNING id, pg_notify(')sql",
              kKeysChannel, "', ''), pg_notify('", kDeliveriesChannel,
              "', '')"),
          {account_id, changes.name.has_value(), changes.name.value_or(""),
           changes.plan.has_value(), changes.plan.value_or("free"),
           changes.suspended.has_value(), changes.suspended.value_or(false)}));
  if (r.rows() == 0) return NotFound("account", account_id);
  return GetAccount(conn, account_id);
}

}  // namespace leadrelay::store
