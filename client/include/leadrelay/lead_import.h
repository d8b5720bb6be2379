// Bulk lead import: parsed rows -> CreateLead with bounded concurrency,
// idempotent by external_id (rows without one get DerivedExternalId), so
// importing the same file twice creates nothing the second time.
#ifndef LEADRELAY_CLIENT_LEAD_IMPORT_H_
#define LEADRELAY_CLIENT_LEAD_IMPORT_H_

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "leadrelay/client.h"
#include "leadrelay/lead_rows.h"

namespace leadrelay::import {

enum class RowOutcome {
  kCreated,         // a new lead
  kAlreadyPresent,  // a lead with this external_id existed; unchanged
  kRejected,        // unreadable or refused by the server (reason below)
  kNotAttempted,    // the import stopped first (see ImportSummary::stopped)
};

struct RowResult {
  int line = 0;
  RowOutcome outcome = RowOutcome::kNotAttempted;
  std::string lead_id;
  std::string reason;  // public reason, or "malformed" for unreadable rows
  std::string message;
};

struct ImportCounts {
  size_t total = 0;
  size_t done = 0;
  size_t created = 0;
  size_t already_present = 0;
  size_t rejected = 0;
};

struct ImportOptions {
  int concurrency = 16;
  // Called after every row (serialized, from the worker threads).
  std::function<void(const ImportCounts&)> on_progress;
};

struct ImportSummary {
  ImportCounts counts;
  std::vector<RowResult> rows;  // in file order
  // Set when a failure that every further row would meet (unauthorized,
  // insufficient_credits, the server unreachable after retries) stopped it.
  absl::Status stopped;
};

ImportSummary ImportLeads(Client& client, const std::vector<LeadRow>& rows,
                          const ImportOptions& options);

}  // namespace leadrelay::import

#endif  // LEADRELAY_CLIENT_LEAD_IMPORT_H_
