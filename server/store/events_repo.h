// The event log and its fan-out: appending an event also queues one pending
// delivery per enabled webhook of the account subscribed to its type, in the
// caller's transaction, and wakes dispatchers and streams on commit.
#ifndef LEADRELAY_SERVER_STORE_EVENTS_REPO_H_
#define LEADRELAY_SERVER_STORE_EVENTS_REPO_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "leadrelay/v1/event.pb.h"
#include "store/pg.h"

namespace leadrelay::store {

inline constexpr char kEventsChannel[] = "leadrelay_events";

struct AppendedEvent {
  v1::Event event;
  int deliveries_queued = 0;
};

// Fills id, account_id, created_at and cursor of `event` and stores it.
absl::StatusOr<AppendedEvent> AppendEvent(Connection& conn,
                                          const std::string& account_id,
                                          v1::Event event);

struct EventPage {
  std::vector<v1::Event> events;
  std::string next_cursor;
};

absl::StatusOr<EventPage> ListEvents(Connection& conn,
                                     const std::string& account_id,
                                     const std::vector<std::string>& types,
                                     const std::string& after, int limit);

// Opaque cursors over the event sequence.
std::string EncodeCursor(int64_t seq);
absl::StatusOr<int64_t> DecodeCursor(const std::string& cursor);

}  // namespace leadrelay::store

#endif  // LEADRELAY_SERVER_STORE_EVENTS_REPO_H_
