#include "support/postgres.h"

#include <libpq-fe.h>

#include <random>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace leadrelay::itest {
namespace {

// Owns a PGresult.
struct ResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

ResultPtr Run(PGconn* conn, const std::string& sql,
              const std::vector<std::string>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const std::string& param : params) values.push_back(param.c_str());
  return ResultPtr(PQexecParams(conn, sql.c_str(),
                                static_cast<int>(values.size()), nullptr,
                                values.data(), nullptr, nullptr, 0));
}

absl::Status ResultStatus(PGconn* conn, const PGresult* result,
                          const std::string& sql) {
  ExecStatusType status = PQresultStatus(result);
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
    return absl::OkStatus();
  }
  return absl::InternalError(
      absl::StrCat("SQL failed: ", sql, ": ", PQerrorMessage(conn)));
}

std::string RandomHex(int bytes) {
  std::random_device device;
  std::string out;
  static constexpr char kDigits[] = "0123456789abcdef";
  for (int i = 0; i < bytes; ++i) {
    unsigned value = device() & 0xff;
    out.push_back(kDigits[value >> 4]);
    out.push_back(kDigits[value & 0xf]);
  }
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<PgConnection>> PgConnection::Open(
    const std::string& url) {
  PGconn* conn = PQconnectdb(url.c_str());
  if (conn == nullptr || PQstatus(conn) != CONNECTION_OK) {
    std::string message =
        conn == nullptr ? "out of memory" : PQerrorMessage(conn);
    PQfinish(conn);
    return absl::UnavailableError(
        absl::StrCat("cannot connect to ", url, ": ", message));
  }
  // Keep NOTICEs (e.g. from DROP ... IF EXISTS) out of the test output.
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  return std::unique_ptr<PgConnection>(new PgConnection(conn));
}

PgConnection::~PgConnection() { PQfinish(conn_); }

absl::Status PgConnection::Exec(const std::string& sql,
                                const std::vector<std::string>& params) {
  ResultPtr result = Run(conn_, sql, params);
  return ResultStatus(conn_, result.get(), sql);
}

absl::StatusOr<std::vector<std::vector<std::string>>> PgConnection::Query(
    const std::string& sql, const std::vector<std::string>& params) {
  ResultPtr result = Run(conn_, sql, params);
  absl::Status status = ResultStatus(conn_, result.get(), sql);
  if (!status.ok()) return status;
  std::vector<std::vector<std::string>> rows;
  const int num_rows = PQntuples(result.get());
  const int num_cols = PQnfields(result.get());
  rows.reserve(num_rows);
  for (int r = 0; r < num_rows; ++r) {
    std::vector<std::string> row;
    row.reserve(num_cols);
    for (int c = 0; c < num_cols; ++c) {
      row.emplace_back(PQgetisnull(result.get(), r, c)
                           ? ""
                           : PQgetvalue(result.get(), r, c));
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

absl::StatusOr<int64_t> PgConnection::QueryInt(
    const std::string& sql, const std::vector<std::string>& params) {
  absl::StatusOr<std::vector<std::vector<std::string>>> rows =
      Query(sql, params);
  if (!rows.ok()) return rows.status();
  if (rows->size() != 1 || (*rows)[0].size() != 1) {
    return absl::InternalError(
        absl::StrCat("expected one row with one column from: ", sql));
  }
  int64_t value = 0;
  if (!absl::SimpleAtoi((*rows)[0][0], &value)) {
    return absl::InternalError(
        absl::StrCat("not an integer: '", (*rows)[0][0], "' from: ", sql));
  }
  return value;
}

std::string WithDatabase(const std::string& url, const std::string& database) {
  size_t scheme_end = url.find("://");
  size_t authority_start = scheme_end == std::string::npos ? 0 : scheme_end + 3;
  size_t query_start = url.find('?', authority_start);
  std::string query =
      query_start == std::string::npos ? "" : url.substr(query_start);
  std::string head = url.substr(0, query_start);
  size_t path_start = head.find('/', authority_start);
  if (path_start != std::string::npos) head.resize(path_start);
  return absl::StrCat(head, "/", database, query);
}

TempDatabase::TempDatabase(std::string admin_url, std::string name)
    : admin_url_(std::move(admin_url)),
      name_(std::move(name)),
      url_(WithDatabase(admin_url_, name_)) {}

absl::StatusOr<std::unique_ptr<TempDatabase>> TempDatabase::Create(
    const std::string& admin_url) {
  absl::StatusOr<std::unique_ptr<PgConnection>> admin =
      PgConnection::Open(admin_url);
  if (!admin.ok()) return admin.status();
  std::string name = absl::StrCat("lrt_", RandomHex(8));
  absl::Status created = (*admin)->Exec(absl::StrCat("CREATE DATABASE ", name));
  if (!created.ok()) return created;
  return std::unique_ptr<TempDatabase>(new TempDatabase(admin_url, name));
}

TempDatabase::~TempDatabase() {
  absl::StatusOr<std::unique_ptr<PgConnection>> admin =
      PgConnection::Open(admin_url_);
  if (!admin.ok()) return;
  // Best effort: a leftover lrt_ database is harmless in a throwaway cluster.
  (*admin)
      ->Exec(absl::StrCat("DROP DATABASE IF EXISTS ", name_, " WITH (FORCE)"))
      .IgnoreError();
}

}  // namespace leadrelay::itest
