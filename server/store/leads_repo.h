// Leads of one account. Indexed columns for filtering; the whole lead as a
// serialized proto.
#ifndef LEADRELAY_SERVER_STORE_LEADS_REPO_H_
#define LEADRELAY_SERVER_STORE_LEADS_REPO_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "domain/lead_rules.h"
#include "leadrelay/v1/event.pb.h"
#include "leadrelay/v1/lead.pb.h"
#include "store/pg.h"

namespace leadrelay::store {

struct LeadInsert {
  v1::Lead lead;
  bool created = false;
};

// Gives a validated new lead its id and timestamps.
void PrepareNewLead(v1::Lead& lead);

// A prepared new lead and its prepared lead.new event (PrepareEvent).
struct NewLead {
  v1::Lead lead;
  v1::Event event;
  std::string service;  // the platform service acting, "" for an own key
};

// Stores new leads of one account in one statement, each charged `cost`
// credits, with its lead.new event and pending deliveries. Per lead: the
// lead stored (`created`); or, when the account already has a lead with its
// external_id (a producer retrying), that lead, nothing stored or charged
// (an insert of the same external_id still running is waited for); or
// insufficient_credits with nothing stored. The outer status fails only
// when the statement did (nothing stored at all).
absl::StatusOr<std::vector<absl::StatusOr<LeadInsert>>> CreateLeads(
    Connection& conn, const std::string& account_id, int cost,
    std::vector<NewLead> leads);
// Reads a lead and locks its row for the rest of the transaction.
absl::StatusOr<v1::Lead> LockLead(Connection& conn,
                                  const std::string& account_id,
                                  const std::string& id);
absl::Status SaveLead(Connection& conn, const std::string& account_id,
                      const v1::Lead& lead);

// A lead asked for by id within its account.
struct LeadKey {
  std::string account_id;
  std::string id;
};
// Point reads of several leads (of any accounts) in one statement; one
// outcome per key, in order: the lead, not_found (no such lead in that
// account) or lead_erased.
absl::StatusOr<std::vector<absl::StatusOr<v1::Lead>>> GetLeads(
    Connection& conn, const std::vector<LeadKey>& keys);

struct LeadPage {
  std::vector<v1::Lead> leads;
  int total = 0;
};
// The page at query.offset, cut short (at least one lead) once the stored
// leads pass `max_bytes`, so large leads are never read in bulk.
absl::StatusOr<LeadPage> ListLeads(Connection& conn,
                                   const std::string& account_id,
                                   const domain::LeadQuery& query,
                                   size_t max_bytes);

}  // namespace leadrelay::store

#endif  // LEADRELAY_SERVER_STORE_LEADS_REPO_H_
