#include "stream/event_filter.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "common/status_util.h"
#include "domain/event_catalogue.h"
#include "domain/lead_rules.h"

namespace leadrelay::stream {
namespace {

bool Contains(const std::vector<std::string>& set, const std::string& v) {
  return std::find(set.begin(), set.end(), v) != set.end();
}

}  // namespace

bool EventFilter::Matches(const v1::Event& event) const {
  if (!types.empty() && !Contains(types, event.type())) return false;
  if (verticals.empty() && score_tiers.empty()) return true;
  if (event.data_case() != v1::Event::kLead) return false;
  const v1::Lead& lead = event.lead().lead();
  if (!verticals.empty() && !Contains(verticals, lead.vertical())) {
    return false;
  }
  return score_tiers.empty() || Contains(score_tiers, lead.score_tier());
}

absl::StatusOr<EventFilter> FilterFromRequest(
    const v1::StreamEventsRequest& request) {
  EventFilter f;
  for (const std::string& t : request.types()) {
    if (!domain::IsKnownEventType(t)) {
      return InvalidRequest("unknown event type '" + EchoValue(t) + "'");
    }
    f.types.push_back(t);
  }
  for (std::string v : request.verticals()) {
    absl::AsciiStrToLower(&v);
    if (!domain::IsValidVertical(v)) {
      return InvalidRequest("unknown vertical '" + EchoValue(v) + "'");
    }
    f.verticals.push_back(v);
  }
  for (std::string t : request.score_tiers()) {
    absl::AsciiStrToLower(&t);
    if (!domain::IsValidScoreTier(t)) {
      return InvalidRequest("unknown score_tier '" + EchoValue(t) + "'");
    }
    f.score_tiers.push_back(t);
  }
  return f;
}

}  // namespace leadrelay::stream
