// The event types leadrelay knows, and which payload each one carries.
#ifndef LEADRELAY_SERVER_DOMAIN_EVENT_CATALOGUE_H_
#define LEADRELAY_SERVER_DOMAIN_EVENT_CATALOGUE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "leadrelay/v1/event.pb.h"

namespace leadrelay::domain {

// Every type, in catalogue order.
const std::vector<std::string>& EventTypes();
bool IsKnownEventType(absl::string_view type);

// Types a webhook may subscribe to (all but internal-only ones).
absl::Status ValidateSubscription(const std::vector<std::string>& events);

// Checks that `request` names a publishable type whose payload matches, and
// builds the event (id and timestamps are left to the caller).
absl::Status BuildPublishedEvent(const v1::PublishEventRequest& request,
                                 v1::Event& event);

}  // namespace leadrelay::domain

#endif  // LEADRELAY_SERVER_DOMAIN_EVENT_CATALOGUE_H_
