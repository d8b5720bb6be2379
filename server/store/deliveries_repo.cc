#include "store/deliveries_repo.h"

#include "absl/strings/str_cat.h"
#include "common/random_ids.h"
#include "common/status_util.h"
#include "store/proto_time.h"
#include "store/webhook_secrets.h"

namespace leadrelay::store {
namespace {

// Columns of a claim, shared by the dispatcher's claim and test deliveries.
constexpr char kClaimReturning[] = R"sql(
    d.id, d.account_id, d.webhook_id, w.url, w.secret,
    CASE WHEN w.previous_secret_expires_at > now() THEN w.previous_secret END,
    e.body, d.test, d.attempt_count + 1, d.next_trigger, w.secret_key_id,
    w.previous_secret_key_id, d.event_id)sql";

ClaimedDelivery ClaimFrom(const Result& r, int i, const std::string& token) {
  ClaimedDelivery c;
  c.id = r.String(i, 0);
  c.account_id = r.String(i, 1);
  c.webhook_id = r.String(i, 2);
  c.url = r.String(i, 3);
  c.secrets.push_back(StoredSecretFrom(r, i, 4, 10));
  if (!r.IsNull(i, 5)) c.secrets.push_back(StoredSecretFrom(r, i, 5, 11));
  c.event_id = r.String(i, 12);
  c.event_body = r.Bytes(i, 6);
  c.test = r.Bool(i, 7);
  c.attempt_number = static_cast<int>(r.Int(i, 8));
  c.trigger = r.String(i, 9);
  c.claim_token = token;
  return c;
}

constexpr char kDeliveryColumns[] =
    "d.id, d.webhook_id, d.event_id, d.event_type, d.status, "
    "d.attempt_count, lr_us(d.next_attempt_at), lr_us(d.last_attempt_at), "
    "d.last_http_status, d.test, lr_us(d.created_at), d.last_error";

v1::Delivery DeliveryFrom(const Result& r, int i) {
  v1::Delivery d;
  d.set_id(r.String(i, 0));
  d.set_webhook_id(r.String(i, 1));
  d.set_event_id(r.String(i, 2));
  d.set_event_type(r.String(i, 3));
  d.set_status(r.String(i, 4));
  d.set_attempt_count(static_cast<int32_t>(r.Int(i, 5)));
  if (d.status() == "pending") {
    SetTimestamp(r.Time(i, 6), d.mutable_next_attempt_at());
  }
  if (!r.IsNull(i, 7)) SetTimestamp(r.Time(i, 7), d.mutable_last_attempt_at());
  d.set_last_http_status(static_cast<int32_t>(r.Int(i, 8)));
  d.set_test(r.Bool(i, 9));
  SetTimestamp(r.Time(i, 10), d.mutable_created_at());
  d.set_last_error(r.String(i, 11));
  return d;
}

// "5 days", "3 hours", "90 seconds": for messages people read.
std::string HumanDuration(absl::Duration d) {
  int64_t seconds = absl::ToInt64Seconds(d);
  if (seconds % 86400 == 0 && seconds >= 86400) {
    return absl::StrCat(seconds / 86400, " days");
  }
  if (seconds % 3600 == 0 && seconds >= 3600) {
    return absl::StrCat(seconds / 3600, " hours");
  }
  return absl::StrCat(seconds, " seconds");
}

Param IntArray(const std::vector<int64_t>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    absl::StrAppend(&out, values[i]);
  }
  out += '}';
  return Param(out);
}

}  // namespace

absl::Status CommitWithoutWaitingForFlush(Connection& conn) {
  return conn.Exec("SET LOCAL synchronous_commit = off").status();
}

absl::StatusOr<std::vector<ClaimedDelivery>> ClaimDueDeliveries(
    Connection& conn, int limit, absl::Duration lease,
    const std::string& claim_token) {
  // The due deliveries must be walked in deliveries_due's order, stopping at
  // the limit. When the table's statistics lag its size (a young deployment
  // whose first backlog grows faster than autovacuum analyzes), PostgreSQL
  // took the backlog for a few rows and sorted all of it for each claim:
  // 35 ms instead of 0.6 ms per claim with 30,000 due, growing with the
  // backlog. Without a sort the index walk is the only plan left. SET
  // LOCAL: the caller runs the claim in a transaction.
  LR_RETURN_IF_ERROR(conn.Exec("SET LOCAL enable_sort = off").status());
  LR_ASSIGN_OR_RETURN(
      Result r,
      conn.Exec(absl::StrCat(R"sql(
      -- MATERIALIZED: run once (an inlined subquery on the inner side of a
      -- nested loop is re-run per outer row; see migration 0080).
      WITH due AS MATERIALIZED (
        SELECT d.id FROM deliveries d
        JOIN webhooks w ON w.id = d.webhook_id
        WHERE d.status = 'pending' AND d.next_attempt_at <= now() AND w.enabled
          -- A suspended account's webhooks pause; they resume with it. The
          -- suspended accounts are read once per claim (an InitPlan, on the
          -- partial index of migration 0081): as a join, they made
          -- PostgreSQL sort every due delivery for each claim, which halved
          -- the dispatcher's drain rate.
          AND d.account_id <> ALL (ARRAY(
            SELECT id FROM accounts WHERE suspended_at IS NOT NULL))
        ORDER BY d.next_attempt_at
        LIMIT $1
        FOR UPDATE OF d SKIP LOCKED)
      UPDATE deliveries d
      SET next_attempt_at = now() + $2 * interval '1 millisecond',
          claim_token = $3
      FROM due, webhooks w, events e
      WHERE d.id = due.id AND w.id = d.webhook_id AND e.id = d.event_id
      RETURNING )sql",
                             kClaimReturning),
                {limit, absl::ToInt64Milliseconds(lease), claim_token}));
  std::vector<ClaimedDelivery> out;
  out.reserve(r.rows());
  for (int i = 0; i < r.rows(); ++i)
    out.push_back(ClaimFrom(r, i, claim_token));
  return out;
}

absl::StatusOr<int> FailDeliveriesOfDisabledWebhooks(Connection& conn) {
  LR_ASSIGN_OR_RETURN(Result r, conn.Exec(R"sql(
      WITH gone AS MATERIALIZED (
        SELECT d.id FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id
        WHERE d.status = 'pending' AND NOT w.enabled
          AND d.next_attempt_at <= now()
        LIMIT 1000 FOR UPDATE OF d SKIP LOCKED)
      UPDATE deliveries d SET status = 'failed', claim_token = NULL,
        last_error = 'endpoint disabled; recover the delivery after enabling'
      FROM gone WHERE d.id = gone.id RETURNING 1)sql"));
  return r.rows();
}

absl::StatusOr<std::vector<DisabledWebhook>> RecordAttempts(
    Connection& conn, const std::vector<AttemptRecord>& records,
    absl::Duration disable_after) {
  std::vector<DisabledWebhook> disabled;
  if (records.empty()) return disabled;
  std::vector<std::string> ids, tokens, urls, excerpts, errors, triggers,
      statuses, webhooks, gone;
  std::vector<int64_t> numbers, attempted, durations, http, next;
  std::vector<std::string> ok_hooks, failed_hooks;
  for (const AttemptRecord& a : records) {
    ids.push_back(a.delivery_id);
    tokens.push_back(a.claim_token);
    numbers.push_back(a.number);
    attempted.push_back(absl::ToUnixMicros(a.attempted_at));
    durations.push_back(a.duration_ms);
    urls.push_back(a.url);
    http.push_back(a.http_status);
    excerpts.push_back(a.response_excerpt);
    errors.push_back(a.error);
    triggers.push_back(a.trigger);
    statuses.push_back(a.status);
    next.push_back(absl::ToUnixMicros(a.next_attempt_at));
    if (a.disable_endpoint) {
      gone.push_back(a.webhook_id);
    } else if (a.status == "succeeded") {
      ok_hooks.push_back(a.webhook_id);
    } else {
      failed_hooks.push_back(a.webhook_id);
    }
  }
  LR_RETURN_IF_ERROR(
      conn.Exec(R"sql(
      WITH r AS (
        SELECT * FROM unnest($1::text[], $2::text[], $3::int8[], $4::int8[],
                             $5::int8[], $6::text[], $7::int8[], $8::text[],
                             $9::text[], $10::text[], $11::text[], $12::int8[])
          AS r(id, token, number, attempted_us, duration_ms, url, http_status,
               excerpt, error, trigger, status, next_us)),
      upd AS (
        UPDATE deliveries d SET
          status = r.status,
          attempt_count = r.number,
          next_attempt_at = CASE WHEN r.status = 'pending'
            THEN to_timestamp(r.next_us / 1e6) ELSE d.next_attempt_at END,
          last_attempt_at = to_timestamp(r.attempted_us / 1e6),
          last_http_status = r.http_status,
          last_error = r.error,
          claim_token = NULL,
          next_trigger = 'scheduled'
        FROM r WHERE d.id = r.id AND d.claim_token = r.token
        RETURNING d.id, d.request_id)
      -- An attempt carries its delivery's request id (migration 0083).
      INSERT INTO delivery_attempts (delivery_id, number, attempted_at,
        duration_ms, url, http_status, response_excerpt, error, trigger,
        request_id)
      SELECT r.id, r.number, to_timestamp(r.attempted_us / 1e6), r.duration_ms,
             r.url, r.http_status, r.excerpt, r.error, r.trigger, upd.request_id
      FROM r JOIN upd ON upd.id = r.id
      ON CONFLICT (delivery_id, number) DO NOTHING)sql",
                {Param::TextArray(ids), Param::TextArray(tokens),
                 IntArray(numbers), IntArray(attempted), IntArray(durations),
                 Param::TextArray(urls), IntArray(http),
                 Param::TextArray(excerpts), Param::TextArray(errors),
                 Param::TextArray(triggers), Param::TextArray(statuses),
                 IntArray(next)})
          .status());
  if (!ok_hooks.empty()) {
    LR_RETURN_IF_ERROR(
        conn.Exec("UPDATE webhooks SET failing_since = NULL WHERE id = "
                  "ANY ($1::text[]) AND failing_since IS NOT NULL",
                  {Param::TextArray(ok_hooks)})
            .status());
  }
  if (!failed_hooks.empty()) {
    LR_RETURN_IF_ERROR(
        conn.Exec("UPDATE webhooks SET failing_since = now() WHERE id = ANY "
                  "($1::text[]) AND failing_since IS NULL",
                  {Param::TextArray(failed_hooks)})
            .status());
  }
  // One statement may change a row once: the disabling is its own update.
  LR_ASSIGN_OR_RETURN(
      Result r,
      conn.Exec(R"sql(
      UPDATE webhooks SET enabled = false, updated_at = now(),
        disabled_reason = CASE WHEN id = ANY ($2::text[])
          THEN 'the endpoint answered 410 Gone'
          ELSE 'the endpoint failed every attempt for ' || $4 END
      WHERE enabled AND (id = ANY ($2::text[]) OR (
        id = ANY ($1::text[])
        AND failing_since <= now() - $3 * interval '1 millisecond'))
      RETURNING id, account_id, url, disabled_reason)sql",
                {Param::TextArray(failed_hooks), Param::TextArray(gone),
                 absl::ToInt64Milliseconds(disable_after),
                 HumanDuration(disable_after)}));
  for (int i = 0; i < r.rows(); ++i) {
    disabled.push_back(
        {r.String(i, 0), r.String(i, 1), r.String(i, 2), r.String(i, 3)});
  }
  return disabled;
}

absl::StatusOr<v1::ListDeliveriesResponse> ListDeliveries(
    Connection& conn, const std::string& account_id, const DeliveryQuery& q) {
  LR_ASSIGN_OR_RETURN(
      Result r,
      conn.Exec(absl::StrCat("SELECT ", kDeliveryColumns, R"sql(,
               count(*) OVER ()
        FROM deliveries d
        WHERE d.account_id = $1 AND d.webhook_id = $2
          AND ($3 = '' OR d.status = $3)
          AND ($4 = '' OR d.event_type = $4)
          AND ($5::int8 IS NULL OR d.created_at >= to_timestamp($5 / 1e6))
          AND ($6::int8 IS NULL OR d.created_at < to_timestamp($6 / 1e6))
        ORDER BY d.created_at DESC, d.id DESC
        LIMIT $7 OFFSET $8)sql"),
                {account_id, q.webhook_id, q.status, q.event_type,
                 q.since ? Param(absl::ToUnixMicros(*q.since)) : Param::Null(),
                 q.until ? Param(absl::ToUnixMicros(*q.until)) : Param::Null(),
                 q.limit, q.offset}));
  v1::ListDeliveriesResponse out;
  for (int i = 0; i < r.rows(); ++i) {
    *out.add_deliveries() = DeliveryFrom(r, i);
    out.set_total(static_cast<int32_t>(r.Int(i, 12)));
  }
  out.set_page(q.page);
  out.set_limit(q.limit);
  return out;
}

absl::StatusOr<v1::Delivery> GetDelivery(Connection& conn,
                                         const std::string& account_id,
                                         const std::string& webhook_id,
                                         const std::string& id,
                                         bool with_attempts) {
  LR_ASSIGN_OR_RETURN(
      Result r, conn.Exec(absl::StrCat("SELECT ", kDeliveryColumns,
                                       " FROM deliveries d WHERE d.account_id"
                                       " = $1 AND d.webhook_id = $2 AND "
                                       "d.id = $3"),
                          {account_id, webhook_id, id}));
  if (r.rows() == 0) return NotFound("delivery", id);
  v1::Delivery d = DeliveryFrom(r, 0);
  if (!with_attempts) return d;
  LR_ASSIGN_OR_RETURN(
      Result a,
      conn.Exec("SELECT number, lr_us(attempted_at), duration_ms, url, "
                "http_status, response_excerpt, error, trigger, "
                "COALESCE(request_id, '') FROM delivery_attempts WHERE "
                "delivery_id = $1 ORDER BY number",
                {id}));
  for (int i = 0; i < a.rows(); ++i) {
    v1::DeliveryAttempt* at = d.add_attempts();
    at->set_number(static_cast<int32_t>(a.Int(i, 0)));
    SetTimestamp(a.Time(i, 1), at->mutable_attempted_at());
    at->set_duration_ms(static_cast<int32_t>(a.Int(i, 2)));
    at->set_url(a.String(i, 3));
    at->set_http_status(static_cast<int32_t>(a.Int(i, 4)));
    at->set_response_excerpt(a.String(i, 5));
    at->set_error(a.String(i, 6));
    at->set_trigger(a.String(i, 7));
    at->set_request_id(a.String(i, 8));
  }
  return d;
}

absl::StatusOr<v1::Delivery> Redeliver(Connection& conn,
                                       const std::string& account_id,
                                       const std::string& webhook_id,
                                       const std::string& id) {
  LR_ASSIGN_OR_RETURN(
      Result r,
      conn.Exec("UPDATE deliveries SET status = 'pending', next_attempt_at = "
                "now(), next_trigger = 'manual', claim_token = NULL WHERE "
                "account_id = $1 AND webhook_id = $2 AND id = $3 RETURNING "
                "pg_notify('leadrelay_deliveries', '')",
                {account_id, webhook_id, id}));
  if (r.rows() == 0) return NotFound("delivery", id);
  return GetDelivery(conn, account_id, webhook_id, id, false);
}

absl::StatusOr<int> RecoverFailedDeliveries(Connection& conn,
                                            const std::string& account_id,
                                            const std::string& webhook_id,
                                            absl::Time since) {
  LR_ASSIGN_OR_RETURN(
      Result r, conn.Exec(R"sql(
      WITH requeued AS (
        UPDATE deliveries SET status = 'pending', next_attempt_at = now(),
          next_trigger = 'manual', claim_token = NULL
        WHERE account_id = $1 AND webhook_id = $2 AND status = 'failed'
          AND created_at >= to_timestamp($3 / 1e6)
        RETURNING 1)
      SELECT count(*), pg_notify('leadrelay_deliveries', $2) FROM requeued)sql",
                          {account_id, webhook_id, absl::ToUnixMicros(since)}));
  return static_cast<int>(r.Int(0, 0));
}

absl::StatusOr<ClaimedDelivery> InsertClaimedTestDelivery(
    Connection& conn, const std::string& account_id,
    const std::string& webhook_id, const std::string& event_id,
    const std::string& claim_token) {
  LR_ASSIGN_OR_RETURN(Result r, conn.Exec(absl::StrCat(R"sql(
      WITH d AS (
        INSERT INTO deliveries (id, account_id, webhook_id, event_id,
          event_type, test, claim_token, next_trigger, next_attempt_at)
        SELECT $1, $2, w.id, $4, 'webhook.test', true, $5, 'test',
               now() + interval '1 hour'
        FROM webhooks w WHERE w.account_id = $2 AND w.id = $3
        RETURNING *)
      SELECT )sql",
                                                       kClaimReturning, R"sql(
      FROM d JOIN webhooks w ON w.id = d.webhook_id
      JOIN events e ON e.id = d.event_id)sql"),
                                          {NewId("dlv_", 24), account_id,
                                           webhook_id, event_id, claim_token}));
  if (r.rows() == 0) return NotFound("webhook", webhook_id);
  return ClaimFrom(r, 0, claim_token);
}

absl::StatusOr<int> PruneAttemptBodies(Connection& conn, absl::Duration age,
                                       int batch) {
  LR_ASSIGN_OR_RETURN(Result r, conn.Exec(R"sql(
      UPDATE delivery_attempts SET response_excerpt = ''
      WHERE ctid = ANY (ARRAY(
        SELECT ctid FROM delivery_attempts
        WHERE attempted_at < now() - $1 * interval '1 second'
          AND response_excerpt <> ''
        LIMIT $2))
      RETURNING 1)sql",
                                          {absl::ToInt64Seconds(age), batch}));
  return r.rows();
}

absl::StatusOr<int> PruneFinishedDeliveries(Connection& conn,
                                            absl::Duration age, int batch) {
  LR_ASSIGN_OR_RETURN(Result r, conn.Exec(R"sql(
      DELETE FROM deliveries WHERE id IN (
        SELECT id FROM deliveries
        WHERE status <> 'pending'
          AND created_at < now() - $1 * interval '1 second'
        LIMIT $2)
      RETURNING 1)sql",
                                          {absl::ToInt64Seconds(age), batch}));
  return r.rows();
}

}  // namespace leadrelay::store
