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

// Stores a validated new lead, assigning id and timestamps.
absl::StatusOr<v1::Lead> InsertLead(Connection& conn,
                                    const std::string& account_id,
                                    v1::Lead lead);
absl::StatusOr<std::optional<v1::Lead>> FindLeadByExternalId(
    Connection& conn, const std::string& account_id,
    const std::string& external_id);
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
absl::StatusOr<LeadPage> ListLeads(Connection& conn,
                                   const std::string& account_id,
                                   const domain::LeadQuery& query);

}  // namespace leadrelay::store

#endif  // LEADRELAY_SERVER_STORE_LEADS_REPO_H_
