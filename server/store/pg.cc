#include "store/pg.h"

#include <cstdlib>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/status_util.h"
#include "ops/server_metrics.h"
#include "store/request_tag.h"

namespace leadrelay::store {

Param Param::Bytes(std::string bytes) {
  Param p{absl::string_view()};
  p.value = std::move(bytes);
  p.binary = true;
  return p;
}

Param Param::Null() {
  Param p{absl::string_view()};
  p.is_null = true;
  return p;
}

Param Param::TextArray(const std::vector<std::string>& items) {
  // Items are validated identifiers (event types, scopes); quote anyway.
  std::string out = "{";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char c : items[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return Param(out);
}

bool Result::IsNull(int row, int col) const {
  return PQgetisnull(result_.get(), row, col) != 0;
}

absl::string_view Result::Text(int row, int col) const {
  return absl::string_view(PQgetvalue(result_.get(), row, col),
                           PQgetlength(result_.get(), row, col));
}

std::string Result::String(int row, int col) const {
  return std::string(Text(row, col));
}

int64_t Result::Int(int row, int col) const {
  int64_t v = 0;
  if (!absl::SimpleAtoi(Text(row, col), &v)) return 0;
  return v;
}

bool Result::Bool(int row, int col) const { return Text(row, col) == "t"; }

std::string Result::Bytes(int row, int col) const {
  size_t length = 0;
  unsigned char* raw = PQunescapeBytea(reinterpret_cast<const unsigned char*>(
                                           PQgetvalue(result_.get(), row, col)),
                                       &length);
  if (raw == nullptr) return "";
  std::string out(reinterpret_cast<char*>(raw), length);
  PQfreemem(raw);
  return out;
}

std::vector<std::string> Result::TextArray(int row, int col) const {
  // Arrays we store hold plain identifiers: {a,b,"c d"}.
  absl::string_view text = Text(row, col);
  std::vector<std::string> out;
  if (text.size() < 2) return out;
  text = text.substr(1, text.size() - 2);
  if (text.empty()) return out;
  for (absl::string_view item : absl::StrSplit(text, ',')) {
    if (item.size() >= 2 && item.front() == '"') {
      item = item.substr(1, item.size() - 2);
    }
    out.emplace_back(item);
  }
  return out;
}

absl::Time Result::Time(int row, int col) const {
  if (IsNull(row, col)) return absl::InfinitePast();
  return absl::FromUnixMicros(Int(row, col));
}

absl::StatusOr<const std::string*> Connection::Prepared(absl::string_view sql) {
  // Looked up by view: no copy of the SQL text per statement.
  auto it = state_->prepared.find(sql);
  if (it != state_->prepared.end()) return &it->second;
  std::string key(sql);
  std::string name = absl::StrCat("lr", state_->prepared.size());
  PGresult* result = PQprepare(conn_, name.c_str(), key.c_str(), 0, nullptr);
  if (PQresultStatus(result) != PGRES_COMMAND_OK) {
    absl::Status error = ErrorFrom(result, sql);
    PQclear(result);
    return error;
  }
  PQclear(result);
  return &state_->prepared.emplace(std::move(key), std::move(name))
              .first->second;
}

absl::StatusOr<Result> Connection::Exec(absl::string_view sql,
                                        const std::vector<Param>& params) {
  // Small statements (nearly all) keep their parameter arrays on the stack.
  constexpr size_t kInline = 16;
  const char* values_inline[kInline];
  int lengths_inline[kInline];
  int formats_inline[kInline];
  std::vector<const char*> values_heap;
  std::vector<int> lengths_heap, formats_heap;
  const char** values = values_inline;
  int* lengths = lengths_inline;
  int* formats = formats_inline;
  if (params.size() > kInline) {
    values_heap.resize(params.size());
    lengths_heap.resize(params.size());
    formats_heap.resize(params.size());
    values = values_heap.data();
    lengths = lengths_heap.data();
    formats = formats_heap.data();
  }
  for (size_t i = 0; i < params.size(); ++i) {
    values[i] = params[i].is_null ? nullptr : params[i].value.data();
    lengths[i] = static_cast<int>(params[i].value.size());
    formats[i] = params[i].binary ? 1 : 0;
  }
  LR_ASSIGN_OR_RETURN(const std::string* name, Prepared(sql));
  const absl::Time started = absl::Now();
  PGresult* result =
      PQexecPrepared(conn_, name->c_str(), static_cast<int>(params.size()),
                     values, lengths, formats, 0);
  ops::RecordDbQuery(absl::Now() - started);
  ExecStatusType st = PQresultStatus(result);
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return Result(result);
  absl::Status error = ErrorFrom(result, sql);
  PQclear(result);
  return error;
}

absl::Status Connection::ExecScript(absl::string_view sql) {
  std::string script(sql);
  PGresult* result = PQexec(conn_, script.c_str());
  ExecStatusType st = PQresultStatus(result);
  absl::Status status = (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
                            ? absl::OkStatus()
                            : ErrorFrom(result, "migration script");
  PQclear(result);
  return status;
}

void Connection::WakeAfterCommit(absl::string_view channel,
                                 absl::string_view payload) {
  Wake wake{std::string(channel), std::string(payload)};
  for (const Wake& w : state_->wakes) {
    if (w == wake) return;
  }
  state_->wakes.push_back(std::move(wake));
}

absl::Status Connection::ErrorFrom(PGresult* result, absl::string_view sql) {
  if (PQstatus(conn_) != CONNECTION_OK) {
    broken_ = true;
    return Unavailable("the database is unavailable; retry shortly");
  }
  const char* sqlstate =
      result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  std::string state = sqlstate ? sqlstate : "";
  // Class 08: connection exception; 57P0x: server shutting down.
  if (state.rfind("08", 0) == 0 || state.rfind("57P", 0) == 0) {
    broken_ = true;
    return Unavailable("the database is unavailable; retry shortly");
  }
  // 55P03: a lock wait hit lock_timeout (a reader at a busy event gate).
  if (state == "55P03") {
    return Unavailable("the event log is busy; retry shortly");
  }
  std::string message = result ? PQresultErrorMessage(result) : "no result";
  while (!message.empty() && message.back() == '\n') message.pop_back();
  absl::Status status = Internal(absl::StrCat(
      "database error ", state, ": ", message, " [", sql.substr(0, 120), "]"));
  // Serialization failures and deadlocks are safe to retry.
  if (state == "40001" || state == "40P01") {
    status = absl::AbortedError(status.message());
  }
  return status;
}

class Pool::Lease {
 public:
  Lease(Pool* pool, std::unique_ptr<ConnectionState> state)
      : pool_(pool), state_(std::move(state)), conn_(state_.get()) {}
  ~Lease() { pool_->Release(std::move(state_), conn_.broken()); }
  Connection& conn() { return conn_; }

 private:
  Pool* pool_;
  std::unique_ptr<ConnectionState> state_;
  Connection conn_;
};

Pool::Pool(PoolOptions options) : options_(std::move(options)) {}

Pool::~Pool() = default;

absl::StatusOr<std::unique_ptr<ConnectionState>> Pool::Connect() {
  std::string timeout = absl::StrCat(
      std::max<int64_t>(1, absl::ToInt64Seconds(options_.connect_timeout)));
  const char* keys[] = {"dbname", "connect_timeout", "application_name",
                        "options", nullptr};
  const char* values[] = {options_.url.c_str(), timeout.c_str(),
                          "leadrelay-server", "-c TimeZone=UTC", nullptr};
  auto state = std::make_unique<ConnectionState>();
  state->conn = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  ops::RecordDbConnect(PQstatus(state->conn) == CONNECTION_OK);
  if (PQstatus(state->conn) != CONNECTION_OK) {
    std::string why = PQerrorMessage(state->conn);
    while (!why.empty() && why.back() == '\n') why.pop_back();
    LogWarning(absl::StrCat("database connection failed: ", why));
    return Unavailable("the database is unavailable; retry shortly");
  }
  // NOTICEs (e.g. "already exists, skipping") are not worth a log line.
  PQsetNoticeProcessor(
      state->conn, [](void*, const char*) {}, nullptr);
  return state;
}

absl::StatusOr<std::unique_ptr<ConnectionState>> Pool::Acquire() {
  {
    absl::MutexLock lock(&mu_);
    auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !idle_.empty() || open_ < options_.size;
    };
    const bool waits = !ready();
    if (waits) ops::RecordDbPoolWaiting(1);
    const bool got = mu_.AwaitWithTimeout(absl::Condition(&ready),
                                          options_.checkout_timeout);
    if (waits) ops::RecordDbPoolWaiting(-1);
    if (!got) {
      return Unavailable("all database connections are busy; retry shortly");
    }
    if (!idle_.empty()) {
      std::unique_ptr<ConnectionState> state = std::move(idle_.back());
      idle_.pop_back();
      // Reading pending input notices a server that closed the connection
      // while it was idle (a restart), so the request gets a fresh one.
      if (PQconsumeInput(state->conn) == 1 &&
          PQstatus(state->conn) == CONNECTION_OK) {
        return state;
      }
      --open_;
    }
    ++open_;  // reserve a slot while connecting outside the lock
  }
  absl::StatusOr<std::unique_ptr<ConnectionState>> state = Connect();
  if (!state.ok()) {
    absl::MutexLock lock(&mu_);
    --open_;
  }
  return state;
}

void Pool::Release(std::unique_ptr<ConnectionState> state, bool broken) {
  absl::MutexLock lock(&mu_);
  if (broken || PQstatus(state->conn) != CONNECTION_OK ||
      PQtransactionStatus(state->conn) != PQTRANS_IDLE) {
    if (broken) ops::RecordDbConnectionLost();
    --open_;
    return;  // closed by ~ConnectionState
  }
  idle_.push_back(std::move(state));
}

void Pool::SendWakes(Connection& conn) {
  std::vector<Wake> wakes;
  wakes.swap(conn.state()->wakes);
  if (wakes.empty()) return;
  if (wake_sink_) {
    wake_sink_(std::move(wakes));
    return;
  }
  std::vector<std::string> channels, payloads;
  for (Wake& w : wakes) {
    channels.push_back(std::move(w.channel));
    payloads.push_back(std::move(w.payload));
  }
  // Best effort: the listeners' slow poll covers a lost wake-up.
  (void)conn.Exec(
      "SELECT pg_notify(c, p) FROM unnest($1::text[], $2::text[]) AS w(c, p)",
      {Param::TextArray(channels), Param::TextArray(payloads)});
}

absl::Status Pool::Run(const std::function<absl::Status(Connection&)>& fn) {
  LR_ASSIGN_OR_RETURN(std::unique_ptr<ConnectionState> state, Acquire());
  Lease lease(this, std::move(state));
  Connection& conn = lease.conn();
  conn.state()->wakes.clear();
  absl::Status status = fn(conn);
  // Statements outside a transaction commit one by one: what succeeded has
  // committed.
  if (status.ok() && !conn.broken() &&
      PQtransactionStatus(conn.raw()) == PQTRANS_IDLE) {
    SendWakes(conn);
  }
  conn.state()->wakes.clear();
  return status;
}

namespace {

// BEGIN, tagged with the thread's request id when it has one (one round
// trip either way).
absl::Status BeginTransaction(Connection& conn) {
  std::string begin = BeginStatementForCurrentRequest();
  if (begin == "BEGIN") return conn.Exec(begin).status();
  return conn.ExecScript(begin);
}

}  // namespace

absl::Status Pool::InTransaction(
    const std::function<absl::Status(Connection&)>& fn) {
  LR_ASSIGN_OR_RETURN(std::unique_ptr<ConnectionState> state, Acquire());
  Lease lease(this, std::move(state));
  Connection& conn = lease.conn();
  conn.state()->wakes.clear();
  LR_RETURN_IF_ERROR(BeginTransaction(conn));
  absl::Status status = fn(conn);
  if (status.ok()) {
    status = conn.Exec("COMMIT").status();
    if (status.ok()) {
      SendWakes(conn);
      return status;
    }
  }
  conn.state()->wakes.clear();
  if (!conn.broken()) {
    // A failed ROLLBACK leaves the connection in a transaction; Release then
    // closes it instead of reusing it.
    (void)conn.Exec("ROLLBACK");
  }
  return status;
}

PoolStats Pool::Stats() {
  absl::MutexLock lock(&mu_);
  return {open_, static_cast<int>(idle_.size())};
}

bool IsConnectionError(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnavailable;
}

}  // namespace leadrelay::store
