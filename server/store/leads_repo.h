// Leads of one account. Indexed columns for filtering; the whole lead as a
// serialized proto.
#ifndef LEADRELAY_SERVER_STORE_LEADS_REPO_H_
#define LEADRELAY_SERVER_STORE_LEADS_REPO_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "domain/lead_rules.h"
#include "leadrelay/v1/lead.pb.h"
#include "store/pg.h"

namespace leadrelay::store {

struct LeadInsert {
  v1::Lead lead;
  bool created = false;
};

// Stores a validated new lead, assigning id and timestamps. A producer
// retrying: when the account already has a lead with this external_id,
// stores nothing and returns that lead with `created` false (an insert of
// the same external_id still running is waited for).
absl::StatusOr<LeadInsert> InsertLead(Connection& conn,
                                      const std::string& account_id,
                                      v1::Lead lead);
// `for_update` locks the row for the rest of the transaction.
absl::StatusOr<v1::Lead> GetLead(Connection& conn,
                                 const std::string& account_id,
                                 const std::string& id, bool for_update);
absl::Status SaveLead(Connection& conn, const std::string& account_id,
                      const v1::Lead& lead);

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
