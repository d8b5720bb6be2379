#include "store/lead_batcher.h"

#include <utility>
#include <vector>

namespace leadrelay::store {
struct LeadBatcher::Request {
  int cost = 0;
  NewLead lead;
  bool done = false;
  absl::StatusOr<LeadInsert> result = absl::UnknownError("not written");
};

LeadBatcher::LeadBatcher(Pool& pool, LeadBatcherOptions options)
    : pool_(pool), options_(options) {}

absl::StatusOr<LeadInsert> LeadBatcher::Create(const std::string& account_id,
                                               int cost, NewLead lead) {
  Request request;
  request.cost = cost;
  request.lead = std::move(lead);

  absl::MutexLock lock(&mu_);
  Account* account = &accounts_[account_id];
  account->queued.push_back(&request);
  for (;;) {
    auto can_proceed = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return request.done || (account->writers < options_.max_writers &&
                              !account->queued.empty());
    };
    mu_.Await(absl::Condition(&can_proceed));
    if (request.done) break;
    // This caller writes the next batch: the oldest queued requests of one
    // cost (every CreateLead costs the same; a policy change mid-flight
    // only splits batches).
    std::vector<Request*> batch;
    int batch_cost = account->queued.front()->cost;
    for (auto it = account->queued.begin();
         it != account->queued.end() &&
         static_cast<int>(batch.size()) < options_.max_batch;) {
      if ((*it)->cost != batch_cost) {
        ++it;
        continue;
      }
      batch.push_back(*it);
      it = account->queued.erase(it);
    }
    ++account->writers;
    mu_.Unlock();
    Write(account_id, batch_cost, batch);
    mu_.Lock();
    --account->writers;
    for (Request* r : batch) r->done = true;
  }
  // Done: another writer may have completed this request and left already.
  auto it = accounts_.find(account_id);
  if (it != accounts_.end() && it->second.writers == 0 &&
      it->second.queued.empty()) {
    accounts_.erase(it);
  }
  return std::move(request.result);
}

void LeadBatcher::Write(const std::string& account_id, int cost,
                        const std::vector<Request*>& batch) {
  std::vector<NewLead> leads;
  leads.reserve(batch.size());
  for (Request* r : batch) leads.push_back(r->lead);
  absl::StatusOr<std::vector<absl::StatusOr<LeadInsert>>> written;
  absl::Status status = pool_.Run([&](Connection& conn) -> absl::Status {
    written = CreateLeads(conn, account_id, cost, std::move(leads));
    return written.status();
  });
  if (status.ok()) {
    for (size_t i = 0; i < batch.size(); ++i) {
      batch[i]->result = std::move((*written)[i]);
    }
    return;
  }
  // The statement failed as a whole and stored nothing. When it held more
  // than one lead (e.g. a deadlock between two batches retrying the same
  // external ids), write each alone so that one lead cannot fail another.
  if (batch.size() == 1 || IsConnectionError(status)) {
    for (Request* r : batch) r->result = status;
    return;
  }
  for (Request* r : batch) Write(account_id, cost, {r});
}

}  // namespace leadrelay::store
