// Validation and normalisation of leads: pure, no I/O.
#ifndef LEADRELAY_SERVER_DOMAIN_LEAD_RULES_H_
#define LEADRELAY_SERVER_DOMAIN_LEAD_RULES_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "leadrelay/v1/lead.pb.h"

namespace leadrelay::domain {

bool IsValidVertical(absl::string_view v);
bool IsValidScoreTier(absl::string_view v);
bool IsValidLeadStatus(absl::string_view v);
bool IsValidPhone(absl::string_view v);
bool IsValidEmail(absl::string_view v);

// Lower-case `value` and check it against the vocabulary; the
// invalid_request names `field` and lists the allowed values.
absl::Status NormalizeVertical(absl::string_view field, std::string& value);
absl::Status NormalizeScoreTier(absl::string_view field, std::string& value);

// hot >= 80, warm >= 60, else qualified.
std::string TierForScore(int score);

// Checks a lead handed to CreateLead and fills what the server derives
// (lower-cased vocabularies, tier from score). Returns INVALID_ARGUMENT
// naming the first offending field.
absl::Status NormalizeNewLead(v1::Lead& lead);

// Checks an update and applies it to `lead`; returns the changed fields.
absl::StatusOr<std::vector<std::string>> ApplyLeadUpdate(
    const v1::UpdateLeadRequest& update, v1::Lead& lead);

// Parses YYYY-MM-DD as midnight UTC.
absl::StatusOr<absl::Time> ParseDate(absl::string_view field,
                                     absl::string_view date);

// A list query after validation: defaults applied, dates parsed.
struct LeadQuery {
  std::string vertical;
  std::string score_tier;
  std::string suburb;
  std::string status;
  std::optional<absl::Time> from;   // inclusive
  std::optional<absl::Time> until;  // exclusive (day after date_to)
  int page = 1;
  int limit = 25;
  int offset = 0;  // from page_token when given, else from page and limit
};

inline constexpr int kMaxPageSize = 100;

absl::StatusOr<LeadQuery> ParseLeadQuery(const v1::ListLeadsRequest& request);

}  // namespace leadrelay::domain

#endif  // LEADRELAY_SERVER_DOMAIN_LEAD_RULES_H_
