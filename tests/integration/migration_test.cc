// Schema migrations as replicas apply them at start-up: several starting
// together on one new database end with the schema one alone makes, and a
// concurrent index build cut short is built again on the next start, and
// the ledger key swap of migration 0087 finishes from wherever it stopped;
// per-row SQL helpers are inlined.

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "support/harness.h"
#include "support/postgres.h"
#include "support/process.h"

namespace leadrelay::itest {
namespace {

class MigrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::string> bin = RequiredEnv("LEADRELAY_SERVER_BIN");
    ASSERT_TRUE(bin.ok()) << bin.status();
    server_bin_ = *bin;
    absl::StatusOr<std::string> admin = RequiredEnv("LEADRELAY_TEST_PG_URL");
    ASSERT_TRUE(admin.ok()) << admin.status();
    admin_url_ = *admin;
    absl::StatusOr<std::unique_ptr<TempDir>> dir = TempDir::Create();
    ASSERT_TRUE(dir.ok()) << dir.status();
    dir_ = *std::move(dir);
  }

  std::unique_ptr<TempDatabase> NewDatabase() {
    absl::StatusOr<std::unique_ptr<TempDatabase>> db =
        TempDatabase::Create(admin_url_);
    EXPECT_TRUE(db.ok()) << db.status();
    return db.ok() ? *std::move(db) : nullptr;
  }

  // `leadrelay-server --bootstrap_account`, which migrates first.
  absl::Status Start(const TempDatabase& db, const std::string& name) {
    return BootstrapAccountWith(server_bin_, db.url(), name, "internal", 0,
                                absl::StrCat(dir_->path(), "/", name, ".log"))
        .status();
  }

  // A new database, migrated by one start.
  std::unique_ptr<TempDatabase> MigratedDatabase() {
    std::unique_ptr<TempDatabase> db = NewDatabase();
    if (db == nullptr) return nullptr;
    absl::Status started = Start(*db, "first");
    EXPECT_TRUE(started.ok()) << started;
    return started.ok() ? std::move(db) : nullptr;
  }

  static std::unique_ptr<PgConnection> Connect(const TempDatabase& db) {
    absl::StatusOr<std::unique_ptr<PgConnection>> conn =
        PgConnection::Open(db.url());
    EXPECT_TRUE(conn.ok()) << conn.status();
    return conn.ok() ? *std::move(conn) : nullptr;
  }

  // `db`, whose schema no longer is `want`, has it again after a start.
  void ExpectNextStartRestores(const TempDatabase& db,
                               const std::string& want) {
    ASSERT_NE(Schema(db), want);
    ASSERT_TRUE(Start(db, "second").ok());
    EXPECT_EQ(Schema(db), want);
  }

  // What a database's schema is, as text: the migrations recorded, every
  // index with its definition and validity.
  static std::string Schema(const TempDatabase& db) {
    std::unique_ptr<PgConnection> conn = Connect(db);
    if (conn == nullptr) return "";
    absl::StatusOr<std::vector<std::vector<std::string>>> rows =
        conn->Query(R"sql(
          SELECT 'migration ' || version || ' ' || name
          FROM schema_migrations
          UNION ALL
          SELECT 'index ' || i.indexrelid::regclass || ' valid=' ||
                 i.indisvalid || ' ' || pg_get_indexdef(i.indexrelid)
          FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
          WHERE c.relnamespace = 'public'::regnamespace
          ORDER BY 1)sql");
    EXPECT_TRUE(rows.ok()) << rows.status();
    std::string out;
    if (rows.ok()) {
      for (const auto& row : *rows) absl::StrAppend(&out, row[0], "\n");
    }
    return out;
  }

  std::string server_bin_;
  std::string admin_url_;
  std::unique_ptr<TempDir> dir_;
};

TEST_F(MigrationTest, ReplicasStartingTogetherMigrateOnceAndAlike) {
  std::unique_ptr<TempDatabase> alone = NewDatabase();
  std::unique_ptr<TempDatabase> together = NewDatabase();
  ASSERT_TRUE(alone && together);
  ASSERT_TRUE(Start(*alone, "alone").ok());

  constexpr int kReplicas = 3;
  std::vector<absl::Status> started(kReplicas);
  std::vector<std::thread> replicas;
  for (int i = 0; i < kReplicas; ++i) {
    replicas.emplace_back(
        [&, i] { started[i] = Start(*together, absl::StrCat("replica", i)); });
  }
  for (std::thread& t : replicas) t.join();
  for (int i = 0; i < kReplicas; ++i) {
    EXPECT_TRUE(started[i].ok()) << "replica " << i << ": " << started[i];
  }

  std::string want = Schema(*alone);
  EXPECT_NE(want.find("index events_lead valid=true"), std::string::npos)
      << want;
  EXPECT_EQ(want.find("valid=false"), std::string::npos) << want;
  EXPECT_EQ(Schema(*together), want);
}

TEST_F(MigrationTest, AnIndexBuildCutShortIsBuiltAgainOnTheNextStart) {
  std::unique_ptr<TempDatabase> db = MigratedDatabase();
  ASSERT_TRUE(db);
  std::string want = Schema(*db);

  // As a CREATE INDEX CONCURRENTLY stopped half way leaves it: the index
  // invalid, the migration not recorded.
  std::unique_ptr<PgConnection> conn = Connect(*db);
  ASSERT_TRUE(conn);
  ASSERT_TRUE(conn->Exec("UPDATE pg_index SET indisvalid = false "
                         "WHERE indexrelid = 'events_lead'::regclass")
                  .ok());
  ASSERT_TRUE(conn->Exec("DELETE FROM schema_migrations "
                         "WHERE name = 'erasure_lookup_indexes'")
                  .ok());
  ExpectNextStartRestores(*db, want);
}

TEST_F(MigrationTest, ALedgerKeySwapCutShortIsFinishedOnTheNextStart) {
  std::unique_ptr<TempDatabase> db = MigratedDatabase();
  ASSERT_TRUE(db);
  std::string want = Schema(*db);
  EXPECT_NE(want.find("index credit_ledger_pkey valid=true CREATE UNIQUE "
                      "INDEX credit_ledger_pkey ON public.credit_ledger "
                      "USING btree (account_id, id)"),
            std::string::npos)
      << want;
  EXPECT_EQ(want.find("credit_ledger_account "), std::string::npos) << want;

  // The ledger as migration 0087 finds it, stopped half way through its
  // concurrent build: the key on id, the old index, the new one invalid.
  std::unique_ptr<PgConnection> conn = Connect(*db);
  ASSERT_TRUE(conn);
  for (const char* sql : {
           "ALTER TABLE credit_ledger DROP CONSTRAINT credit_ledger_pkey, "
           "ADD PRIMARY KEY (id)",
           "CREATE INDEX credit_ledger_account ON credit_ledger "
           "(account_id, id)",
           "CREATE UNIQUE INDEX credit_ledger_account_id_key ON "
           "credit_ledger (account_id, id)",
           "UPDATE pg_index SET indisvalid = false WHERE indexrelid = "
           "'credit_ledger_account_id_key'::regclass",
           "DELETE FROM schema_migrations WHERE name = "
           "'credit_ledger_key_by_account'",
       }) {
    ASSERT_TRUE(conn->Exec(sql).ok()) << sql;
  }
  ExpectNextStartRestores(*db, want);
}

// Per-row helpers must be inlined into the statements that call them: one
// that is not runs as a function of its own, re-planned by every statement
// (migration 0088 measured the cost on CreateLead and GetLead).
TEST_F(MigrationTest, PerRowSqlHelpersAreInlined) {
  std::unique_ptr<TempDatabase> db = MigratedDatabase();
  ASSERT_TRUE(db);
  std::unique_ptr<PgConnection> conn = Connect(*db);
  ASSERT_TRUE(conn);
  absl::StatusOr<std::vector<std::vector<std::string>>> plan =
      conn->Query(R"sql(
        EXPLAIN (VERBOSE, COSTS OFF)
        SELECT lr_us(t), leadrelay_contact_digest('phone', v),
               leadrelay_contact_digest('email', v)
        FROM (VALUES (now(), 'A@b.example')) AS x(t, v))sql");
  ASSERT_TRUE(plan.ok()) << plan.status();
  std::string text;
  for (const auto& row : *plan) absl::StrAppend(&text, row[0], "\n");
  EXPECT_EQ(text.find("lr_us("), std::string::npos) << text;
  EXPECT_EQ(text.find("leadrelay_contact_digest("), std::string::npos) << text;
  EXPECT_NE(text.find("sha256("), std::string::npos) << text;
}

}  // namespace
}  // namespace leadrelay::itest
