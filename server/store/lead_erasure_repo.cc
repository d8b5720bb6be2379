#include "store/lead_erasure_repo.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/status_util.h"
#include "store/events_repo.h"
#include "store/proto_time.h"

namespace leadrelay::store {
namespace {

absl::StatusOr<v1::LeadErasure> Tombstone(Connection& conn,
                                          const std::string& account_id,
                                          const std::string& lead_id) {
  LR_ASSIGN_OR_RETURN(Result r, conn.Exec(R"sql(
      SELECT lr_us(erased_at), key_id, service, request_id, event_id
      FROM lead_erasures WHERE account_id = $1 AND lead_id = $2)sql",
                                          {account_id, lead_id}));
  if (r.rows() == 0) return Internal("erased lead without a tombstone");
  v1::LeadErasure out;
  out.set_lead_id(lead_id);
  out.set_account_id(account_id);
  SetTimestamp(r.Time(0, 0), out.mutable_erased_at());
  out.set_erased_by_key_id(r.String(0, 1));
  out.set_erased_by_service(r.String(0, 2));
  out.set_request_id(r.String(0, 3));
  out.set_event_id(r.String(0, 4));
  return out;
}

// Rewrites the lead's events without its personal data; returns their ids.
// They are found by events.lead_id, and in lead_event_refs for events
// written before migration 0085.
absl::StatusOr<std::vector<std::string>> EraseLeadEvents(
    Connection& conn, const std::string& account_id,
    const std::string& lead_id) {
  LR_ASSIGN_OR_RETURN(Result r, conn.Exec(R"sql(
      SELECT e.id, e.body FROM events e
      WHERE e.account_id = $2 AND e.id IN (
        SELECT id FROM events WHERE lead_id = $1
        UNION
        SELECT event_id FROM lead_event_refs WHERE lead_id = $1)
      FOR UPDATE)sql",
                                          {lead_id, account_id}));
  std::vector<std::string> ids;
  for (int i = 0; i < r.rows(); ++i) {
    v1::Event event;
    if (!event.ParseFromString(r.Bytes(i, 1))) {
      return Internal("corrupt event body");
    }
    ids.push_back(r.String(i, 0));
    LR_RETURN_IF_ERROR(
        conn.Exec("UPDATE events SET body = $2 WHERE id = $1",
                  {ids.back(),
                   Param::Bytes(
                       domain::ErasedLeadEvent(event).SerializeAsString())})
            .status());
  }
  LR_RETURN_IF_ERROR(
      conn.Exec("DELETE FROM lead_event_refs WHERE lead_id = $1", {lead_id})
          .status());
  return ids;
}

// Pending deliveries of these events are dropped (they must not send the
// lead later, even redacted); what receivers answered is forgotten.
absl::Status EraseDeliveries(Connection& conn,
                             const std::vector<std::string>& event_ids) {
  if (event_ids.empty()) return absl::OkStatus();
  Param ids = Param::TextArray(event_ids);
  LR_RETURN_IF_ERROR(conn.Exec(R"sql(
      DELETE FROM deliveries
      WHERE event_id = ANY ($1::text[]) AND status = 'pending')sql",
                               {ids})
                         .status());
  LR_RETURN_IF_ERROR(conn.Exec(R"sql(
      UPDATE delivery_attempts a SET response_excerpt = '', error = ''
      FROM deliveries d
      WHERE d.event_id = ANY ($1::text[]) AND a.delivery_id = d.id
        AND (a.response_excerpt <> '' OR a.error <> ''))sql",
                               {ids})
                         .status());
  return conn
      .Exec(R"sql(
      UPDATE deliveries SET last_error = ''
      WHERE event_id = ANY ($1::text[]) AND last_error <> '')sql",
            {ids})
      .status();
}

}  // namespace

absl::StatusOr<v1::LeadErasure> EraseLead(Connection& conn,
                                          const std::string& account_id,
                                          const std::string& lead_id,
                                          const Eraser& eraser) {
  // The row lock makes concurrent erasures of one lead take turns: the
  // second finds the tombstone.
  LR_ASSIGN_OR_RETURN(Result r, conn.Exec(R"sql(
      SELECT body, erased_at IS NOT NULL FROM leads
      WHERE account_id = $1 AND id = $2 FOR UPDATE)sql",
                                          {account_id, lead_id}));
  if (r.rows() == 0) return NotFound("lead", lead_id);
  if (r.Bool(0, 1)) return Tombstone(conn, account_id, lead_id);
  v1::Lead lead;
  if (!lead.ParseFromString(r.Bytes(0, 0))) {
    return Internal("corrupt lead body");
  }
  absl::Time now = absl::Now();
  LR_RETURN_IF_ERROR(
      conn.Exec(R"sql(
      UPDATE leads SET body = $2, external_id = NULL, suburb = '',
                       phone_digest = NULL, email_digest = NULL,
                       erased_at = to_timestamp($3::float8 / 1e6)
      WHERE id = $1)sql",
                {lead_id,
                 Param::Bytes(domain::ErasedLead(lead).SerializeAsString()),
                 absl::ToUnixMicros(now)})
          .status());
  // Keys of a lead written before migration 0085.
  LR_RETURN_IF_ERROR(
      conn.Exec("DELETE FROM lead_contact_keys WHERE lead_id = $1", {lead_id})
          .status());
  LR_ASSIGN_OR_RETURN(std::vector<std::string> event_ids,
                      EraseLeadEvents(conn, account_id, lead_id));
  LR_RETURN_IF_ERROR(EraseDeliveries(conn, event_ids));

  v1::Event erased;
  erased.set_type("lead.erased");
  erased.mutable_lead_erased()->set_lead_id(lead_id);
  SetTimestamp(now, erased.mutable_lead_erased()->mutable_erased_at());
  LR_ASSIGN_OR_RETURN(AppendedEvent appended,
                      AppendEvent(conn, account_id, std::move(erased)));
  LR_RETURN_IF_ERROR(
      conn.Exec(R"sql(
      INSERT INTO lead_erasures (lead_id, account_id, erased_at, key_id,
                                 service, event_id)
      VALUES ($1, $2, to_timestamp($3::float8 / 1e6), $4, $5, $6))sql",
                {lead_id, account_id, absl::ToUnixMicros(now), eraser.key_id,
                 eraser.service, appended.event.id()})
          .status());
  // The audit trail is lead_erasures; the log line carries ids only.
  LogInfo(absl::StrCat("lead ", lead_id, " of account ", account_id,
                       " erased by key ", eraser.key_id,
                       eraser.service.empty() ? "" : " for service ",
                       eraser.service));
  return Tombstone(conn, account_id, lead_id);
}

absl::StatusOr<std::vector<std::string>> FindLeadsToErase(
    Connection& conn, const std::string& account_id,
    const std::vector<std::string>& external_ids,
    const std::vector<domain::ContactKey>& contacts, int limit) {
  std::vector<std::string> kinds, values;
  for (const domain::ContactKey& c : contacts) {
    kinds.push_back(c.kind);
    values.push_back(c.value);
  }
  // Every arm uses an index: leads_external_id, leads_phone_digest,
  // leads_email_digest, and lead_contact_keys_digest for leads written
  // before migration 0085. A digest names its kind, so a phone's never
  // matches an email's.
  LR_ASSIGN_OR_RETURN(
      Result r,
      conn.Exec(R"sql(
      WITH d AS MATERIALIZED (
        SELECT ARRAY(SELECT leadrelay_contact_digest(k, v)
                     FROM unnest($3::text[], $4::text[]) AS x(k, v)) AS digests)
      SELECT id FROM leads
      WHERE account_id = $1 AND external_id = ANY ($2::text[])
      UNION
      SELECT id FROM leads
      WHERE account_id = $1 AND phone_digest IS NOT NULL
        AND phone_digest = ANY ((SELECT digests FROM d)::bytea[])
      UNION
      SELECT id FROM leads
      WHERE account_id = $1 AND email_digest IS NOT NULL
        AND email_digest = ANY ((SELECT digests FROM d)::bytea[])
      UNION
      SELECT lead_id FROM lead_contact_keys
      WHERE account_id = $1
        AND digest = ANY ((SELECT digests FROM d)::bytea[])
      ORDER BY 1
      LIMIT $5)sql",
                {account_id, Param::TextArray(external_ids),
                 Param::TextArray(kinds), Param::TextArray(values), limit}));
  std::vector<std::string> ids;
  for (int i = 0; i < r.rows(); ++i) ids.push_back(r.String(i, 0));
  return ids;
}

}  // namespace leadrelay::store
