// Event retention: pruning an account's expired events in small batches,
// and refusing a resume from a position that pruning removed.
#ifndef LEADRELAY_SERVER_STORE_EVENT_RETENTION_REPO_H_
#define LEADRELAY_SERVER_STORE_EVENT_RETENTION_REPO_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "store/events_repo.h"
#include "store/pg.h"

namespace leadrelay::store {

// Deletes up to `batch` events older than their account's retention (its
// plan's event_retention_days, else `default_retention`; zero keeps them)
// and records how far each account was pruned. Events a pending delivery
// still needs are kept. Returns how many were deleted (0: nothing left).
absl::StatusOr<int> PruneExpiredEvents(Connection& conn,
                                       absl::Duration default_retention,
                                       int batch);

// invalid_request when `position` lies past every event `account_id` has
// had, kept or pruned: not a cursor this API issued for this database (a
// restore from an older backup, say). Pruned positions count, so a quiet
// account whose every event was pruned can still resume from its last one.
absl::Status CheckNotAheadOfLog(Connection& conn, const std::string& account_id,
                                EventPosition position);

// cursor_expired (with the oldest cursor kept) when events of `account_id`
// after `after`, or created at or after `since`, were pruned; OK otherwise.
absl::Status CheckResumable(Connection& conn, const std::string& account_id,
                            std::optional<EventPosition> after,
                            std::optional<absl::Time> since);

}  // namespace leadrelay::store

#endif  // LEADRELAY_SERVER_STORE_EVENT_RETENTION_REPO_H_
