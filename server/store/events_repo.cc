#include "store/events_repo.h"

#include <atomic>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/random_ids.h"
#include "common/status_util.h"
#include "crypto/cursor_cipher.h"
#include "domain/lead_filter.h"
#include "store/event_retention_repo.h"
#include "store/proto_time.h"

namespace leadrelay::store {

namespace {

// Set once at start-up; a replaced cipher is kept alive (it may be in use).
std::atomic<const crypto::CursorCipher*> cursor_cipher{nullptr};

const crypto::CursorCipher& CursorCipherInUse() {
  const crypto::CursorCipher* cipher = cursor_cipher.load();
  if (cipher != nullptr) return *cipher;
  static const auto* fallback = [] {
    auto keyring = crypto::Keyring::FromKeys(
        {{"process", RandomBytes(crypto::kMasterKeyBytes)}});
    return new crypto::CursorCipher(*keyring);
  }();
  return *fallback;
}

}  // namespace

void SetCursorKeys(const crypto::Keyring& keyring) {
  cursor_cipher.store(new crypto::CursorCipher(keyring));
}

std::string EncodeCursor(const std::string& account_id,
                         EventPosition position) {
  return CursorCipherInUse().Seal(account_id, position.seq);
}

absl::StatusOr<EventPosition> DecodeCursor(const std::string& account_id,
                                           const std::string& cursor) {
  std::optional<int64_t> seq = CursorCipherInUse().Open(account_id, cursor);
  if (!seq.has_value()) {
    return InvalidRequest(
        "the cursor was not returned by this API to this account; pass an "
        "event's cursor or next_cursor unchanged");
  }
  return EventPosition{*seq};
}

void PrepareEvent(const std::string& account_id, v1::Event& event) {
  event.set_id(NewId("evt_"));
  event.set_account_id(account_id);
  SetTimestamp(absl::Now(), event.mutable_created_at());
  event.clear_cursor();
}

absl::StatusOr<AppendedEvent> AppendEvent(Connection& conn,
                                          const std::string& account_id,
                                          v1::Event event, bool fan_out) {
  PrepareEvent(account_id, event);
  std::string body = event.SerializeAsString();
  // An event that carries a lead goes only to endpoints whose filters admit
  // it; the lead's fields are NULL for other events (see migrations 0060,
  // 0084). Its lead_id is what erasure finds it by (migration 0085).
  bool has_lead = event.data_case() == v1::Event::kLead;
  const v1::Lead& lead = event.lead().lead();
  // One statement: the pending deliveries (their foreign key to the event
  // is checked at commit), then the event under the account's event gate,
  // held shared from before its sequence number is taken until commit, so
  // readers wait for this transaction (see migration 0005).
  LR_ASSIGN_OR_RETURN(
      Result r,
      conn.Exec(
          R"sql(
      WITH d AS (
        SELECT CASE WHEN $6 THEN leadrelay_queue_deliveries($2, $3,
                 ARRAY[$1::text], ARRAY[$7::text], ARRAY[$8::text], ARRAY[$9::int],
                 ARRAY[$10::text], ARRAY[$11::text])
               ELSE 0 END AS queued),
      l AS (
        SELECT pg_advisory_xact_lock_shared(leadrelay_event_gate($2))),
      e AS (
        INSERT INTO events (seq, id, account_id, type, body, created_at,
                            lead_id)
        SELECT nextval('events_seq_seq'), $1, $2, $3, $4,
               to_timestamp($5::float8 / 1000000), $12
        FROM l
        RETURNING seq)
      SELECT e.seq, (SELECT queued FROM d) FROM e)sql",
          {event.id(), account_id, event.type(), Param::Bytes(body),
           absl::ToUnixMicros(FromTimestamp(event.created_at())), fan_out,
           has_lead ? Param(lead.vertical()) : Param::Null(),
           has_lead ? Param(lead.score_tier()) : Param::Null(),
           has_lead ? Param(lead.score()) : Param::Null(),
           has_lead ? Param(domain::PlaceKey(lead.suburb())) : Param::Null(),
           has_lead ? Param(domain::PlaceKey(lead.province())) : Param::Null(),
           has_lead && !lead.id().empty() ? Param(lead.id()) : Param::Null()}));
  conn.WakeAfterCommit(kEventsChannel, account_id);
  AppendedEvent out;
  out.deliveries_queued = static_cast<int>(r.Int(0, 1));
  event.set_cursor(EncodeCursor(account_id, {r.Int(0, 0)}));
  out.event = std::move(event);
  return out;
}

absl::StatusOr<std::vector<StoredEvent>> ReadEvents(
    Connection& conn, const std::string& account_id, EventPosition after,
    const std::vector<std::string>& types, int limit, size_t max_bytes) {
  // The byte cut is made in the database, so a batch of large events is
  // never brought into this process whole.
  LR_ASSIGN_OR_RETURN(Result r,
                      conn.Exec(R"sql(
      SELECT seq, body FROM (
        SELECT seq, body,
               sum(octet_length(body)) OVER (ORDER BY seq)
                 - octet_length(body) AS before
        FROM leadrelay_read_events($1, $2, $3::text[], $4)) r
      WHERE $5::int8 = 0 OR before < $5::int8
      ORDER BY seq)sql",
                                {account_id, after.seq, Param::TextArray(types),
                                 limit, static_cast<int64_t>(max_bytes)}));
  std::vector<StoredEvent> out;
  out.reserve(r.rows());
  for (int i = 0; i < r.rows(); ++i) {
    StoredEvent e;
    e.position.seq = r.Int(i, 0);
    if (!e.event.ParseFromString(r.Bytes(i, 1))) {
      return Internal(
          absl::StrCat("corrupt event body at seq ", e.position.seq));
    }
    e.event.set_cursor(EncodeCursor(account_id, e.position));
    out.push_back(std::move(e));
  }
  return out;
}

absl::StatusOr<StartPositions> PositionsAt(Connection& conn,
                                           const std::string& account_id,
                                           absl::Time time) {
  // Creation stamps are taken before the transaction ends, so log order and
  // stamp order can differ slightly: this may repeat an older event, never
  // skip a newer one.
  std::string since =
      time == absl::InfiniteFuture()
          ? "infinity"
          : absl::FormatTime(absl::RFC3339_full, time, absl::UTCTimeZone());
  LR_ASSIGN_OR_RETURN(Result r, conn.Exec(R"sql(
      SELECT latest, at_time
      FROM leadrelay_event_positions($1, $2::timestamptz))sql",
                                          {account_id, since}));
  return StartPositions{{r.Int(0, 0)}, {r.Int(0, 1)}};
}

absl::StatusOr<EventPage> ListEvents(Connection& conn,
                                     const std::string& account_id,
                                     const std::vector<std::string>& types,
                                     const std::string& after, int limit,
                                     size_t max_bytes) {
  EventPosition from;
  if (!after.empty()) {
    LR_ASSIGN_OR_RETURN(from, DecodeCursor(account_id, after));
  }
  LR_ASSIGN_OR_RETURN(
      std::vector<StoredEvent> events,
      ReadEvents(conn, account_id, from, types, limit, max_bytes));
  // Checked after the read: pruning that ran before it is seen here, so a
  // page never hides a gap ("from the start" is the oldest event kept).
  if (!after.empty()) {
    LR_RETURN_IF_ERROR(CheckResumable(conn, account_id, from, std::nullopt));
    // An empty page after a cursor: refused when the cursor lies past the
    // log, like StreamEvents does.
    if (events.empty()) {
      LR_RETURN_IF_ERROR(CheckNotAheadOfLog(conn, account_id, from));
    }
  }
  EventPage page;
  page.next_cursor = after.empty() ? EncodeCursor(account_id, from) : after;
  for (auto& e : events) {
    page.next_cursor = e.event.cursor();
    page.events.push_back(std::move(e.event));
  }
  return page;
}

}  // namespace leadrelay::store
