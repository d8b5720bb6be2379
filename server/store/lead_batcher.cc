#include "store/lead_batcher.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "common/status_util.h"

namespace leadrelay::store {

LeadBatcher::LeadBatcher(Pool& pool, LeadBatcherOptions options)
    : pool_(pool), options_(options), finishers_(options.completion_threads) {
  for (int i = 0; i < std::max(1, options_.writer_threads); ++i) {
    writers_.emplace_back([this] { WriteLoop(); });
  }
}

LeadBatcher::~LeadBatcher() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (std::thread& t : writers_) t.join();
}

void LeadBatcher::Create(const std::string& account_id, int cost, NewLead lead,
                         Done done) {
  absl::MutexLock lock(&mu_);
  Account& account = accounts_[account_id];
  account.queued.push_back({cost, std::move(lead), std::move(done)});
  MarkReady(account_id, account);
}

void LeadBatcher::MarkReady(const std::string& account_id, Account& account) {
  if (!account.ready && !account.queued.empty() &&
      account.writers < options_.max_writers) {
    account.ready = true;
    ready_.push_back(account_id);
  }
}

void LeadBatcher::WriteLoop() {
  for (;;) {
    std::string account_id;
    Account* account;
    // The oldest queued requests of one cost (every CreateLead costs the
    // same; a policy change mid-flight only splits batches).
    std::vector<Request> batch;
    int batch_cost;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || !ready_.empty();
      };
      mu_.Await(absl::Condition(&ready));
      if (ready_.empty()) return;  // stopping, nothing left
      account_id = std::move(ready_.front());
      ready_.pop_front();
      account = &accounts_[account_id];
      account->ready = false;
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
      ++account->writers;
      MarkReady(account_id, *account);  // another writer may take the rest
    }
    std::vector<NewLead> leads;
    leads.reserve(batch.size());
    for (Request& r : batch) leads.push_back(std::move(r.lead));
    std::vector<absl::StatusOr<LeadInsert>> outcomes =
        Write(account_id, batch_cost, leads);
    {
      absl::MutexLock lock(&mu_);
      --account->writers;
      MarkReady(account_id, *account);
      if (account->writers == 0 && account->queued.empty()) {
        accounts_.erase(account_id);
      }
    }
    finishers_.Post(
        [batch = std::move(batch), outcomes = std::move(outcomes)]() mutable {
          for (size_t i = 0; i < batch.size(); ++i) {
            std::move(batch[i].done)(std::move(outcomes[i]));
          }
        });
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
