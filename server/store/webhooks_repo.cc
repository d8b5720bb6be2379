#include "store/webhooks_repo.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/random_ids.h"
#include "common/status_util.h"
#include "store/proto_time.h"

namespace leadrelay::store {
namespace {

constexpr char kColumns[] =
    "id, name, url, events, enabled, secret_hint, lr_us(created_at), "
    "lr_us(updated_at), disabled_reason, filter_verticals, "
    "filter_score_tiers, filter_min_score, filter_suburbs, filter_provinces";

v1::Webhook WebhookFrom(const Result& r, int row) {
  v1::Webhook w;
  w.set_id(r.String(row, 0));
  w.set_name(r.String(row, 1));
  w.set_url(r.String(row, 2));
  for (auto& e : r.TextArray(row, 3)) w.add_events(e);
  w.set_enabled(r.Bool(row, 4));
  w.set_secret_prefix(r.String(row, 5));
  SetTimestamp(r.Time(row, 6), w.mutable_created_at());
  SetTimestamp(r.Time(row, 7), w.mutable_updated_at());
  w.set_disabled_reason(r.String(row, 8));
  v1::LeadFilter* filters = w.mutable_filters();
  for (auto& v : r.TextArray(row, 9)) filters->add_verticals(v);
  for (auto& t : r.TextArray(row, 10)) filters->add_score_tiers(t);
  filters->set_min_score(static_cast<int>(r.Int(row, 11)));
  for (auto& s : r.TextArray(row, 12)) filters->add_suburbs(s);
  for (auto& p : r.TextArray(row, 13)) filters->add_provinces(p);
  return w;
}

}  // namespace

std::string SecretContext(const std::string& webhook_id) {
  return absl::StrCat("webhook ", webhook_id);
}

absl::StatusOr<int> CountWebhooksLocked(Connection& conn,
                                        const std::string& account_id) {
  LR_RETURN_IF_ERROR(
      conn.Exec("SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE", {account_id})
          .status());
  LR_ASSIGN_OR_RETURN(
      Result r, conn.Exec("SELECT count(*) FROM webhooks WHERE account_id = $1",
                          {account_id}));
  return static_cast<int>(r.Int(0, 0));
}

absl::StatusOr<v1::Webhook> InsertWebhook(Connection& conn,
                                          const std::string& account_id,
                                          const v1::CreateWebhookRequest& req,
                                          const domain::LeadFilter& filters,
                                          const NewSecret& secret,
                                          const crypto::SecretBox& box) {
  std::vector<std::string> events(req.events().begin(), req.events().end());
  std::string id = NewId("wh_", 16);
  LR_ASSIGN_OR_RETURN(crypto::SealedSecret sealed,
                      box.Seal(secret.value, SecretContext(id)));
  LR_ASSIGN_OR_RETURN(
      Result r,
      conn.Exec(
          absl::StrCat("INSERT INTO webhooks (id, account_id, name, url,"
                       " events, secret, secret_key_id, secret_hint,"
                       " filter_verticals, filter_score_tiers,"
                       " filter_min_score, filter_suburbs, filter_provinces)"
                       " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,"
                       " $12, $13)"
                       " RETURNING ",
                       kColumns),
          {id, account_id, req.name(), req.url(), Param::TextArray(events),
           absl::Base64Escape(sealed.ciphertext), sealed.key_id, secret.hint,
           Param::TextArray(filters.verticals),
           Param::TextArray(filters.score_tiers), filters.min_score,
           Param::TextArray(filters.suburbs),
           Param::TextArray(filters.provinces)}));
  return WebhookFrom(r, 0);
}

absl::StatusOr<std::vector<v1::Webhook>> ListWebhooks(
    Connection& conn, const std::string& account_id) {
  LR_ASSIGN_OR_RETURN(
      Result r, conn.Exec(absl::StrCat("SELECT ", kColumns,
                                       " FROM webhooks WHERE account_id = $1"
                                       " ORDER BY created_at, id"),
                          {account_id}));
  std::vector<v1::Webhook> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(WebhookFrom(r, i));
  return out;
}

absl::StatusOr<v1::Webhook> GetWebhook(Connection& conn,
                                       const std::string& account_id,
                                       const std::string& id) {
  LR_ASSIGN_OR_RETURN(
      Result r,
      conn.Exec(
          absl::StrCat("SELECT ", kColumns,
                       " FROM webhooks WHERE account_id = $1 AND id = $2"),
          {account_id, id}));
  if (r.rows() == 0) return NotFound("webhook", id);
  return WebhookFrom(r, 0);
}

absl::StatusOr<v1::Webhook> UpdateWebhook(Connection& conn,
                                          const std::string& account_id,
                                          const std::string& id,
                                          const WebhookChange& c) {
  LR_ASSIGN_OR_RETURN(
      Result r,
      conn.Exec(
          absl::StrCat(
              "UPDATE webhooks SET"
              " name = coalesce($3, name),"
              " url = coalesce($4, url),"
              " events = coalesce($5::text[], events),"
              " enabled = coalesce($6::boolean, enabled),"
              " disabled_reason = CASE WHEN $6::boolean THEN '' "
              "ELSE disabled_reason END,"
              " filter_verticals = CASE WHEN $7::boolean THEN $8::text[]"
              " ELSE filter_verticals END,"
              " filter_score_tiers = CASE WHEN $7::boolean THEN"
              " $9::text[] ELSE filter_score_tiers END,"
              " filter_min_score = CASE WHEN $7::boolean THEN $10::int"
              " ELSE filter_min_score END,"
              " filter_suburbs = CASE WHEN $7::boolean THEN $11::text[]"
              " ELSE filter_suburbs END,"
              " filter_provinces = CASE WHEN $7::boolean THEN $12::text[]"
              " ELSE filter_provinces END,"
              " updated_at = now()"
              " WHERE account_id = $1 AND id = $2 RETURNING ",
              kColumns),
          {account_id, id, c.name ? Param(*c.name) : Param::Null(),
           c.url ? Param(*c.url) : Param::Null(),
           c.events ? Param::TextArray(*c.events) : Param::Null(),
           c.enabled ? Param(*c.enabled) : Param::Null(), c.filters.has_value(),
           Param::TextArray(c.filters ? c.filters->verticals
                                      : std::vector<std::string>{}),
           Param::TextArray(c.filters ? c.filters->score_tiers
                                      : std::vector<std::string>{}),
           c.filters ? c.filters->min_score : 0,
           Param::TextArray(c.filters ? c.filters->suburbs
                                      : std::vector<std::string>{}),
           Param::TextArray(c.filters ? c.filters->provinces
                                      : std::vector<std::string>{})}));
  if (r.rows() == 0) return NotFound("webhook", id);
  return WebhookFrom(r, 0);
}

absl::Status DeleteWebhook(Connection& conn, const std::string& account_id,
                           const std::string& id) {
  LR_ASSIGN_OR_RETURN(
      Result r, conn.Exec("DELETE FROM webhooks WHERE account_id = $1 AND "
                          "id = $2 RETURNING id",
                          {account_id, id}));
  if (r.rows() == 0) return NotFound("webhook", id);
  return absl::OkStatus();
}

absl::StatusOr<v1::Webhook> RotateWebhookSecret(Connection& conn,
                                                const std::string& account_id,
                                                const std::string& id,
                                                const NewSecret& secret,
                                                absl::Duration grace,
                                                const crypto::SecretBox& box) {
  LR_ASSIGN_OR_RETURN(crypto::SealedSecret sealed,
                      box.Seal(secret.value, SecretContext(id)));
  LR_ASSIGN_OR_RETURN(
      Result r,
      conn.Exec(
          absl::StrCat("UPDATE webhooks SET previous_secret = secret,"
                       " previous_secret_key_id = secret_key_id,"
                       " previous_secret_expires_at = now() + $4 * interval "
                       "'1 second', secret = $3, secret_key_id = $5,"
                       " secret_hint = $6, updated_at = now()"
                       " WHERE account_id = $1 AND id = $2 RETURNING ",
                       kColumns),
          {account_id, id, absl::Base64Escape(sealed.ciphertext),
           absl::ToInt64Seconds(grace), sealed.key_id, secret.hint}));
  if (r.rows() == 0) return NotFound("webhook", id);
  return WebhookFrom(r, 0);
}

}  // namespace leadrelay::store
