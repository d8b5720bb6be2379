// Erasing a lead's personal data from every table that holds it (the lead,
// its lead.new / lead.updated events, their pending deliveries and attempt
// excerpts, its contact lookup keys), leaving a tombstone in lead_erasures
// and a lead.erased event. Also the lookups that find a lead's events and
// contact keys quickly (migrations 0070 and 0085).
#ifndef LEADRELAY_SERVER_STORE_LEAD_ERASURE_REPO_H_
#define LEADRELAY_SERVER_STORE_LEAD_ERASURE_REPO_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "domain/lead_erasure.h"
#include "leadrelay/v1/lead.pb.h"
#include "store/pg.h"

namespace leadrelay::store {

// Who asked for an erasure.
struct Eraser {
  std::string key_id;
  std::string service;  // the platform service acting, "" for an own key
};

// Erases one lead of `account_id`, in the caller's transaction. A lead
// erased before returns its tombstone unchanged (no second event); a lead
// of another account, or none, is not_found.
absl::StatusOr<v1::LeadErasure> EraseLead(Connection& conn,
                                          const std::string& account_id,
                                          const std::string& lead_id,
                                          const Eraser& eraser);

// Ids of the account's live leads with one of these external_ids, phones or
// emails, in id order, at most `limit`.
absl::StatusOr<std::vector<std::string>> FindLeadsToErase(
    Connection& conn, const std::string& account_id,
    const std::vector<std::string>& external_ids,
    const std::vector<domain::ContactKey>& contacts, int limit);

}  // namespace leadrelay::store

#endif  // LEADRELAY_SERVER_STORE_LEAD_ERASURE_REPO_H_
