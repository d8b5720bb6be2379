#include "delivery/dispatcher.h"

#include <algorithm>
#include <future>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/random_ids.h"
#include "common/status_util.h"
#include "delivery/claim_batch_cache.h"
#include "delivery/payload.h"
#include "delivery/signing.h"
#include "domain/webhook_rules.h"
#include "leadrelay/v1/event.pb.h"
#include "ops/attempt_outcome.h"
#include "ops/server_metrics.h"
#include "store/events_repo.h"
#include "store/proto_time.h"

namespace leadrelay::delivery {
namespace {

double UnitRandom() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
}

// Response excerpts go into a text column: keep valid UTF-8 only.
std::string CleanExcerpt(const std::string& raw) {
  std::string out;
  out.reserve(raw.size());
  size_t i = 0;
  while (i < raw.size()) {
    unsigned char c = raw[i];
    int length = c < 0x80         ? 1
                 : (c >> 5) == 6  ? 2
                 : (c >> 4) == 14 ? 3
                 : (c >> 3) == 30 ? 4
                                  : 0;
    bool valid = length > 0 && i + length <= raw.size();
    for (int k = 1; valid && k < length; ++k) {
      valid = (static_cast<unsigned char>(raw[i + k]) >> 6) == 2;
    }
    if (!valid || c == 0) {
      out += '?';
      ++i;
      continue;
    }
    out.append(raw, i, length);
    i += length;
  }
  return out;
}

// At the in-flight cap, slots free up and results come back a few at a
// time, one response at a time; claiming or recording each few is a
// transaction apiece (with 100 ms endpoints, ~4 rows a transaction).
// There, claims and records wait this long at most for a batch's worth.
constexpr absl::Duration kGatherAtTheCap = absl::Milliseconds(10);

// A connection for each request the dispatcher may have in flight, so that
// raising --max_deliveries_in_flight does not turn connection reuse into a
// connect and a close per request.
HttpSenderOptions SenderOptions(const DispatcherOptions& options) {
  HttpSenderOptions http = options.http;
  http.max_connections = std::max(http.max_connections, options.max_in_flight);
  return http;
}

}  // namespace

Dispatcher::Dispatcher(store::Pool& pool, DispatcherOptions options)
    : pool_(pool),
      options_(std::move(options)),
      sender_(std::make_unique<HttpSender>(SenderOptions(options_))),
      replica_id_(NewId("rep_", 10)) {}

Dispatcher::~Dispatcher() { Stop(); }

void Dispatcher::Start() {
  started_ = true;
  threads_.emplace_back([this] { ClaimLoop(); });
  recorder_ = std::thread([this] { RecordLoop(); });
  threads_.emplace_back([this] { PruneLoop(); });
}

void Dispatcher::Stop() {
  if (!started_) return;
  started_ = false;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (auto& t : threads_) t.join();
  threads_.clear();
  // Nothing claims any more. The sender fails what is still in flight; the
  // recorder writes those results as retries, so nothing waits for a lease.
  sender_.reset();
  {
    absl::MutexLock lock(&mu_);
    drained_ = true;
  }
  recorder_.join();
}

void Dispatcher::Wake() {
  absl::MutexLock lock(&mu_);
  wake_ = true;
}

int Dispatcher::GatherTarget() const {
  return std::min(options_.claim_batch,
                  std::max(1, options_.max_in_flight / 8));
}

bool Dispatcher::HostAllowed(const std::string& url) const {
  if (options_.allowed_hosts.empty()) return false;
  auto parsed = domain::ParseHttpUrl(url);
  return parsed.ok() &&
         std::find(options_.allowed_hosts.begin(), options_.allowed_hosts.end(),
                   parsed->host) != options_.allowed_hosts.end();
}

store::AttemptRecord Dispatcher::ToRecord(const store::ClaimedDelivery& claim,
                                          const HttpResult& result,
                                          absl::Time attempted_at) {
  store::AttemptRecord r;
  r.delivery_id = claim.id;
  r.claim_token = claim.claim_token;
  r.account_id = claim.account_id;
  r.webhook_id = claim.webhook_id;
  r.number = claim.attempt_number;
  r.attempted_at = attempted_at;
  r.duration_ms = static_cast<int>(absl::ToInt64Milliseconds(result.elapsed));
  r.url = claim.url;
  r.http_status = result.http_status;
  r.response_excerpt = CleanExcerpt(result.response_excerpt);
  r.error = result.error;
  if (r.error.empty() && (r.http_status < 200 || r.http_status >= 300)) {
    r.error = absl::StrCat("endpoint answered HTTP ", r.http_status);
  }
  r.trigger = claim.trigger;
  AttemptOutcome outcome;
  outcome.http_status = result.http_status;
  outcome.network_error = result.network_error;
  absl::Time now = absl::Now();
  if (result.retry_after.has_value()) {
    outcome.retry_after = ParseRetryAfter(*result.retry_after, now);
  }
  Decision d =
      Decide(options_.retry, outcome, claim.attempt_number, now, UnitRandom());
  switch (d.verdict) {
    case Verdict::kSucceeded:
      r.status = "succeeded";
      break;
    case Verdict::kRetry:
      // Test deliveries report their one attempt and are not retried.
      r.status = claim.trigger == "test" ? "failed" : "pending";
      r.next_attempt_at = d.next_attempt_at;
      break;
    case Verdict::kFailed:
      r.status = "failed";
      break;
    case Verdict::kDisableEndpoint:
      r.status = "failed";
      r.disable_endpoint = true;
      break;
  }
  ops::RecordDeliveryAttempt(
      ops::AttemptOutcomeLabel(result.http_status, result.network_error,
                               result.error),
      r.status == "pending");
  return r;
}

void Dispatcher::Dispatch(store::ClaimedDelivery claim, ClaimBatchCache& batch,
                          std::function<void(store::AttemptRecord)> on_result) {
  absl::Time attempted_at = absl::Now();
  const PreparedEvent& prepared = batch.EventOf(claim);
  const v1::Event& event = prepared.event;
  // A secret that does not open (its master key is not loaded here) fails
  // this attempt; the retry may run where the key is loaded.
  const absl::StatusOr<std::vector<std::string>>& secrets =
      batch.SecretsOf(claim);
  if (!prepared.data_json.ok() || !secrets.ok()) {
    HttpResult failed;
    failed.network_error = true;
    failed.error =
        !prepared.data_json.ok()
            ? absl::StrCat("could not build payload: ",
                           prepared.data_json.status().message())
            : absl::StrCat("could not sign: ", secrets.status().message());
    on_result(ToRecord(claim, failed, attempted_at));
    return;
  }
  if (claim.attempt_number == 1 && !claim.test && event.has_created_at()) {
    ops::RecordFirstAttemptDelay(attempted_at -
                                 FromTimestamp(event.created_at()));
  }
  std::string body =
      BuildPayloadWithData(event, *prepared.data_json, claim.id, claim.test);
  HttpRequest request;
  request.url = claim.url;
  request.headers = SignedHeaders(*secrets, claim.id, event.type(),
                                  absl::ToUnixSeconds(attempted_at), body);
  request.body = std::move(body);
  request.endpoint_key = claim.webhook_id;
  request.allow_private_addresses = HostAllowed(claim.url);
  // The payload carries the event now; an event near the size limit need
  // not be held twice while its request is in flight.
  std::string().swap(claim.event_body);
  auto shared_claim =
      std::make_shared<store::ClaimedDelivery>(std::move(claim));
  sender_->Send(std::move(request),
                [this, shared_claim, attempted_at,
                 on_result = std::move(on_result)](HttpResult result) {
                  on_result(ToRecord(*shared_claim, result, attempted_at));
                });
}

absl::Status Dispatcher::Record(
    const std::vector<store::AttemptRecord>& records) {
  return pool_.InTransaction([&](store::Connection& conn) -> absl::Status {
    // Losing these records in a crash leaves the deliveries claimed until
    // their lease ends: they are sent once more (at least once).
    LR_RETURN_IF_ERROR(store::CommitWithoutWaitingForFlush(conn));
    LR_ASSIGN_OR_RETURN(
        std::vector<store::DisabledWebhook> disabled,
        store::RecordAttempts(conn, records, options_.disable_after));
    ops::RecordEndpointsDisabled(static_cast<int>(disabled.size()));
    for (const auto& d : disabled) {
      LogWarning(
          absl::StrCat("webhook ", d.webhook_id, " disabled: ", d.reason));
      v1::Event event;
      event.set_type("webhook.disabled");
      auto* data = event.mutable_webhook_disabled();
      data->set_webhook_id(d.webhook_id);
      data->set_url(d.url);
      data->set_reason(d.reason);
      LR_RETURN_IF_ERROR(
          store::AppendEvent(conn, d.account_id, std::move(event)).status());
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<v1::Delivery> Dispatcher::SendNow(store::ClaimedDelivery claim) {
  std::string account_id = claim.account_id;
  std::string webhook_id = claim.webhook_id;
  std::string id = claim.id;
  auto done = std::make_shared<std::promise<store::AttemptRecord>>();
  std::future<store::AttemptRecord> recorded = done->get_future();
  ClaimBatchCache batch(*options_.secret_box);
  Dispatch(std::move(claim), batch,
           [done](store::AttemptRecord r) { done->set_value(std::move(r)); });
  LR_RETURN_IF_ERROR(Record({recorded.get()}));
  v1::Delivery delivery;
  LR_RETURN_IF_ERROR(pool_.Run([&](store::Connection& conn) -> absl::Status {
    LR_ASSIGN_OR_RETURN(
        delivery, store::GetDelivery(conn, account_id, webhook_id, id, true));
    return absl::OkStatus();
  }));
  return delivery;
}

void Dispatcher::ClaimLoop() {
  absl::Duration lease = options_.http.timeout + absl::Seconds(60);
  absl::Time last_sweep = absl::InfinitePast();
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || (wake_ && in_flight_ < options_.max_in_flight);
      };
      mu_.AwaitWithTimeout(absl::Condition(&ready), options_.poll_interval);
      if (stopping_) return;
      wake_ = false;
      auto slots_gathered = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ ||
               options_.max_in_flight - in_flight_ >= GatherTarget();
      };
      if (!slots_gathered()) {
        mu_.AwaitWithTimeout(absl::Condition(&slots_gathered), kGatherAtTheCap);
        if (stopping_) return;
      }
    }
    if (absl::Now() - last_sweep >= options_.poll_interval) {
      last_sweep = absl::Now();
      (void)pool_.Run([](store::Connection& conn) {
        return store::FailDeliveriesOfDisabledWebhooks(conn).status();
      });
    }
    for (;;) {
      int capacity;
      {
        absl::MutexLock lock(&mu_);
        if (stopping_) return;
        capacity =
            std::min(options_.claim_batch, options_.max_in_flight - in_flight_);
      }
      if (capacity <= 0) break;
      std::vector<store::ClaimedDelivery> claims;
      std::string token = absl::StrCat(replica_id_, ".", NewId("", 8));
      absl::Status status =
          pool_.InTransaction([&](store::Connection& conn) -> absl::Status {
            // A claim lost in a crash only makes its delivery due again.
            LR_RETURN_IF_ERROR(store::CommitWithoutWaitingForFlush(conn));
            LR_ASSIGN_OR_RETURN(claims, store::ClaimDueDeliveries(
                                            conn, capacity, lease, token));
            return absl::OkStatus();
          });
      if (!status.ok()) {
        LogWarning(
            absl::StrCat("claiming deliveries failed: ", status.message()));
        break;
      }
      {
        absl::MutexLock lock(&mu_);
        in_flight_ += static_cast<int>(claims.size());
      }
      ops::RecordDeliveriesInFlight(static_cast<int>(claims.size()));
      size_t claimed = claims.size();
      ClaimBatchCache batch(*options_.secret_box);
      for (auto& claim : claims) {
        Dispatch(std::move(claim), batch, [this](store::AttemptRecord record) {
          absl::MutexLock lock(&mu_);
          results_.push_back(std::move(record));
        });
      }
      if (static_cast<int>(claimed) < capacity) break;
    }
  }
}

void Dispatcher::RecordLoop() {
  absl::Duration backoff = absl::Milliseconds(100);
  std::vector<store::AttemptRecord> batch;
  for (;;) {
    bool stopping;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return drained_ || !results_.empty();
      };
      if (batch.empty()) mu_.Await(absl::Condition(&ready));
      auto results_gathered = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return drained_ ||
               static_cast<int>(results_.size()) >= GatherTarget() ||
               in_flight_ <= options_.max_in_flight / 2;
      };
      if (!results_gathered()) {
        mu_.AwaitWithTimeout(absl::Condition(&results_gathered),
                             kGatherAtTheCap);
      }
      size_t take = std::min<size_t>(results_.size(), 1000 - batch.size());
      std::move(results_.begin(), results_.begin() + take,
                std::back_inserter(batch));
      results_.erase(results_.begin(), results_.begin() + take);
      stopping = drained_;
    }
    if (batch.empty()) {
      if (stopping) return;
      continue;
    }
    absl::Status status = Record(batch);
    if (status.ok()) {
      absl::MutexLock lock(&mu_);
      in_flight_ -= static_cast<int>(batch.size());
      ops::RecordDeliveriesInFlight(-static_cast<int>(batch.size()));
      wake_ = true;  // capacity freed; retries may be due
      batch.clear();
      backoff = absl::Milliseconds(100);
      continue;
    }
    LogWarning(absl::StrCat(
        "recording ", batch.size(),
        " delivery attempts failed (will retry): ", status.message()));
    absl::MutexLock lock(&mu_);
    if (drained_) return;  // leases expire; the deliveries are sent again
    mu_.AwaitWithTimeout(absl::Condition(&drained_), backoff);
    backoff = std::min(backoff * 2, absl::Seconds(5));
  }
}

void Dispatcher::PruneLoop() {
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&stopping_),
                           options_.prune_interval);
      if (stopping_) return;
    }
    for (int round = 0; round < 1000; ++round) {
      int touched = 0;
      absl::Status status =
          pool_.Run([&](store::Connection& conn) -> absl::Status {
            LR_ASSIGN_OR_RETURN(
                int bodies, store::PruneAttemptBodies(
                                conn, options_.attempt_body_retention, 500));
            LR_ASSIGN_OR_RETURN(int rows,
                                store::PruneFinishedDeliveries(
                                    conn, options_.delivery_retention, 500));
            touched = bodies + rows;
            return absl::OkStatus();
          });
      if (!status.ok() || touched == 0) break;
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
    }
  }
}

}  // namespace leadrelay::delivery
