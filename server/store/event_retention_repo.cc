#include "store/event_retention_repo.h"

#include "absl/strings/str_cat.h"
#include "common/status_util.h"

namespace leadrelay::store {

absl::StatusOr<int> PruneExpiredEvents(Connection& conn,
                                       absl::Duration default_retention,
                                       int batch) {
  // Each account's oldest events through events_account_created; one short
  // statement per batch, so no lock is held for long.
  LR_ASSIGN_OR_RETURN(
      Result r, conn.Exec(R"sql(
      WITH doomed AS (
        SELECT x.seq FROM accounts a
        JOIN plans p ON p.name = a.plan
        CROSS JOIN LATERAL (
          SELECT e.seq FROM events e
          WHERE e.account_id = a.id
            AND e.created_at < now() - coalesce(
                  p.event_retention_days * 86400, $1::int8)
                  * interval '1 second'
            AND NOT EXISTS (SELECT 1 FROM deliveries d
                            WHERE d.event_id = e.id AND d.status = 'pending')
          ORDER BY e.created_at
          LIMIT $2) x
        WHERE coalesce(p.event_retention_days * 86400, $1::int8) > 0
        LIMIT $2),
      gone AS (
        DELETE FROM events e USING doomed
        WHERE e.seq = doomed.seq
        RETURNING e.account_id, e.seq, e.created_at),
      marks AS (
        INSERT INTO event_retention_marks AS m
          (account_id, pruned_through, pruned_through_at)
        SELECT account_id, max(seq), max(created_at) FROM gone
        GROUP BY account_id
        ON CONFLICT (account_id) DO UPDATE SET
          pruned_through = greatest(m.pruned_through,
                                    excluded.pruned_through),
          pruned_through_at = greatest(m.pruned_through_at,
                                       excluded.pruned_through_at))
      SELECT count(*) FROM gone)sql",
                          {absl::ToInt64Seconds(default_retention), batch}));
  return static_cast<int>(r.Int(0, 0));
}

absl::Status CheckNotAheadOfLog(Connection& conn, const std::string& account_id,
                                EventPosition position) {
  LR_ASSIGN_OR_RETURN(Result r, conn.Exec(R"sql(
      SELECT greatest(
        (SELECT coalesce(max(seq), 0) FROM events WHERE account_id = $1),
        (SELECT coalesce(max(pruned_through), 0) FROM event_retention_marks
         WHERE account_id = $1)))sql",
                                          {account_id}));
  if (EventPosition{r.Int(0, 0)} < position) {
    return InvalidRequest(
        "the cursor is ahead of the event log: pass a cursor this API "
        "returned");
  }
  return absl::OkStatus();
}

absl::Status CheckResumable(Connection& conn, const std::string& account_id,
                            std::optional<EventPosition> after,
                            std::optional<absl::Time> since) {
  if (!after.has_value() && !since.has_value()) return absl::OkStatus();
  LR_ASSIGN_OR_RETURN(Result r, conn.Exec(R"sql(
      SELECT pruned_through, lr_us(pruned_through_at)
      FROM event_retention_marks WHERE account_id = $1)sql",
                                          {account_id}));
  if (r.rows() == 0) return absl::OkStatus();
  EventPosition pruned{r.Int(0, 0)};
  absl::Time pruned_at = r.Time(0, 1);
  std::string oldest = EncodeCursor(account_id, pruned);
  if (after.has_value() && *after < pruned) {
    return CursorExpired(
        "events after this cursor are older than the account's event "
        "retention and were deleted",
        oldest);
  }
  if (since.has_value() && *since <= pruned_at) {
    return CursorExpired(
        absl::StrCat(
            "events since ",
            absl::FormatTime(absl::RFC3339_sec, *since, absl::UTCTimeZone()),
            " are older than the account's event retention and "
            "were deleted"),
        oldest);
  }
  return absl::OkStatus();
}

}  // namespace leadrelay::store
