#include "leadrelay/lead_import.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include "absl/synchronization/mutex.h"

namespace leadrelay::import {
namespace {

// Failures no other row can escape: stop instead of rejecting every row.
bool StopsTheImport(const absl::Status& status) {
  const std::string reason = ErrorReason(status);
  return reason == "unauthorized" || reason == "forbidden" ||
         reason == "insufficient_credits" || reason == "rate_limited" ||
         status.code() == absl::StatusCode::kUnavailable ||
         status.code() == absl::StatusCode::kDeadlineExceeded;
}

}  // namespace

ImportSummary ImportLeads(Client& client, const std::vector<LeadRow>& rows,
                          const ImportOptions& options) {
  ImportSummary summary;
  summary.counts.total = rows.size();
  summary.rows.resize(rows.size());
  absl::Mutex mu;
  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};

  auto record = [&](size_t index, RowResult result) {
    absl::MutexLock lock(&mu);
    ImportCounts& c = summary.counts;
    ++c.done;
    switch (result.outcome) {
      case RowOutcome::kCreated:
        ++c.created;
        break;
      case RowOutcome::kAlreadyPresent:
        ++c.already_present;
        break;
      case RowOutcome::kRejected:
        ++c.rejected;
        break;
      case RowOutcome::kNotAttempted:
        --c.done;
        break;
    }
    summary.rows[index] = std::move(result);
    if (options.on_progress) options.on_progress(c);
  };

  auto worker = [&] {
    for (;;) {
      const size_t index = next.fetch_add(1);
      if (index >= rows.size() || stop.load()) return;
      const LeadRow& row = rows[index];
      RowResult result;
      result.line = row.line;
      if (!row.error.empty()) {
        result.outcome = RowOutcome::kRejected;
        result.reason = "malformed";
        result.message = row.error;
        record(index, std::move(result));
        continue;
      }
      v1::CreateLeadRequest request;
      *request.mutable_lead() = row.lead;
      if (request.lead().external_id().empty()) {
        request.mutable_lead()->set_external_id(DerivedExternalId(row.lead));
      }
      absl::StatusOr<CreatedLead> created =
          client.CreateLeadDetailed(std::move(request));
      if (created.ok()) {
        result.outcome = created->created ? RowOutcome::kCreated
                                          : RowOutcome::kAlreadyPresent;
        result.lead_id = created->lead.id();
      } else if (StopsTheImport(created.status())) {
        absl::MutexLock lock(&mu);
        if (summary.stopped.ok()) summary.stopped = created.status();
        stop = true;
        return;
      } else {
        result.outcome = RowOutcome::kRejected;
        result.reason = ErrorReason(created.status());
        result.message = std::string(created.status().message());
      }
      record(index, std::move(result));
    }
  };

  const int threads = std::max(
      1, std::min<int>(options.concurrency, static_cast<int>(rows.size())));
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i) pool.emplace_back(worker);
  for (std::thread& t : pool) t.join();
  for (size_t i = 0; i < rows.size(); ++i) summary.rows[i].line = rows[i].line;
  return summary;
}

}  // namespace leadrelay::import
