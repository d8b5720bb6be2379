// Which leads a subscriber wants, by the lead's vertical, score tier, score,
// suburb and province: the one vocabulary of webhook filters and of the live
// stream's lead filters. Pure. The webhook fan-out applies the same rule in SQL
// (leadrelay_lead_filter_admits, migration 0060), where delivery rows are
// written in the lead's own transaction.
#ifndef LEADRELAY_SERVER_DOMAIN_LEAD_FILTER_H_
#define LEADRELAY_SERVER_DOMAIN_LEAD_FILTER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "leadrelay/v1/lead.pb.h"

namespace leadrelay::domain {

inline constexpr int kMaxLeadScore = 100;

struct LeadFilter {
  std::vector<std::string> verticals;    // lower-case; empty: any
  std::vector<std::string> score_tiers;  // lower-case; empty: any
  int min_score = 0;                     // 0: any
  std::vector<std::string> suburbs;      // PlaceKey()s; empty: any
  std::vector<std::string> provinces;    // PlaceKey()s; empty: any

  // True when nothing is filtered.
  bool Empty() const;
  // Every part that is set matches.
  bool Matches(const v1::Lead& lead) const;
  v1::LeadFilter ToProto() const;
};

// How a suburb or province compares: ASCII letters lower-cased, spaces
// around and between words collapsed ("  Bondi   BEACH " -> "bondi beach").
// Other bytes are kept as they are, so the webhook fan-out (SQL) and the
// stream (here) compare the same keys. "" for a blank place.
std::string PlaceKey(absl::string_view place);

// Lower-cases, checks and deduplicates the parts of a filter. Errors are
// invalid_request naming the field as `prefix` + "verticals",
// "score_tiers", "min_score", "suburbs" or "provinces" (prefix: "" for the
// stream's query parameters, "filters." for a webhook's).
absl::StatusOr<LeadFilter> ParseLeadFilter(const v1::LeadFilter& filter,
                                           absl::string_view prefix);

}  // namespace leadrelay::domain

#endif  // LEADRELAY_SERVER_DOMAIN_LEAD_FILTER_H_
