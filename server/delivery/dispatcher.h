// The webhook dispatcher of one server process. Any number of replicas may
// run one against the same database:
//  - NOTIFY on new events and requeues wakes the claimer at once (through
//    Wake(), from the process's NotificationListener); a slow poll is the
//    safety net;
//  - the claimer claims due deliveries in batches (FOR UPDATE SKIP LOCKED)
//    with a lease, signs them and hands them to the HTTP sender;
//  - the recorder writes attempt results in batches and decides retries;
//  - the pruner trims old attempt bodies and deliveries in small batches.
#ifndef LEADRELAY_SERVER_DELIVERY_DISPATCHER_H_
#define LEADRELAY_SERVER_DELIVERY_DISPATCHER_H_

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "crypto/secret_box.h"
#include "delivery/claim_batch_cache.h"
#include "delivery/http_sender.h"
#include "delivery/retry_policy.h"
#include "leadrelay/v1/webhook.pb.h"
#include "store/deliveries_repo.h"
#include "store/pg.h"

namespace leadrelay::delivery {

struct DispatcherOptions {
  RetryPolicy retry;
  HttpSenderOptions http;
  int max_in_flight = 512;
  int claim_batch = 200;
  absl::Duration poll_interval = absl::Seconds(2);
  // Endpoints failing without a break for this long are disabled.
  absl::Duration disable_after = absl::Hours(24 * 5);
  absl::Duration attempt_body_retention = absl::Hours(24 * 7);
  absl::Duration delivery_retention = absl::Hours(24 * 30);
  absl::Duration prune_interval = absl::Minutes(10);
  // Hosts exempt from the private-address check (development only).
  std::vector<std::string> allowed_hosts;
  // Opens the webhook secrets deliveries are signed with (required).
  const crypto::SecretBox* secret_box = nullptr;
};

class Dispatcher {
 public:
  Dispatcher(store::Pool& pool, DispatcherOptions options);
  ~Dispatcher();  // Stop()
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  void Start();
  // Wakes the claimer: new deliveries may be due (wired to NOTIFY).
  void Wake();
  // Stops claiming, waits for in-flight requests and records them.
  void Stop();

  // Sends one claimed delivery now and records its attempt; returns the
  // delivery with its attempts (TestWebhook).
  absl::StatusOr<v1::Delivery> SendNow(store::ClaimedDelivery claim);

 private:
  struct Result;
  void ClaimLoop();
  void RecordLoop();
  void PruneLoop();
  // Signs and sends one claimed delivery; `batch` holds what the other
  // deliveries of its claim share (events, opened secrets).
  void Dispatch(store::ClaimedDelivery claim, ClaimBatchCache& batch,
                std::function<void(store::AttemptRecord)> on_recorded);
  store::AttemptRecord ToRecord(const store::ClaimedDelivery& claim,
                                const HttpResult& result,
                                absl::Time attempted_at);
  absl::Status Record(const std::vector<store::AttemptRecord>& records);
  bool HostAllowed(const std::string& url) const;
  // How many free slots a claim, and how many results a record, waits for
  // at the in-flight cap (kGatherAtTheCap at most).
  int GatherTarget() const;

  store::Pool& pool_;
  DispatcherOptions options_;
  std::unique_ptr<HttpSender> sender_;
  std::string replica_id_;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Set once the sender is gone: no result can arrive any more.
  bool drained_ ABSL_GUARDED_BY(mu_) = false;
  bool wake_ ABSL_GUARDED_BY(mu_) = false;
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<store::AttemptRecord> results_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> threads_;  // claimer, pruner
  std::thread recorder_;
  bool started_ = false;
};

}  // namespace leadrelay::delivery

#endif  // LEADRELAY_SERVER_DELIVERY_DISPATCHER_H_
