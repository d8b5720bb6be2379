// What erasing a lead keeps and removes, and the checks on an EraseLeads
// request: pure, no I/O.
#ifndef LEADRELAY_SERVER_DOMAIN_LEAD_ERASURE_H_
#define LEADRELAY_SERVER_DOMAIN_LEAD_ERASURE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "leadrelay/v1/event.pb.h"
#include "leadrelay/v1/lead.pb.h"

namespace leadrelay::domain {

// Keys in one EraseLeads call (external_ids, phones and emails together);
// more is erase_batch_too_large.
inline constexpr int kMaxEraseKeys = 100;
// Leads erased by one EraseLeads call; the rest on the next (`more`).
inline constexpr int kMaxLeadsErasedPerCall = 200;

// The lead as kept after erasure: only fields that say nothing about the
// person (id, vertical, service, budget, urgency, score, status, source,
// timestamps). A list of what is kept, so a field added later is dropped
// unless added here.
v1::Lead ErasedLead(const v1::Lead& lead);

// `event` with the lead it carries (lead.new, lead.updated) replaced by
// ErasedLead and its contact removed. Other events are returned unchanged.
v1::Event ErasedLeadEvent(const v1::Event& event);

// A contact lookup key of EraseLeads, in the form the store digests it
// (leadrelay_contact_digest): kind "phone" or "email".
struct ContactKey {
  std::string kind;
  std::string value;
};

// erase_batch_too_large when `request` holds more than kMaxEraseKeys keys.
absl::Status CheckEraseKeyCount(const v1::EraseLeadsRequest& request);

// Checks an EraseLeads request: CheckEraseKeyCount, at least one key,
// phones in E.164, emails well formed, no empty entries.
absl::Status ValidateEraseLeads(const v1::EraseLeadsRequest& request);

// The phone and email keys of `request` (after ValidateEraseLeads).
std::vector<ContactKey> ContactKeysOf(const v1::EraseLeadsRequest& request);

// The phone and email under which a new lead can be found for erasure.
std::vector<ContactKey> ContactKeysOf(const v1::Lead& lead);

}  // namespace leadrelay::domain

#endif  // LEADRELAY_SERVER_DOMAIN_LEAD_ERASURE_H_
