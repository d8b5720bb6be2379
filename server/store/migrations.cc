#include "store/migrations.h"

#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/status_util.h"

namespace leadrelay::store {
namespace {

// Arbitrary, fixed: every replica serializes its migrations on it.
constexpr int64_t kMigrationLockKey = 0x6c6472656c6179;  // "ldrelay"
constexpr absl::Duration kLockPoll = absl::Milliseconds(200);

bool OutsideTransaction(const Migration& m) {
  return absl::StartsWith(m.sql, kNoTransactionMarker);
}

// Takes the migration lock for this session. Polls instead of waiting in a
// statement: a waiting statement holds a snapshot, which a CREATE INDEX
// CONCURRENTLY of the replica holding the lock would wait for in turn.
absl::Status LockMigrations(Connection& conn) {
  bool logged = false;
  for (;;) {
    LR_ASSIGN_OR_RETURN(Result r, conn.Exec("SELECT pg_try_advisory_lock($1)",
                                            {kMigrationLockKey}));
    if (r.Bool(0, 0)) return absl::OkStatus();
    if (!logged) {
      LogInfo("waiting for another replica to finish its migrations");
      logged = true;
    }
    absl::SleepFor(kLockPoll);
  }
}

absl::Status Record(Connection& conn, const Migration& m) {
  return conn
      .Exec("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
            {m.version, m.name})
      .status();
}

// True when `statement` holds nothing but comments and blanks.
bool OnlyComments(absl::string_view statement) {
  for (absl::string_view line : absl::StrSplit(statement, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (!line.empty() && !absl::StartsWith(line, "--")) return false;
  }
  return true;
}

// One statement at a time, each committing on its own: a multi-statement
// query string is a transaction block, where CREATE INDEX CONCURRENTLY
// cannot run. Statements end with ';' at the end of a line, so these files
// hold no function bodies. Each statement must be safe to run again (a
// crash may stop the file half way; it starts over on the next start).
absl::Status ApplyOutsideTransaction(Connection& conn, const Migration& m) {
  if (absl::StrContains(m.sql, "$$")) {
    return Internal(absl::StrCat("migration ", m.version,
                                 " runs outside a transaction and cannot "
                                 "hold $$ bodies"));
  }
  for (absl::string_view statement : absl::StrSplit(m.sql, ";\n")) {
    if (OnlyComments(statement)) continue;
    LR_RETURN_IF_ERROR(conn.ExecScript(statement));
  }
  return Record(conn, m);
}

absl::Status ApplyPending(Connection& conn) {
  LR_RETURN_IF_ERROR(conn.ExecScript(R"sql(
      CREATE TABLE IF NOT EXISTS schema_migrations (
        version    integer PRIMARY KEY,
        name       text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()))sql"));
  LR_ASSIGN_OR_RETURN(Result applied,
                      conn.Exec("SELECT version FROM schema_migrations"));
  std::set<int64_t> done;
  for (int i = 0; i < applied.rows(); ++i) done.insert(applied.Int(i, 0));
  int i = 0;
  while (i < kMigrationCount) {
    if (done.count(kMigrations[i].version)) {
      ++i;
      continue;
    }
    if (OutsideTransaction(kMigrations[i])) {
      LogInfo(absl::StrCat("applying migration ", kMigrations[i].version, " ",
                           kMigrations[i].name, " (outside a transaction)"));
      LR_RETURN_IF_ERROR(ApplyOutsideTransaction(conn, kMigrations[i]));
      ++i;
      continue;
    }
    // The pending migrations up to the next one that runs outside a
    // transaction: together, all or nothing.
    LR_RETURN_IF_ERROR(conn.ExecScript("BEGIN"));
    absl::Status status;
    for (; status.ok() && i < kMigrationCount &&
           !OutsideTransaction(kMigrations[i]);
         ++i) {
      const Migration& m = kMigrations[i];
      if (done.count(m.version)) continue;
      LogInfo(absl::StrCat("applying migration ", m.version, " ", m.name));
      status = conn.ExecScript(m.sql);
      if (status.ok()) status = Record(conn, m);
    }
    if (!status.ok()) {
      (void)conn.ExecScript("ROLLBACK");
      return status;
    }
    LR_RETURN_IF_ERROR(conn.ExecScript("COMMIT"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ApplyMigrations(Pool& pool) {
  return pool.Run([](Connection& conn) -> absl::Status {
    LR_RETURN_IF_ERROR(LockMigrations(conn));
    absl::Status status = ApplyPending(conn);
    // A broken connection took the lock with it.
    absl::Status unlocked =
        conn.Exec("SELECT pg_advisory_unlock($1)", {kMigrationLockKey})
            .status();
    return status.ok() ? unlocked : status;
  });
}

}  // namespace leadrelay::store
