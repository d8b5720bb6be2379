#include "store/events_repo.h"

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/random_ids.h"
#include "common/status_util.h"
#include "store/proto_time.h"

namespace leadrelay::store {

std::string EncodeCursor(int64_t seq) {
  return absl::WebSafeBase64Escape(absl::StrCat("e1:", seq));
}

absl::StatusOr<int64_t> DecodeCursor(const std::string& cursor) {
  std::string raw;
  int64_t seq = 0;
  if (!absl::WebSafeBase64Unescape(cursor, &raw) ||
      !absl::StartsWith(raw, "e1:") ||
      !absl::SimpleAtoi(absl::string_view(raw).substr(3), &seq) || seq < 0) {
    return InvalidRequest(
        "after is not a cursor returned by this API; pass an event's cursor "
        "or next_cursor unchanged");
  }
  return seq;
}

absl::StatusOr<AppendedEvent> AppendEvent(Connection& conn,
                                          const std::string& account_id,
                                          v1::Event event) {
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
        WHERE w.account_id = $2 AND w.enabled AND $3 = ANY (w.events)
        RETURNING 1)
      SELECT e.seq, (SELECT count(*) FROM d),
             pg_notify($6, $2)
      FROM e)sql",
          {event.id(), account_id, event.type(), Param::Bytes(body),
           absl::ToUnixMicros(FromTimestamp(event.created_at())),
           kEventsChannel}));
  AppendedEvent out;
  event.set_cursor(EncodeCursor(r.Int(0, 0)));
  out.event = std::move(event);
  out.deliveries_queued = static_cast<int>(r.Int(0, 1));
  return out;
}

absl::StatusOr<EventPage> ListEvents(Connection& conn,
                                     const std::string& account_id,
                                     const std::vector<std::string>& types,
                                     const std::string& after, int limit) {
  int64_t after_seq = 0;
  if (!after.empty()) {
    LR_ASSIGN_OR_RETURN(after_seq, DecodeCursor(after));
  }
  LR_ASSIGN_OR_RETURN(
      Result r,
      conn.Exec("SELECT seq, body FROM events WHERE account_id = $1 AND "
                "seq > $2 AND (cardinality($3::text[]) = 0 OR "
                "type = ANY ($3::text[])) ORDER BY seq LIMIT $4",
                {account_id, after_seq, Param::TextArray(types), limit}));
  EventPage page;
  page.next_cursor = after.empty() ? EncodeCursor(0) : after;
  for (int i = 0; i < r.rows(); ++i) {
    v1::Event e;
    if (!e.ParseFromString(r.Bytes(i, 1))) {
      return Internal(absl::StrCat("corrupt event body at seq ", r.Int(i, 0)));
    }
    e.set_cursor(EncodeCursor(r.Int(i, 0)));
    page.next_cursor = e.cursor();
    page.events.push_back(std::move(e));
  }
  return page;
}

}  // namespace leadrelay::store
