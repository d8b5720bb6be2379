// What the deliveries of one claim share. An event fanned out to several
// webhooks is parsed and printed as JSON once, not once per webhook (the
// JSON printer was a tenth of the dispatcher's CPU), and a webhook's
// secrets are opened once per claim. Kept for one claim only: opened
// secrets do not outlive the batch that needed them.
#ifndef LEADRELAY_SERVER_DELIVERY_CLAIM_BATCH_CACHE_H_
#define LEADRELAY_SERVER_DELIVERY_CLAIM_BATCH_CACHE_H_

#include <string>
#include <vector>

#include "absl/container/node_hash_map.h"
#include "absl/status/statusor.h"
#include "crypto/secret_box.h"
#include "leadrelay/v1/event.pb.h"
#include "store/deliveries_repo.h"

namespace leadrelay::delivery {

// A claimed delivery's event, as its payload needs it.
struct PreparedEvent {
  v1::Event event;
  // The payload's "data" object, or why the event could not be read.
  absl::StatusOr<std::string> data_json;
};

class ClaimBatchCache {
 public:
  explicit ClaimBatchCache(const crypto::SecretBox& box) : box_(box) {}
  ClaimBatchCache(const ClaimBatchCache&) = delete;
  ClaimBatchCache& operator=(const ClaimBatchCache&) = delete;

  // The claim's event; the reference stays valid as long as the cache.
  const PreparedEvent& EventOf(const store::ClaimedDelivery& claim);
  // The plaintext of the claim's webhook secrets (current first).
  const absl::StatusOr<std::vector<std::string>>& SecretsOf(
      const store::ClaimedDelivery& claim);

 private:
  const crypto::SecretBox& box_;
  absl::node_hash_map<std::string, PreparedEvent> events_;  // by event id
  absl::node_hash_map<std::string, absl::StatusOr<std::vector<std::string>>>
      secrets_;  // by webhook id
};

}  // namespace leadrelay::delivery

#endif  // LEADRELAY_SERVER_DELIVERY_CLAIM_BATCH_CACHE_H_
