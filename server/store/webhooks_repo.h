// Webhook endpoints of one account. The signing secret is stored encrypted
// (it is needed to sign; see crypto/secret_box.h) and never read back
// through the API after creation: listings show only its hint.
#ifndef LEADRELAY_SERVER_STORE_WEBHOOKS_REPO_H_
#define LEADRELAY_SERVER_STORE_WEBHOOKS_REPO_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crypto/secret_box.h"
#include "domain/lead_filter.h"
#include "leadrelay/v1/webhook.pb.h"
#include "store/pg.h"

namespace leadrelay::store {

// Locks the account row and counts its webhooks, so concurrent creations
// cannot pass the per-account limit together.
absl::StatusOr<int> CountWebhooksLocked(Connection& conn,
                                        const std::string& account_id);
// A signing secret on its way in: `hint` is all the API will show of it.
struct NewSecret {
  std::string value;
  std::string hint;
};

// The authenticated context of a webhook's sealed secrets: a ciphertext
// moved to another row does not open.
std::string SecretContext(const std::string& webhook_id);

// `filters` validated (domain::ParseLeadFilter); req.filters is not read.
absl::StatusOr<v1::Webhook> InsertWebhook(Connection& conn,
                                          const std::string& account_id,
                                          const v1::CreateWebhookRequest& req,
                                          const domain::LeadFilter& filters,
                                          const NewSecret& secret,
                                          const crypto::SecretBox& box);
absl::StatusOr<std::vector<v1::Webhook>> ListWebhooks(
    Connection& conn, const std::string& account_id);
absl::StatusOr<v1::Webhook> GetWebhook(Connection& conn,
                                       const std::string& account_id,
                                       const std::string& id);

struct WebhookChange {
  std::optional<std::string> name;
  std::optional<std::string> url;
  std::optional<std::vector<std::string>> events;
  std::optional<bool> enabled;
  std::optional<domain::LeadFilter> filters;  // replaces all three parts
};
absl::StatusOr<v1::Webhook> UpdateWebhook(Connection& conn,
                                          const std::string& account_id,
                                          const std::string& id,
                                          const WebhookChange& change);
absl::Status DeleteWebhook(Connection& conn, const std::string& account_id,
                           const std::string& id);
// The old secret keeps signing alongside the new one for `grace`.
absl::StatusOr<v1::Webhook> RotateWebhookSecret(Connection& conn,
                                                const std::string& account_id,
                                                const std::string& id,
                                                const NewSecret& secret,
                                                absl::Duration grace,
                                                const crypto::SecretBox& box);

}  // namespace leadrelay::store

#endif  // LEADRELAY_SERVER_STORE_WEBHOOKS_REPO_H_
