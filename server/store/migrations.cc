#include "store/migrations.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_util.h"

namespace leadrelay::store {
namespace {
// Arbitrary, fixed: every replica serializes its migrations on it.
constexpr int64_t kMigrationLockKey = 0x6c6472656c6179;  // "ldrelay"
}  // namespace

absl::Status ApplyMigrations(Pool& pool) {
  return pool.InTransaction([](Connection& conn) -> absl::Status {
    LR_RETURN_IF_ERROR(
        conn.Exec("SELECT pg_advisory_xact_lock($1)", {kMigrationLockKey})
            .status());
    LR_RETURN_IF_ERROR(conn.Exec(R"sql(
        CREATE TABLE IF NOT EXISTS schema_migrations (
          version    integer PRIMARY KEY,
          name       text NOT NULL,
          applied_at timestamptz NOT NULL DEFAULT now()))sql")
                           .status());
    LR_ASSIGN_OR_RETURN(Result applied,
                        conn.Exec("SELECT version FROM schema_migrations"));
    std::set<int64_t> done;
    for (int i = 0; i < applied.rows(); ++i) done.insert(applied.Int(i, 0));
    for (int i = 0; i < kMigrationCount; ++i) {
      const Migration& m = kMigrations[i];
      if (done.count(m.version)) continue;
      LogInfo(absl::StrCat("applying migration ", m.version, " ", m.name));
      LR_RETURN_IF_ERROR(conn.ExecScript(m.sql));
      LR_RETURN_IF_ERROR(
          conn.Exec("INSERT INTO schema_migrations (version, name) "
                    "VALUES ($1, $2)",
                    {m.version, m.name})
              .status());
    }
    return absl::OkStatus();
  });
}

}  // namespace leadrelay::store
