// Direct access to the test database through libpq: creating and dropping
// throwaway databases, and small queries that set up state or check what a
// call wrote to the store of record.

#ifndef LEADRELAY_TESTS_SUPPORT_POSTGRES_H_
#define LEADRELAY_TESTS_SUPPORT_POSTGRES_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

struct pg_conn;

namespace leadrelay::itest {

// One libpq connection. Queries take positional text parameters ($1, $2...).
class PgConnection {
 public:
  static absl::StatusOr<std::unique_ptr<PgConnection>> Open(
      const std::string& url);

  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;
  ~PgConnection();

  // Runs a statement that returns no rows we care about.
  absl::Status Exec(const std::string& sql,
                    const std::vector<std::string>& params = {});

  // Runs a query and returns every row as text columns (NULL becomes "").
  absl::StatusOr<std::vector<std::vector<std::string>>> Query(
      const std::string& sql, const std::vector<std::string>& params = {});

  // Runs a query that returns exactly one row with one integer column.
  absl::StatusOr<int64_t> QueryInt(const std::string& sql,
                                   const std::vector<std::string>& params = {});

 private:
  explicit PgConnection(pg_conn* conn) : conn_(conn) {}

  pg_conn* conn_;
};

// Returns `url` with its database name replaced by `database`.
std::string WithDatabase(const std::string& url, const std::string& database);

// A database created for one test binary and dropped (WITH (FORCE)) when
// this object is destroyed.
class TempDatabase {
 public:
  // Creates database lrt_<random hex> through the admin URL.
  static absl::StatusOr<std::unique_ptr<TempDatabase>> Create(
      const std::string& admin_url);

  TempDatabase(const TempDatabase&) = delete;
  TempDatabase& operator=(const TempDatabase&) = delete;
  ~TempDatabase();

  const std::string& name() const { return name_; }
  const std::string& url() const { return url_; }

 private:
  TempDatabase(std::string admin_url, std::string name);

  std::string admin_url_;
  std::string name_;
  std::string url_;
};

}  // namespace leadrelay::itest

#endif  // LEADRELAY_TESTS_SUPPORT_POSTGRES_H_
