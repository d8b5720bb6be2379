#include "store/leads_repo.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/random_ids.h"
#include "common/status_util.h"
#include "store/proto_time.h"

namespace leadrelay::store {
namespace {

absl::StatusOr<v1::Lead> LeadFrom(const Result& r, int row, int col) {
  v1::Lead lead;
  if (!lead.ParseFromString(r.Bytes(row, col))) {
    return Internal("corrupt lead body");
  }
  return lead;
}

// The list filters; empty parameters match everything, so every query has
// one plan shape.
constexpr char kLeadFilter[] = R"sql(
    WHERE account_id = $1
      AND ($2 = '' OR vertical = $2)
      AND ($3 = '' OR score_tier = $3)
      AND ($4 = '' OR lower(suburb) = lower($4))
      AND ($5 = '' OR status = $5)
      AND ($6::int8 IS NULL OR delivered_at >= to_timestamp($6::float8 / 1e6))
      AND ($7::int8 IS NULL OR delivered_at < to_timestamp($7::float8 / 1e6)))sql";

Param TimeParam(const google::protobuf::Timestamp& ts) {
  return Param(absl::ToUnixMicros(FromTimestamp(ts)));
}

}  // namespace

absl::StatusOr<LeadInsert> InsertLead(Connection& conn,
                                      const std::string& account_id,
                                      v1::Lead lead) {
  lead.set_id(NewId("lead_"));
  absl::Time now = absl::Now();
  SetTimestamp(now, lead.mutable_created_at());
  SetTimestamp(now, lead.mutable_updated_at());
  SetTimestamp(now, lead.mutable_delivered_at());
  LR_ASSIGN_OR_RETURN(
      Result inserted,
      conn.Exec(
          R"sql(
      INSERT INTO leads (id, account_id, external_id, vertical, score_tier,
                         suburb, status, score, body, delivered_at,
                         created_at, updated_at)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,
              to_timestamp($10::float8 / 1e6), to_timestamp($10::float8 / 1e6),
              to_timestamp($10::float8 / 1e6))
      ON CONFLICT (account_id, external_id) WHERE external_id IS NOT NULL
      DO NOTHING
      RETURNING 1)sql",
          {lead.id(), account_id,
           lead.external_id().empty() ? Param::Null()
                                      : Param(lead.external_id()),
           lead.vertical(), lead.score_tier(), lead.suburb(), lead.status(),
           lead.score(), Param::Bytes(lead.SerializeAsString()),
           TimeParam(lead.created_at())}));
  if (inserted.rows() == 1) return LeadInsert{std::move(lead), true};
  // A new statement, so its snapshot sees the lead that won the conflict.
  LR_ASSIGN_OR_RETURN(Result r,
                      conn.Exec("SELECT body FROM leads WHERE "
                                "account_id = $1 AND external_id = $2",
                                {account_id, lead.external_id()}));
  if (r.rows() == 0) {
    return Internal("lead with a conflicting external_id vanished");
  }
  LR_ASSIGN_OR_RETURN(v1::Lead existing, LeadFrom(r, 0, 0));
  return LeadInsert{std::move(existing), false};
}

absl::StatusOr<v1::Lead> GetLead(Connection& conn,
                                 const std::string& account_id,
                                 const std::string& id, bool for_update) {
  LR_ASSIGN_OR_RETURN(
      Result r,
      conn.Exec(absl::StrCat("SELECT body FROM leads WHERE account_id = $1 "
                             "AND id = $2",
                             for_update ? " FOR UPDATE" : ""),
                {account_id, id}));
  if (r.rows() == 0) return NotFound("lead", id);
  return LeadFrom(r, 0, 0);
}

absl::Status SaveLead(Connection& conn, const std::string& account_id,
                      const v1::Lead& lead) {
  return conn
      .Exec(
          "UPDATE leads SET status = $3, score = $4, score_tier = $5, "
          "body = $6, updated_at = to_timestamp($7::float8 / 1e6), "
          "converted_at = CASE WHEN $3 = 'converted' THEN "
          "coalesce(converted_at, now()) ELSE NULL END "
          "WHERE account_id = $1 AND id = $2",
          {account_id, lead.id(), lead.status(), lead.score(),
           lead.score_tier(), Param::Bytes(lead.SerializeAsString()),
           TimeParam(lead.updated_at())})
      .status();
}

absl::StatusOr<LeadPage> ListLeads(Connection& conn,
                                   const std::string& account_id,
                                   const domain::LeadQuery& q,
                                   size_t max_bytes) {
  std::vector<Param> params = {
      account_id,
      q.vertical,
      q.score_tier,
      q.suburb,
      q.status,
      q.from ? Param(absl::ToUnixMicros(*q.from)) : Param::Null(),
      q.until ? Param(absl::ToUnixMicros(*q.until)) : Param::Null(),
      q.limit,
      q.offset,
      static_cast<int64_t>(max_bytes)};
  LR_ASSIGN_OR_RETURN(Result r, conn.Exec(absl::StrCat(R"sql(
      SELECT body, total FROM (
        SELECT body, total, n,
               sum(octet_length(body)) OVER (ORDER BY n)
                 - octet_length(body) AS before
        FROM (SELECT body, count(*) OVER () AS total,
                     row_number() OVER (ORDER BY delivered_at DESC,
                                                 id DESC) AS n
              FROM leads )sql",
                                                       kLeadFilter, R"sql(
              ORDER BY delivered_at DESC, id DESC
              LIMIT $8 OFFSET $9) page) cut
      WHERE before < $10::int8
      ORDER BY n)sql"),
                                          params));
  LeadPage page;
  for (int i = 0; i < r.rows(); ++i) {
    LR_ASSIGN_OR_RETURN(v1::Lead lead, LeadFrom(r, i, 0));
    // Lists are summaries: contact and score detail come from GetLead.
    lead.clear_phone();
    lead.clear_email();
    lead.clear_score_breakdown();
    page.leads.push_back(std::move(lead));
    page.total = static_cast<int>(r.Int(i, 1));
  }
  if (r.rows() == 0 && q.offset > 0) {
    // Past the last page: the window function saw no rows; count apart.
    params.erase(params.begin() + 7, params.end());
    LR_ASSIGN_OR_RETURN(
        Result c,
        conn.Exec(absl::StrCat("SELECT count(*) FROM leads ", kLeadFilter),
                  params));
    page.total = static_cast<int>(c.Int(0, 0));
  }
  return page;
}

}  // namespace leadrelay::store
