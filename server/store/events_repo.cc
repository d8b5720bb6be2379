#include "store/events_repo.h"

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/random_ids.h"
#include "common/status_util.h"
#include "store/proto_time.h"

namespace leadrelay::store {

std::string EncodeCursor(EventPosition position) {
  return absl::WebSafeBase64Escape(
      absl::StrCat("e2:", position.xid, ":", position.seq));
}

absl::StatusOr<EventPosition> DecodeCursor(const std::string& cursor) {
  std::string raw;
  EventPosition p;
  std::vector<absl::string_view> parts;
  if (absl::WebSafeBase64Unescape(cursor, &raw)) {
    parts = absl::StrSplit(raw, ':');
  }
  if (parts.size() != 3 || parts[0] != "e2" ||
      !absl::SimpleAtoi(parts[1], &p.xid) ||
      !absl::SimpleAtoi(parts[2], &p.seq) || p.seq < 0) {
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
  LR_ASSIGN_OR_RETURN(
      Result r,
      conn.Exec(
          R"sql(
      WITH e AS (
        INSERT INTO events (id, account_id, type, body, created_at)
        VALUES ($1, $2, $3, $4, to_timestamp($5::float8 / 1000000))
        RETURNING seq),
      d AS (
        INSERT INTO deliveries (id, account_id, webhook_id, event_id,
                                event_type)
        SELECT 'dlv_' || replace(gen_random_uuid()::text, '-', ''),
               w.account_id, w.id, $1, $3
        FROM webhooks w
        WHERE $7 AND w.account_id = $2 AND w.enabled AND $3 = ANY (w.events)
        RETURNING 1)
      SELECT e.seq, (SELECT count(*) FROM d),
             pg_notify($6, $2), pg_current_xact_id()::text
      FROM e)sql",
          {event.id(), account_id, event.type(), Param::Bytes(body),
           absl::ToUnixMicros(FromTimestamp(event.created_at())),
           kEventsChannel, fan_out}));
  AppendedEvent out;
  EventPosition position;
  position.seq = r.Int(0, 0);
  (void)absl::SimpleAtoi(r.Text(0, 3), &position.xid);
  event.set_cursor(EncodeCursor(position));
  out.event = std::move(event);
  out.deliveries_queued = static_cast<int>(r.Int(0, 1));
  return out;
}

absl::StatusOr<std::vector<StoredEvent>> ReadEvents(
    Connection& conn, const std::string& account_id, EventPosition after,
    const std::vector<std::string>& types, int limit) {
  LR_ASSIGN_OR_RETURN(
      Result r,
      conn.Exec(R"sql(
      SELECT xid::text, seq, body FROM events
      WHERE account_id = $1
        AND (xid, seq) > ($2::text::xid8, $3::int8)
        AND xid < pg_snapshot_xmin(pg_current_snapshot())
        AND (cardinality($4::text[]) = 0 OR type = ANY ($4::text[]))
      ORDER BY xid, seq
      LIMIT $5)sql",
                {account_id, absl::StrCat(after.xid), after.seq,
                 Param::TextArray(types), limit}));
  std::vector<StoredEvent> out;
  out.reserve(r.rows());
  for (int i = 0; i < r.rows(); ++i) {
    StoredEvent e;
    (void)absl::SimpleAtoi(r.Text(i, 0), &e.position.xid);
    e.position.seq = r.Int(i, 1);
    if (!e.event.ParseFromString(r.Bytes(i, 2))) {
      return Internal(absl::StrCat("corrupt event body at seq ",
                                   e.position.seq));
    }
    e.event.set_cursor(EncodeCursor(e.position));
    out.push_back(std::move(e));
  }
  return out;
}

absl::StatusOr<EventPosition> LatestPosition(Connection& conn,
                                             const std::string& account_id) {
  LR_ASSIGN_OR_RETURN(
      Result r, conn.Exec(R"sql(
      SELECT xid::text, seq FROM events
      WHERE account_id = $1
        AND xid < pg_snapshot_xmin(pg_current_snapshot())
      ORDER BY xid DESC, seq DESC LIMIT 1)sql",
                          {account_id}));
  EventPosition p;
  if (r.rows() == 1) {
    (void)absl::SimpleAtoi(r.Text(0, 0), &p.xid);
    p.seq = r.Int(0, 1);
  }
  return p;
}

absl::StatusOr<EventPosition> PositionAt(Connection& conn,
                                         const std::string& account_id,
                                         absl::Time time) {
  // The last event before `time` in log order; events at or after it follow.
  LR_ASSIGN_OR_RETURN(
      Result r, conn.Exec(R"sql(
      SELECT xid::text, seq FROM events
      WHERE account_id = $1 AND created_at < to_timestamp($2::float8 / 1e6)
      ORDER BY xid DESC, seq DESC LIMIT 1)sql",
                          {account_id, absl::ToUnixMicros(time)}));
  EventPosition p;
  if (r.rows() == 1) {
    (void)absl::SimpleAtoi(r.Text(0, 0), &p.xid);
    p.seq = r.Int(0, 1);
  }
  return p;
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
