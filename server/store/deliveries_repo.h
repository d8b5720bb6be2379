// The delivery queue and its log: claiming due deliveries with a lease
// (FOR UPDATE SKIP LOCKED), recording attempts in batches, and the reads and
// requeues behind the delivery-log API.
#ifndef LEADRELAY_SERVER_STORE_DELIVERIES_REPO_H_
#define LEADRELAY_SERVER_STORE_DELIVERIES_REPO_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crypto/secret_box.h"
#include "leadrelay/v1/webhook.pb.h"
#include "store/pg.h"

namespace leadrelay::store {

struct ClaimedDelivery {
  std::string id;
  std::string account_id;
  std::string webhook_id;
  std::string url;
  // Signing secrets as stored, current first, then one in grace; opened
  // with store::OpenWebhookSecrets just before signing.
  std::vector<crypto::SealedSecret> secrets;
  std::string event_id;
  std::string event_body;  // serialized leadrelay.v1.Event
  bool test = false;
  int attempt_number = 0;  // of the attempt about to be made
  std::string trigger;     // scheduled, manual or test
  std::string claim_token;
};

// Makes the caller's transaction commit without waiting for its WAL flush
// (synchronous_commit off for it alone): for the dispatcher's bookkeeping,
// claims and attempt records, whose loss in a crash only means that a
// delivery is sent once more, which at-least-once delivery allows. Call
// inside a transaction.
absl::Status CommitWithoutWaitingForFlush(Connection& conn);

// Claims up to `limit` due deliveries of enabled webhooks. A claim is a lease:
// if no result is recorded within `lease`, the delivery is due again.
absl::StatusOr<std::vector<ClaimedDelivery>> ClaimDueDeliveries(
    Connection& conn, int limit, absl::Duration lease,
    const std::string& claim_token);

// Pending deliveries of disabled endpoints fail instead of waiting forever.
absl::StatusOr<int> FailDeliveriesOfDisabledWebhooks(Connection& conn);

struct AttemptRecord {
  std::string delivery_id;
  std::string claim_token;
  std::string account_id;
  std::string webhook_id;
  int number = 0;
  absl::Time attempted_at;
  int duration_ms = 0;
  std::string url;
  int http_status = 0;
  std::string response_excerpt;
  std::string error;
  std::string trigger;
  // Outcome: "pending" with next_attempt_at (a retry), "succeeded", "failed".
  std::string status;
  absl::Time next_attempt_at;
  // The endpoint answered 410 Gone: disable it now.
  bool disable_endpoint = false;
};

struct DisabledWebhook {
  std::string webhook_id;
  std::string account_id;
  std::string url;
  std::string reason;
};

// Records a batch of attempts in the caller's transaction; a record whose
// claim was lost to another replica (lease expired) is dropped. Tracks how
// long each endpoint has been failing and disables those failing longer than
// `disable_after` (and those that answered 410); returns them.
absl::StatusOr<std::vector<DisabledWebhook>> RecordAttempts(
    Connection& conn, const std::vector<AttemptRecord>& records,
    absl::Duration disable_after);

struct DeliveryQuery {
  std::string webhook_id;
  std::string status;
  std::string event_type;
  std::optional<absl::Time> since;
  std::optional<absl::Time> until;
  int page = 1;
  int limit = 25;
  int offset = 0;
};

absl::StatusOr<v1::ListDeliveriesResponse> ListDeliveries(
    Connection& conn, const std::string& account_id, const DeliveryQuery& q);
absl::StatusOr<v1::Delivery> GetDelivery(Connection& conn,
                                         const std::string& account_id,
                                         const std::string& webhook_id,
                                         const std::string& id,
                                         bool with_attempts);
// Makes a delivery due now with trigger "manual"; same delivery id.
absl::StatusOr<v1::Delivery> Redeliver(Connection& conn,
                                       const std::string& account_id,
                                       const std::string& webhook_id,
                                       const std::string& id);
// Requeues failed deliveries created since `since`; returns how many.
absl::StatusOr<int> RecoverFailedDeliveries(Connection& conn,
                                            const std::string& account_id,
                                            const std::string& webhook_id,
                                            absl::Time since);
// A test delivery, already claimed by `claim_token` so that the caller sends
// it itself rather than the dispatcher.
absl::StatusOr<ClaimedDelivery> InsertClaimedTestDelivery(
    Connection& conn, const std::string& account_id,
    const std::string& webhook_id, const std::string& event_id,
    const std::string& claim_token);

// Retention, in small batches: returns rows touched (0 when done).
absl::StatusOr<int> PruneAttemptBodies(Connection& conn, absl::Duration age,
                                       int batch);
absl::StatusOr<int> PruneFinishedDeliveries(Connection& conn,
                                            absl::Duration age, int batch);

}  // namespace leadrelay::store

#endif  // LEADRELAY_SERVER_STORE_DELIVERIES_REPO_H_
