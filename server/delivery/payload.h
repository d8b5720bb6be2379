// The JSON body of a webhook delivery: one envelope for every event type,
// printed from the proto with proto field names. Pure.
//
//   {"delivery_id": "dlv_...", "event_id": "evt_...", "event": "lead.new",
//    "timestamp": "2026-05-20T10:23:44Z", "account_id": "acct_...",
//    "data": {...}, "test": true}
#ifndef LEADRELAY_SERVER_DELIVERY_PAYLOAD_H_
#define LEADRELAY_SERVER_DELIVERY_PAYLOAD_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "leadrelay/v1/event.pb.h"

namespace leadrelay::delivery {

absl::StatusOr<std::string> BuildPayload(const v1::Event& event,
                                         absl::string_view delivery_id,
                                         bool test);

// The same, with the event's "data" object already printed (EventDataJson):
// the deliveries of one event to several webhooks print it once.
std::string BuildPayloadWithData(const v1::Event& event,
                                 absl::string_view data_json,
                                 absl::string_view delivery_id, bool test);

// The event's payload alone, as JSON ({} when it has none).
absl::StatusOr<std::string> EventDataJson(const v1::Event& event);

}  // namespace leadrelay::delivery

#endif  // LEADRELAY_SERVER_DELIVERY_PAYLOAD_H_
