#include "domain/event_catalogue.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_util.h"

namespace leadrelay::domain {
namespace {

using Case = v1::PublishEventRequest::DataCase;

struct EventKind {
  const char* type;
  Case payload;  // DATA_NOT_SET: not publishable through PublishEvent
  // Set for lead events: only this call produces them, after validating
  // the lead and debiting its credits, so PublishEvent refuses them.
  const char* produced_by = nullptr;
};

constexpr EventKind kKinds[] = {
    {"lead.new", Case::kLead, "LeadService.CreateLead (POST /v1/leads)"},
    {"lead.updated", Case::kLead,
     "LeadService.UpdateLead (PATCH /v1/leads/{id})"},
    {"lead.enriched", Case::kLeadEnriched},
    {"stats.updated", Case::kStats},
    {"follower.gained", Case::kFollower},
    {"follower.lost", Case::kFollower},
    {"dm.sent", Case::kDm},
    {"dm.failed", Case::kDm},
    {"job.completed", Case::kJob},
    {"job.failed", Case::kJob},
    {"connection.completed", Case::kConnection},
    {"webhook.test", Case::DATA_NOT_SET},
    {"webhook.disabled", Case::DATA_NOT_SET},
    // LeadService.EraseLead / EraseLeads.
    {"lead.erased", Case::DATA_NOT_SET},
};

const EventKind* Find(absl::string_view type) {
  for (const EventKind& k : kKinds) {
    if (type == k.type) return &k;
  }
  return nullptr;
}

// The payload field name in JSON, for error messages.
const char* PayloadName(Case c) {
  switch (c) {
    case Case::kLead:
      return "lead";
    case Case::kLeadEnriched:
      return "lead_enriched";
    case Case::kStats:
      return "stats";
    case Case::kFollower:
      return "follower";
    case Case::kDm:
      return "dm";
    case Case::kJob:
      return "job";
    case Case::kConnection:
      return "connection";
    default:
      return "none";
  }
}

}  // namespace

const std::vector<std::string>& EventTypes() {
  static const auto* types = [] {
    auto* v = new std::vector<std::string>();
    for (const EventKind& k : kKinds) v->push_back(k.type);
    return v;
  }();
  return *types;
}

bool IsKnownEventType(absl::string_view type) { return Find(type) != nullptr; }

absl::Status ValidateSubscription(const std::vector<std::string>& events) {
  if (events.empty()) {
    return InvalidRequest(
        absl::StrCat("events must name at least one event type: ",
                     absl::StrJoin(EventTypes(), ", ")));
  }
  for (const std::string& e : events) {
    if (!IsKnownEventType(e)) {
      return InvalidRequest(
          absl::StrCat("unknown event type '", EchoValue(e),
                       "'; known types: ", absl::StrJoin(EventTypes(), ", ")));
    }
  }
  return absl::OkStatus();
}

absl::Status BuildPublishedEvent(const v1::PublishEventRequest& request,
                                 v1::Event& event) {
  const EventKind* kind = Find(request.type());
  if (kind == nullptr) {
    return InvalidRequest(
        absl::StrCat("unknown event type '", EchoValue(request.type()),
                     "'; known types: ", absl::StrJoin(EventTypes(), ", ")));
  }
  if (kind->produced_by != nullptr) {
    return InvalidRequest(absl::StrCat(
        "'", request.type(), "' events are produced only by ",
        kind->produced_by,
        ", which validates the lead and debits credits; PublishEvent cannot "
        "publish them"));
  }
  if (kind->payload == Case::DATA_NOT_SET) {
    return InvalidRequest(absl::StrCat("'", request.type(),
                                       "' is emitted by leadrelay itself and "
                                       "cannot be published"));
  }
  if (request.data_case() != kind->payload) {
    return InvalidRequest(absl::StrCat("event '", request.type(),
                                       "' carries its payload in '",
                                       PayloadName(kind->payload), "'"));
  }
  event.set_type(request.type());
  switch (request.data_case()) {
    case Case::kLeadEnriched: {
      auto* data = event.mutable_lead_enriched();
      *data = request.lead_enriched();
      data->set_count(data->leads_size());
      break;
    }
    case Case::kStats:
      *event.mutable_stats() = request.stats();
      break;
    case Case::kFollower:
      *event.mutable_follower() = request.follower();
      break;
    case Case::kDm:
      *event.mutable_dm() = request.dm();
      break;
    case Case::kJob:
      *event.mutable_job() = request.job();
      break;
    case Case::kConnection:
      *event.mutable_connection() = request.connection();
      break;
    default:
      break;
  }
  return absl::OkStatus();
}

}  // namespace leadrelay::domain
