// The outcome class of one webhook attempt, as the delivery metrics label it.
#ifndef LEADRELAY_SERVER_OPS_ATTEMPT_OUTCOME_H_
#define LEADRELAY_SERVER_OPS_ATTEMPT_OUTCOME_H_

#include "absl/strings/string_view.h"

namespace leadrelay::ops {

// "2xx", "3xx", "4xx", "5xx" for a response; for no response "timeout",
// "refused_by_policy" (the address policy blocked it) or "connect_error".
// `error` is the sender's message (curl's text or the policy's refusal).
absl::string_view AttemptOutcomeLabel(int http_status, bool network_error,
                                      absl::string_view error);

}  // namespace leadrelay::ops

#endif  // LEADRELAY_SERVER_OPS_ATTEMPT_OUTCOME_H_
