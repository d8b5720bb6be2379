#include "domain/lead_erasure.h"

#include "absl/strings/str_cat.h"
#include "common/status_util.h"
#include "domain/input_limits.h"
#include "domain/lead_rules.h"

namespace leadrelay::domain {

v1::Lead ErasedLead(const v1::Lead& lead) {
  v1::Lead kept;
  kept.set_id(lead.id());
  kept.set_vertical(lead.vertical());
  kept.set_sub_vertical(lead.sub_vertical());
  kept.set_service_type(lead.service_type());
  kept.set_budget_range(lead.budget_range());
  kept.set_urgency(lead.urgency());
  kept.set_score(lead.score());
  kept.set_score_tier(lead.score_tier());
  *kept.mutable_score_breakdown() = lead.score_breakdown();
  kept.set_status(lead.status());
  kept.set_source(lead.source());
  *kept.mutable_delivered_at() = lead.delivered_at();
  *kept.mutable_created_at() = lead.created_at();
  *kept.mutable_updated_at() = lead.updated_at();
  return kept;
}

v1::Event ErasedLeadEvent(const v1::Event& event) {
  v1::Event out = event;
  if (!out.has_lead()) return out;
  v1::LeadEventData* data = out.mutable_lead();
  *data->mutable_lead() = ErasedLead(data->lead());
  data->clear_contact();
  return out;
}

namespace {

// One list may hold every key of a call (see input_limits.h).
static_assert(kMaxLookupKeyEntries >= kMaxEraseKeys);

int KeyCount(const v1::EraseLeadsRequest& request) {
  return request.external_ids_size() + request.phones_size() +
         request.emails_size();
}

}  // namespace

absl::Status CheckEraseKeyCount(const v1::EraseLeadsRequest& request) {
  int keys = KeyCount(request);
  if (keys > kMaxEraseKeys) {
    return InvalidRequest(
        absl::StrCat("at most ", kMaxEraseKeys,
                     " keys (external_ids, phones and emails together) per "
                     "EraseLeads call; got ",
                     keys, ": split the request"),
        kReasonEraseBatchTooLarge);
  }
  return absl::OkStatus();
}

absl::Status ValidateEraseLeads(const v1::EraseLeadsRequest& request) {
  LR_RETURN_IF_ERROR(CheckEraseKeyCount(request));
  if (KeyCount(request) == 0) {
    return InvalidRequest(
        "name at least one lead to erase in external_ids, phones or emails");
  }
  for (const std::string& id : request.external_ids()) {
    if (id.empty()) return InvalidRequest("external_ids must not be empty");
  }
  for (const std::string& phone : request.phones()) {
    if (!IsValidPhone(phone)) {
      return InvalidRequest(
          absl::StrCat("phones must be in E.164 format such as "
                       "+27823456789; got '",
                       EchoValue(phone), "'"));
    }
  }
  for (const std::string& email : request.emails()) {
    if (!IsValidEmail(email)) {
      return InvalidRequest(absl::StrCat(
          "emails must be valid addresses; got '", EchoValue(email), "'"));
    }
  }
  return absl::OkStatus();
}

std::vector<ContactKey> ContactKeysOf(const v1::EraseLeadsRequest& request) {
  std::vector<ContactKey> keys;
  for (const std::string& phone : request.phones()) {
    keys.push_back({"phone", phone});
  }
  for (const std::string& email : request.emails()) {
    keys.push_back({"email", email});
  }
  return keys;
}

std::vector<ContactKey> ContactKeysOf(const v1::Lead& lead) {
  std::vector<ContactKey> keys;
  if (!lead.phone().empty()) keys.push_back({"phone", lead.phone()});
  if (!lead.email().empty()) keys.push_back({"email", lead.email()});
  return keys;
}

}  // namespace leadrelay::domain
