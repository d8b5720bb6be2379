#include "store/events_repo.h"

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/random_ids.h"
#include "common/status_util.h"
#include "store/proto_time.h"

namespace leadrelay::store {

std::string EncodeCursor(EventPosition position) {
  return absl::WebSafeBase64Escape(absl::StrCat("e1:", position.seq));
}

absl::StatusOr<EventPosition> DecodeCursor(const std::string& cursor) {
  std::string raw;
  EventPosition p;
  if (!absl::WebSafeBase64Unescape(cursor, &raw) ||
      !absl::StartsWith(raw, "e1:") ||
      !absl::SimpleAtoi(absl::string_view(raw).substr(3), &p.seq) ||
      p.seq < 0) {
    return InvalidRequest(
        "the cursor was not returned by this API; pass an event's cursor "
        "or next_cursor unchanged");
  }
  return p;
}

absl::StatusOr<AppendedEvent> AppendEvent(Connection& conn,
                                          const std::string& account_id,
                                          v1::Event event, bool fan_out) {
  event.set_id(NewId("evt_"));
  event.set_account_id(account_id);
  SetTimestamp(absl::Now(), event.mutable_created_at());
  event.clear_cursor();
  std::string body = event.SerializeAsString();
  AppendedEvent out;
  if (fan_out) {
    LR_ASSIGN_OR_RETURN(Result d, conn.Exec(R"sql(
        WITH d AS (
          INSERT INTO deliveries (id, account_id, webhook_id, event_id,
                                  event_type)
          SELECT 'dlv_' || replace(gen_random_uuid()::text, '-', ''),
                 w.account_id, w.id, $1, $3
          FROM webhooks w
          WHERE w.account_id = $2 AND w.enabled AND $3 = ANY (w.events)
          RETURNING 1)
        SELECT count(*) FROM d)sql",
                                            {event.id(), account_id,
                                             event.type()}));
    out.deliveries_queued = static_cast<int>(d.Int(0, 0));
  }
  // Last in the transaction: the account's event lock is held from here to
  // commit, so events of one account commit in sequence order.
  LR_ASSIGN_OR_RETURN(
      Result r,
      conn.Exec(R"sql(
      WITH l AS (
        SELECT pg_advisory_xact_lock(hashtextextended('events/' || $2, 0))),
      e AS (
        INSERT INTO events (seq, id, account_id, type, body, created_at)
        SELECT nextval('events_seq_seq'), $1, $2, $3, $4,
               to_timestamp($5::float8 / 1000000)
        FROM l
        RETURNING seq)
      SELECT e.seq, pg_notify($6, $2) FROM e)sql",
                {event.id(), account_id, event.type(), Param::Bytes(body),
                 absl::ToUnixMicros(FromTimestamp(event.created_at())),
                 kEventsChannel}));
  event.set_cursor(EncodeCursor({r.Int(0, 0)}));
  out.event = std::move(event);
  return out;
}

absl::StatusOr<std::vector<StoredEvent>> ReadEvents(
    Connection& conn, const std::string& account_id, EventPosition after,
    const std::vector<std::string>& types, int limit) {
  LR_ASSIGN_OR_RETURN(Result r, conn.Exec(R"sql(
      SELECT seq, body FROM events
      WHERE account_id = $1 AND seq > $2
        AND (cardinality($3::text[]) = 0 OR type = ANY ($3::text[]))
      ORDER BY seq
      LIMIT $4)sql",
                                          {account_id, after.seq,
                                           Param::TextArray(types), limit}));
  std::vector<StoredEvent> out;
  out.reserve(r.rows());
  for (int i = 0; i < r.rows(); ++i) {
    StoredEvent e;
    e.position.seq = r.Int(i, 0);
    if (!e.event.ParseFromString(r.Bytes(i, 1))) {
      return Internal(
          absl::StrCat("corrupt event body at seq ", e.position.seq));
    }
    e.event.set_cursor(EncodeCursor(e.position));
    out.push_back(std::move(e));
  }
  return out;
}

absl::StatusOr<EventPosition> LatestPosition(Connection& conn,
                                             const std::string& account_id) {
  LR_ASSIGN_OR_RETURN(Result r, conn.Exec(R"sql(
      SELECT seq FROM events WHERE account_id = $1
      ORDER BY seq DESC LIMIT 1)sql",
                                          {account_id}));
  EventPosition p;
  if (r.rows() == 1) p.seq = r.Int(0, 0);
  return p;
}

absl::StatusOr<EventPosition> PositionAt(Connection& conn,
                                         const std::string& account_id,
                                         absl::Time time) {
  // Just before the first event (in log order) created at or after `time`;
  // creation stamps are taken before the account's event lock, so log order
  // and stamp order can differ slightly, and this never skips one.
  LR_ASSIGN_OR_RETURN(
      Result r,
      conn.Exec(R"sql(
      SELECT coalesce(
        (SELECT min(seq) - 1 FROM events WHERE account_id = $1
           AND created_at >= to_timestamp($2::float8 / 1e6)),
        (SELECT max(seq) FROM events WHERE account_id = $1), 0))sql",
                {account_id, absl::ToUnixMicros(time)}));
  return EventPosition{r.Int(0, 0)};
}

absl::StatusOr<EventPage> ListEvents(Connection& conn,
                                     const std::string& account_id,
                                     const std::vector<std::string>& types,
                                     const std::string& after, int limit) {
  EventPosition from;
  if (!after.empty()) {
    LR_ASSIGN_OR_RETURN(from, DecodeCursor(after));
  }
  LR_ASSIGN_OR_RETURN(std::vector<StoredEvent> events,
                      ReadEvents(conn, account_id, from, types, limit));
  EventPage page;
  page.next_cursor = after.empty() ? EncodeCursor(from) : after;
  for (auto& e : events) {
    page.next_cursor = e.event.cursor();
    page.events.push_back(std::move(e.event));
  }
  return page;
}

}  // namespace leadrelay::store
