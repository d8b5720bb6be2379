// Which events a stream subscriber wants. Pure.
#ifndef LEADRELAY_SERVER_STREAM_EVENT_FILTER_H_
#define LEADRELAY_SERVER_STREAM_EVENT_FILTER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "domain/lead_filter.h"
#include "leadrelay/v1/event.pb.h"

namespace leadrelay::stream {

struct EventFilter {
  std::vector<std::string> types;
  // When set, only lead events whose lead matches (other events are left
  // out: a stream asked for solar leads wants nothing else).
  domain::LeadFilter lead;

  bool Matches(const v1::Event& event) const;
};

// Validates the request's vocabularies (event types, verticals, tiers,
// min_score, suburbs, provinces).
absl::StatusOr<EventFilter> FilterFromRequest(
    const v1::StreamEventsRequest& request);

}  // namespace leadrelay::stream

#endif  // LEADRELAY_SERVER_STREAM_EVENT_FILTER_H_
