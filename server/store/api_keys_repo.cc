#include "store/api_keys_repo.h"

#include "absl/strings/str_cat.h"
#include "common/random_ids.h"
#include "common/status_util.h"
#include "store/accounts_repo.h"
#include "store/proto_time.h"

namespace leadrelay::store {
namespace {

// Every statement names the table `k`, so these also read a key joined
// with other tables.
constexpr char kKeyColumns[] =
    "k.id, k.name, k.prefix, k.scopes, lr_us(k.created_at), "
    "lr_us(k.last_used_at), lr_us(k.revoked_at)";
constexpr int kKeyColumnCount = 7;

// The key in columns `col`.. of `row`.
v1::ApiKey KeyFrom(const Result& r, int row, int col = 0) {
  v1::ApiKey k;
  k.set_id(r.String(row, col));
  k.set_name(r.String(row, col + 1));
  k.set_prefix(r.String(row, col + 2));
  for (auto& s : r.TextArray(row, col + 3)) k.add_scopes(s);
  SetTimestamp(r.Time(row, col + 4), k.mutable_created_at());
  if (!r.IsNull(row, col + 5)) {
    SetTimestamp(r.Time(row, col + 5), k.mutable_last_used_at());
  }
  if (!r.IsNull(row, col + 6)) {
    SetTimestamp(r.Time(row, col + 6), k.mutable_revoked_at());
  }
  return k;
}

}  // namespace

absl::StatusOr<CreatedApiKey> CreateApiKey(
    Connection& conn, const std::string& account_id, const std::string& name,
    const std::vector<std::string>& scopes) {
  CreatedApiKey out;
  out.secret = NewApiKey();
  std::string id = NewId("key_");
  LR_ASSIGN_OR_RETURN(
      Result r,
      conn.Exec(std::string("INSERT INTO api_keys AS k (id, account_id, name, "
                            "prefix, key_hash, scopes) VALUES "
                            "($1, $2, $3, $4, $5, $6) RETURNING ") +
                    kKeyColumns,
                {id, account_id, name, out.secret.substr(0, 10),
                 Param::Bytes(Sha256(out.secret)), Param::TextArray(scopes)}));
  out.api_key = KeyFrom(r, 0);
  return out;
}

absl::StatusOr<int> CountActiveApiKeysLocked(Connection& conn,
                                             const std::string& account_id) {
  LR_RETURN_IF_ERROR(
      conn.Exec("SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE", {account_id})
          .status());
  LR_ASSIGN_OR_RETURN(
      Result r,
      conn.Exec("SELECT count(*) FROM api_keys WHERE account_id = $1 AND "
                "revoked_at IS NULL",
                {account_id}));
  return static_cast<int>(r.Int(0, 0));
}

absl::StatusOr<std::vector<v1::ApiKey>> ListApiKeys(
    Connection& conn, const std::string& account_id) {
  LR_ASSIGN_OR_RETURN(Result r,
                      conn.Exec(std::string("SELECT ") + kKeyColumns +
                                    " FROM api_keys k WHERE account_id = $1"
                                    " ORDER BY created_at, id",
                                {account_id}));
  std::vector<v1::ApiKey> keys;
  for (int i = 0; i < r.rows(); ++i) keys.push_back(KeyFrom(r, i));
  return keys;
}

absl::StatusOr<v1::ApiKey> GetApiKey(Connection& conn,
                                     const std::string& account_id,
                                     const std::string& key_id) {
  LR_ASSIGN_OR_RETURN(
      Result r,
      conn.Exec(std::string("SELECT ") + kKeyColumns +
                    " FROM api_keys k WHERE account_id = $1 AND id = $2",
                {account_id, key_id}));
  if (r.rows() == 0) return NotFound("api key", key_id);
  return KeyFrom(r, 0);
}

absl::StatusOr<std::vector<absl::StatusOr<AccountAndKey>>> GetAccountsAndKeys(
    Connection& conn, const std::vector<AccountKeyRef>& refs) {
  std::vector<std::string> accounts, keys;
  accounts.reserve(refs.size());
  keys.reserve(refs.size());
  for (const AccountKeyRef& ref : refs) {
    accounts.push_back(ref.account_id);
    keys.push_back(ref.key_id);
  }
  // One primary-key probe per account and per key whatever the statistics
  // say (OFFSET 0 keeps each subquery apart); a key counts only with its
  // own account.
  LR_ASSIGN_OR_RETURN(
      Result r,
      conn.Exec(absl::StrCat("SELECT ", AccountColumns(), ", ", kKeyColumns,
                             R"sql(, q.i
      FROM unnest($1::text[], $2::text[]) WITH ORDINALITY
        AS q(account_id, key_id, i)
      CROSS JOIN LATERAL (
        SELECT * FROM accounts WHERE id = q.account_id OFFSET 0) a
      JOIN plans p ON p.name = a.plan
      LEFT JOIN LATERAL (
        SELECT * FROM api_keys WHERE id = q.key_id OFFSET 0) k
        ON k.account_id = a.id)sql"),
                {Param::TextArray(accounts), Param::TextArray(keys)}));
  std::vector<absl::StatusOr<AccountAndKey>> out;
  out.reserve(refs.size());
  for (const AccountKeyRef& ref : refs) {
    out.push_back(NotFound("account", ref.account_id));
  }
  constexpr int kPosition = kAccountColumnCount + kKeyColumnCount;
  for (int row = 0; row < r.rows(); ++row) {
    int64_t i = r.Int(row, kPosition) - 1;  // ordinality counts from 1
    if (i < 0 || i >= static_cast<int64_t>(refs.size())) {
      return Internal("account read returned an unknown position");
    }
    if (r.IsNull(row, kAccountColumnCount)) {
      out[i] = NotFound("api key", refs[i].key_id);
    } else {
      out[i] = AccountAndKey{AccountFromRow(r, row),
                             KeyFrom(r, row, kAccountColumnCount)};
    }
  }
  return out;
}

absl::StatusOr<v1::ApiKey> RevokeApiKey(Connection& conn,
                                        const std::string& account_id,
                                        const std::string& key_id) {
  LR_ASSIGN_OR_RETURN(
      Result r,
      conn.Exec(std::string("UPDATE api_keys k SET revoked_at = "
                            "coalesce(revoked_at, now()) WHERE account_id = $1"
                            " AND id = $2 RETURNING ") +
                    kKeyColumns + ", pg_notify('leadrelay_keys', k.id)",
                {account_id, key_id}));
  if (r.rows() == 0) return NotFound("api key", key_id);
  return KeyFrom(r, 0);
}

absl::StatusOr<std::optional<KeyLookup>> AuthenticateAndCount(
    Connection& conn, const std::string& key_hash) {
  // One statement: find the key, bump its window (a new window opens when the
  // old one is 60 s old), and touch last_used_at at most once a minute.
  LR_ASSIGN_OR_RETURN(Result r, conn.Exec(R"sql(
      WITH k AS (
        SELECT k.id, k.account_id, k.scopes, k.key_hash,
               p.rate_limit_per_minute AS lim,
               a.suspended_at IS NOT NULL AS suspended, p.monthly_quota,
               p.account_rate_limit_per_minute AS alim
        FROM api_keys k
        JOIN accounts a ON a.id = k.account_id
        JOIN plans p ON p.name = a.plan
        WHERE k.key_hash = $1 AND k.revoked_at IS NULL),
      rl AS (
        INSERT INTO rate_limits AS r (key_id, window_start, count)
        SELECT id, clock_timestamp(), 1 FROM k WHERE lim > 0
        ON CONFLICT (key_id) DO UPDATE SET
          window_start = CASE
            WHEN r.window_start <= clock_timestamp() - interval '60 seconds'
            THEN clock_timestamp() ELSE r.window_start END,
          count = CASE
            WHEN r.window_start <= clock_timestamp() - interval '60 seconds'
            THEN 1 ELSE r.count + 1 END
        RETURNING count, lr_us(window_start) AS ws),
      arl AS (
        INSERT INTO account_rate_limits AS r (account_id, window_start, count)
        SELECT k.account_id, clock_timestamp(), 1
        FROM k LEFT JOIN rl ON true
        WHERE k.alim > 0 AND (k.lim <= 0 OR rl.count <= k.lim)
        ON CONFLICT (account_id) DO UPDATE SET
          window_start = CASE
            WHEN r.window_start <= clock_timestamp() - interval '60 seconds'
            THEN clock_timestamp() ELSE r.window_start END,
          count = CASE
            WHEN r.window_start <= clock_timestamp() - interval '60 seconds'
            THEN 1 ELSE r.count + 1 END
        RETURNING count, lr_us(window_start) AS ws),
      touch AS (
        UPDATE api_keys SET last_used_at = now()
        WHERE id IN (SELECT id FROM k)
          AND (last_used_at IS NULL
               OR last_used_at < now() - interval '1 minute'))
      SELECT k.id, k.account_id, k.scopes, k.key_hash, k.lim,
             coalesce(rl.count, 0), coalesce(rl.ws, 0),
             lr_us(clock_timestamp()), k.suspended,
             k.monthly_quota, k.alim, coalesce(arl.count, 0),
             coalesce(arl.ws, 0)
      FROM k LEFT JOIN rl ON true LEFT JOIN arl ON true)sql",
                                          {Param::Bytes(key_hash)}));
  if (r.rows() == 0) return std::optional<KeyLookup>();
  KeyLookup k;
  k.key_id = r.String(0, 0);
  k.account_id = r.String(0, 1);
  k.scopes = r.TextArray(0, 2);
  k.key_hash = r.Bytes(0, 3);
  k.rate_limit = static_cast<int>(r.Int(0, 4));
  k.count = r.Int(0, 5);
  k.window_start_us = r.Int(0, 6);
  k.now_us = r.Int(0, 7);
  k.account_suspended = r.Bool(0, 8);
  k.monthly_quota = static_cast<int>(r.Int(0, 9));
  k.account_rate_limit = static_cast<int>(r.Int(0, 10));
  k.account_count = r.Int(0, 11);
  k.account_window_start_us = r.Int(0, 12);
  return std::optional<KeyLookup>(std::move(k));
}

}  // namespace leadrelay::store
