#include "store/lead_batcher.h"

#include <utility>
#include <vector>

#include "common/status_util.h"

namespace leadrelay::store {

LeadBatcher::LeadBatcher(Pool& pool, LeadBatcherOptions options)
    : pool_(pool), options_(options) {}

void LeadBatcher::Create(const std::string& account_id, int cost, NewLead lead,
                         Done done) {
  Account* account;
  {
    absl::MutexLock lock(&mu_);
    account = &accounts_[account_id];
    account->queued.push_back({cost, std::move(lead), std::move(done)});
    if (account->writers >= options_.max_writers) return;  // a writer takes it
    ++account->writers;
  }
  for (;;) {
    // The oldest queued requests of one cost (every CreateLead costs the
    // same; a policy change mid-flight only splits batches).
    std::vector<Request> batch;
    int batch_cost;
    {
      absl::MutexLock lock(&mu_);
      if (account->queued.empty()) {
        if (--account->writers == 0) accounts_.erase(account_id);
        return;
      }
      batch_cost = account->queued.front().cost;
      for (auto it = account->queued.begin();
           it != account->queued.end() &&
           static_cast<int>(batch.size()) < options_.max_batch;) {
        if (it->cost != batch_cost) {
          ++it;
          continue;
        }
        batch.push_back(std::move(*it));
        it = account->queued.erase(it);
      }
    }
    std::vector<NewLead> leads;
    leads.reserve(batch.size());
    for (Request& r : batch) leads.push_back(std::move(r.lead));
    std::vector<absl::StatusOr<LeadInsert>> outcomes =
        Write(account_id, batch_cost, leads);
    for (size_t i = 0; i < batch.size(); ++i) {
      std::move(batch[i].done)(std::move(outcomes[i]));
    }
  }
}

std::vector<absl::StatusOr<LeadInsert>> LeadBatcher::Write(
    const std::string& account_id, int cost,
    const std::vector<NewLead>& batch) {
  absl::StatusOr<std::vector<absl::StatusOr<LeadInsert>>> written;
  absl::Status status = pool_.Run([&](Connection& conn) -> absl::Status {
    written = CreateLeads(conn, account_id, cost, batch);
    return written.status();
  });
  if (status.ok() && written->size() == batch.size())
    return *std::move(written);
  if (status.ok()) status = Internal("a lead batch lost track of its leads");
  // The statement failed as a whole and stored nothing. When it held more
  // than one lead (e.g. a deadlock between two batches retrying the same
  // external ids), write each alone so that one lead cannot fail another.
  if (batch.size() == 1 || IsConnectionError(status)) {
    return std::vector<absl::StatusOr<LeadInsert>>(batch.size(), status);
  }
  std::vector<absl::StatusOr<LeadInsert>> out;
  out.reserve(batch.size());
  for (const NewLead& lead : batch) {
    out.push_back(std::move(Write(account_id, cost, {lead})[0]));
  }
  return out;
}

}  // namespace leadrelay::store
