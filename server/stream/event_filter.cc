#include "stream/event_filter.h"

#include <algorithm>

#include "common/status_util.h"
#include "domain/event_catalogue.h"

namespace leadrelay::stream {

bool EventFilter::Matches(const v1::Event& event) const {
  if (!types.empty() &&
      std::find(types.begin(), types.end(), event.type()) == types.end()) {
    return false;
  }
  if (lead.Empty()) return true;
  return event.data_case() == v1::Event::kLead &&
         lead.Matches(event.lead().lead());
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
  v1::LeadFilter lead;
  *lead.mutable_verticals() = request.verticals();
  *lead.mutable_score_tiers() = request.score_tiers();
  lead.set_min_score(request.min_score());
  *lead.mutable_suburbs() = request.suburbs();
  *lead.mutable_provinces() = request.provinces();
  LR_ASSIGN_OR_RETURN(f.lead, domain::ParseLeadFilter(lead, /*prefix=*/""));
  return f;
}

}  // namespace leadrelay::stream
