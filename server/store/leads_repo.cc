#include "store/leads_repo.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/random_ids.h"
#include "common/status_util.h"
#include "domain/lead_erasure.h"
#include "domain/lead_filter.h"
#include "store/events_repo.h"
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

// The outcome of a point read whose row (body, lr_us(erased_at)) starts at
// column `col`.
absl::StatusOr<v1::Lead> ReadLead(const Result& r, int row, int col,
                                  const std::string& id) {
  if (!r.IsNull(row, col + 1)) {
    return LeadErased(id,
                      absl::FormatTime(absl::RFC3339_sec, r.Time(row, col + 1),
                                       absl::UTCTimeZone()));
  }
  return LeadFrom(r, row, col);
}

// The list filters; empty parameters match everything, so every query has
// one plan shape.
constexpr char kLeadFilter[] = R"sql(
    WHERE account_id = $1 AND erased_at IS NULL
      AND ($2 = '' OR vertical = $2)
      AND ($3 = '' OR score_tier = $3)
      AND ($4 = '' OR lower(suburb) = lower($4))
      AND ($5 = '' OR status = $5)
      AND ($6::int8 IS NULL OR delivered_at >= to_timestamp($6::float8 / 1e6))
      AND ($7::int8 IS NULL OR delivered_at < to_timestamp($7::float8 / 1e6)))sql";

Param TimeParam(const google::protobuf::Timestamp& ts) {
  return Param(absl::ToUnixMicros(FromTimestamp(ts)));
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

// A bytea[] literal: {"\\x0a1b",...} (hex inside a quoted array element).
Param ByteaArray(const std::vector<std::string>& values) {
  static constexpr char kHex[] = "0123456789abcdef";
  size_t size = 2;
  for (const std::string& v : values) size += v.size() * 2 + 6;
  std::string out;
  out.reserve(size);
  out += '{';
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += "\"\\\\x";
    for (unsigned char c : values[i]) {
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
    out += '"';
  }
  out += '}';
  return Param(std::move(out));
}

}  // namespace

void PrepareNewLead(v1::Lead& lead) {
  lead.set_id(NewId("lead_"));
  absl::Time now = absl::Now();
  SetTimestamp(now, lead.mutable_created_at());
  SetTimestamp(now, lead.mutable_updated_at());
  SetTimestamp(now, lead.mutable_delivered_at());
}

absl::StatusOr<std::vector<absl::StatusOr<LeadInsert>>> CreateLeads(
    Connection& conn, const std::string& account_id, int cost,
    std::vector<NewLead> leads) {
  std::vector<std::string> ids, external_ids, verticals, tiers, suburbs,
      statuses, bodies, event_ids, event_bodies, services, phones, emails,
      suburb_keys, province_keys;
  std::vector<int64_t> scores, at_us;
  for (const NewLead& n : leads) {
    const v1::Lead& lead = n.lead;
    ids.push_back(lead.id());
    external_ids.push_back(lead.external_id());
    verticals.push_back(lead.vertical());
    tiers.push_back(lead.score_tier());
    suburbs.push_back(lead.suburb());
    suburb_keys.push_back(domain::PlaceKey(lead.suburb()));
    province_keys.push_back(domain::PlaceKey(lead.province()));
    statuses.push_back(lead.status());
    scores.push_back(lead.score());
    bodies.push_back(lead.SerializeAsString());
    at_us.push_back(absl::ToUnixMicros(FromTimestamp(lead.created_at())));
    event_ids.push_back(n.event.id());
    event_bodies.push_back(n.event.SerializeAsString());
    services.push_back(n.service);
    // Phone and email: their digests are what erasure finds the lead by.
    std::string contact[2];
    for (const domain::ContactKey& key : domain::ContactKeysOf(lead)) {
      contact[key.kind == "phone" ? 0 : 1] = key.value;
    }
    phones.push_back(contact[0]);
    emails.push_back(contact[1]);
  }
  LR_ASSIGN_OR_RETURN(
      Result r,
      conn.Exec(
          R"sql(
      SELECT * FROM leadrelay_create_leads($1, $2, $3::text[],
        array_replace($4::text[], '', NULL), $5::text[], $6::text[],
        $7::text[], $8::text[], $9::int[], $10::bytea[], $11::int8[],
        $12::text[], $13::bytea[], $14::text[], $15::text[], $16::text[],
        $17::text[], $18::text[]))sql",
          {account_id, cost, Param::TextArray(ids),
           Param::TextArray(external_ids), Param::TextArray(verticals),
           Param::TextArray(tiers), Param::TextArray(suburbs),
           Param::TextArray(statuses), IntArray(scores), ByteaArray(bodies),
           IntArray(at_us), Param::TextArray(event_ids),
           ByteaArray(event_bodies), Param::TextArray(services),
           Param::TextArray(suburb_keys), Param::TextArray(province_keys),
           Param::TextArray(phones), Param::TextArray(emails)}));
  if (r.rows() != static_cast<int>(leads.size())) {
    return Internal(
        "leadrelay_create_leads returned a row count that does "
        "not match its input");
  }
  conn.WakeAfterCommit(kEventsChannel, account_id);
  std::vector<absl::StatusOr<LeadInsert>> out;
  out.reserve(leads.size());
  for (int i = 0; i < r.rows(); ++i) {
    absl::string_view outcome = r.Text(i, 0);
    if (outcome == "created") {
      out.push_back(LeadInsert{std::move(leads[i].lead), true});
    } else if (outcome == "existing" && r.IsNull(i, 1)) {
      out.push_back(Internal("lead with a conflicting external_id vanished"));
    } else if (outcome == "existing") {
      absl::StatusOr<v1::Lead> existing = LeadFrom(r, i, 1);
      if (existing.ok()) {
        out.push_back(LeadInsert{*std::move(existing), false});
      } else {
        out.push_back(existing.status());
      }
    } else {
      out.push_back(InsufficientCredits(cost, static_cast<int>(r.Int(i, 2))));
    }
  }
  return out;
}

absl::StatusOr<v1::Lead> LockLead(Connection& conn,
                                  const std::string& account_id,
                                  const std::string& id) {
  LR_ASSIGN_OR_RETURN(Result r,
                      conn.Exec("SELECT body, lr_us(erased_at) FROM leads "
                                "WHERE account_id = $1 AND id = $2 FOR UPDATE",
                                {account_id, id}));
  if (r.rows() == 0) return NotFound("lead", id);
  return ReadLead(r, 0, 0, id);
}

absl::StatusOr<std::vector<absl::StatusOr<v1::Lead>>> GetLeads(
    Connection& conn, const std::vector<LeadKey>& keys) {
  std::vector<std::string> accounts, ids;
  accounts.reserve(keys.size());
  ids.reserve(keys.size());
  for (const LeadKey& k : keys) {
    accounts.push_back(k.account_id);
    ids.push_back(k.id);
  }
  // One primary-key probe per key, whatever the statistics say (OFFSET 0
  // keeps the subquery apart, so no join order or other index can replace
  // the probe); the account check outside it means a key names a lead only
  // within its own account.
  LR_ASSIGN_OR_RETURN(
      Result r, conn.Exec(R"sql(
      SELECT q.i, l.body, lr_us(l.erased_at)
      FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS q(account_id, id, i)
      CROSS JOIN LATERAL (
        SELECT account_id, body, erased_at FROM leads WHERE id = q.id OFFSET 0
      ) l
      WHERE l.account_id = q.account_id)sql",
                          {Param::TextArray(accounts), Param::TextArray(ids)}));
  std::vector<absl::StatusOr<v1::Lead>> out;
  out.reserve(keys.size());
  for (const LeadKey& k : keys) out.push_back(NotFound("lead", k.id));
  for (int row = 0; row < r.rows(); ++row) {
    int64_t i = r.Int(row, 0) - 1;  // ordinality counts from 1
    if (i < 0 || i >= static_cast<int64_t>(keys.size())) {
      return Internal("lead read returned an unknown position");
    }
    out[i] = ReadLead(r, row, 1, keys[i].id);
  }
  return out;
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
