// Tags a transaction with the request that runs it: the request id goes into
// the transaction-local setting leadrelay.request_id, from which new
// deliveries (and so their attempts) take it (migration 0050).
#ifndef LEADRELAY_SERVER_STORE_REQUEST_TAG_H_
#define LEADRELAY_SERVER_STORE_REQUEST_TAG_H_

#include <string>

#include "absl/strings/string_view.h"

namespace leadrelay::store {

// The statement that opens a transaction: "BEGIN" alone when `request_id`
// is empty or unsafe, else BEGIN plus the set_config in the same round trip.
std::string BeginStatement(absl::string_view request_id);

// BeginStatement() for the calling thread's request (common/request_context).
std::string BeginStatementForCurrentRequest();

}  // namespace leadrelay::store

#endif  // LEADRELAY_SERVER_STORE_REQUEST_TAG_H_
