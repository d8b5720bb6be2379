// The JSON body of a webhook delivery, exactly as leadrelay-server sends it:
//   {"delivery_id":"dlv_...","event_id":"evt_...","event":"lead.new",
//    "timestamp":"<RFC 3339>","account_id":"acct_...","data":{...}}
// ("test":true is added for test sends). Pure.
#ifndef LEADRELAY_CLIENT_WEBHOOK_PAYLOAD_H_
#define LEADRELAY_CLIENT_WEBHOOK_PAYLOAD_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "leadrelay/v1/event.pb.h"

namespace leadrelay::webhooks {

absl::StatusOr<std::string> DeliveryBody(const v1::Event& event,
                                         absl::string_view delivery_id,
                                         bool test = false);

// The event's typed payload alone as JSON ("{}" when it has none).
absl::StatusOr<std::string> EventDataJson(const v1::Event& event);

}  // namespace leadrelay::webhooks

#endif  // LEADRELAY_CLIENT_WEBHOOK_PAYLOAD_H_
