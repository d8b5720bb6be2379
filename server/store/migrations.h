// Versioned schema migrations, embedded in the binary from
// server/migrations/*.sql and applied at start-up under an advisory lock, so
// replicas starting together apply each one exactly once. Consecutive
// migrations apply in one transaction; a file whose first line is
// kNoTransactionMarker runs outside any, statement by statement (for
// CREATE INDEX CONCURRENTLY, which lets writers go on while an index of a
// large table is built).
#ifndef LEADRELAY_SERVER_STORE_MIGRATIONS_H_
#define LEADRELAY_SERVER_STORE_MIGRATIONS_H_

#include "absl/status/status.h"
#include "store/pg.h"

namespace leadrelay::store {

struct Migration {
  int version;
  const char* name;
  const char* sql;
};

inline constexpr char kNoTransactionMarker[] = "-- leadrelay:no-transaction";

// Generated at build time from server/migrations/NNNN_name.sql, in order.
extern const Migration kMigrations[];
extern const int kMigrationCount;

absl::Status ApplyMigrations(Pool& pool);

}  // namespace leadrelay::store

#endif  // LEADRELAY_SERVER_STORE_MIGRATIONS_H_
