#include "delivery/claim_batch_cache.h"

#include "delivery/payload.h"
#include "store/webhook_secrets.h"

namespace leadrelay::delivery {

const PreparedEvent& ClaimBatchCache::EventOf(
    const store::ClaimedDelivery& claim) {
  auto [it, inserted] = events_.try_emplace(claim.event_id);
  PreparedEvent& prepared = it->second;
  if (inserted) {
    prepared.data_json = prepared.event.ParseFromString(claim.event_body)
                             ? EventDataJson(prepared.event)
                             : absl::InternalError("corrupt event body");
  }
  return prepared;
}

const absl::StatusOr<std::vector<std::string>>& ClaimBatchCache::SecretsOf(
    const store::ClaimedDelivery& claim) {
  auto it = secrets_.find(claim.webhook_id);
  if (it == secrets_.end()) {
    it = secrets_
             .emplace(claim.webhook_id,
                      store::OpenWebhookSecrets(box_, claim.webhook_id,
                                                claim.secrets))
             .first;
  }
  return it->second;
}

}  // namespace leadrelay::delivery
