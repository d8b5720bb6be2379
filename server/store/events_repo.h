// The event log and its fan-out: appending an event also queues one pending
// delivery per enabled webhook of the account subscribed to its type, in the
// caller's transaction, and wakes dispatchers and streams after commit
// (Connection::WakeAfterCommit: the NOTIFY is not part of the transaction).
#ifndef LEADRELAY_SERVER_STORE_EVENTS_REPO_H_
#define LEADRELAY_SERVER_STORE_EVENTS_REPO_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crypto/keyring.h"
#include "leadrelay/v1/event.pb.h"
#include "store/pg.h"

namespace leadrelay::store {

inline constexpr char kEventsChannel[] = "leadrelay_events";

struct AppendedEvent {
  v1::Event event;
  int deliveries_queued = 0;
};

// Gives `event` a new id, `account_id` and the current time; clears its
// cursor (set once stored).
void PrepareEvent(const std::string& account_id, v1::Event& event);

// Fills id, account_id, created_at and cursor of `event` and stores it.
// Without `fan_out`, no delivery is queued (webhook.test targets one
// endpoint and queues its own).
absl::StatusOr<AppendedEvent> AppendEvent(Connection& conn,
                                          const std::string& account_id,
                                          v1::Event event, bool fan_out = true);

struct EventPage {
  std::vector<v1::Event> events;
  std::string next_cursor;
};

// At most `limit` events, cut short once their bodies pass `max_bytes`
// (see ReadEvents); next_cursor is that of the last event returned.
absl::StatusOr<EventPage> ListEvents(Connection& conn,
                                     const std::string& account_id,
                                     const std::vector<std::string>& types,
                                     const std::string& after, int limit,
                                     size_t max_bytes = 0);

// A position in an account's event log. Appenders hold the account's event
// gate (shared) from before they take a sequence number until they end, and
// readers take it exclusively while their snapshot is taken, so a reader
// that has seen seq N will never later see an event below N commit.
struct EventPosition {
  int64_t seq = 0;
  bool operator==(const EventPosition& o) const { return seq == o.seq; }
  bool operator<(const EventPosition& o) const { return seq < o.seq; }
};

// Opaque cursors over event positions, bound to the account they were
// issued to and encrypted (crypto/cursor_cipher.h), so they reveal nothing
// about other accounts. A cursor of another account, or one not issued by
// a server holding these master keys, is invalid_request.
std::string EncodeCursor(const std::string& account_id, EventPosition position);
absl::StatusOr<EventPosition> DecodeCursor(const std::string& account_id,
                                           const std::string& cursor);
// The keys cursors are sealed with, from the server's master keys; set once
// at start-up before serving. Until then a random key of this process is
// used (tools, unit tests).
void SetCursorKeys(const crypto::Keyring& keyring);

struct StoredEvent {
  EventPosition position;
  v1::Event event;  // cursor set
};

// Events of `account_id` after `after`, in log order, at most `limit`,
// only of `types` when not empty. With `max_bytes`, the batch ends with the
// first event whose body takes the total past it (so at least one event is
// read, and at most max_bytes plus one event's worth). Readers first wait for
// the account's running appenders, and hold its gate until their transaction
// ends: call these outside a transaction.
absl::StatusOr<std::vector<StoredEvent>> ReadEvents(
    Connection& conn, const std::string& account_id, EventPosition after,
    const std::vector<std::string>& types, int limit, size_t max_bytes = 0);

struct StartPositions {
  EventPosition latest;   // the newest event of the account
  EventPosition at_time;  // just before its first event created at or
                          // after the time asked for; `latest` when none
};
// Where a stream starts; InfiniteFuture() means from now.
absl::StatusOr<StartPositions> PositionsAt(Connection& conn,
                                           const std::string& account_id,
                                           absl::Time time);

}  // namespace leadrelay::store

#endif  // LEADRELAY_SERVER_STORE_EVENTS_REPO_H_
