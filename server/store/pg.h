// A small libpq layer: parameters, results, a connection pool and
// transactions. Connection failures surface as UNAVAILABLE; everything else
// as INTERNAL with the SQL error logged, never returned to clients.
#ifndef LEADRELAY_SERVER_STORE_PG_H_
#define LEADRELAY_SERVER_STORE_PG_H_

#include <libpq-fe.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace leadrelay::store {

// One query parameter, text unless `binary` (used for bytea).
struct Param {
  std::string value;
  bool is_null = false;
  bool binary = false;

  Param(absl::string_view v) : value(v) {}        // NOLINT: implicit by design
  Param(const std::string& v) : value(v) {}       // NOLINT
  Param(const char* v) : value(v) {}              // NOLINT
  Param(int v) : value(std::to_string(v)) {}      // NOLINT
  Param(int64_t v) : value(std::to_string(v)) {}  // NOLINT
  Param(bool v) : value(v ? "t" : "f") {}         // NOLINT

  static Param Bytes(std::string bytes);
  static Param Null();
  // "{a,b}" text array literal for text[] parameters.
  static Param TextArray(const std::vector<std::string>& items);
};

// An owned PGresult with typed accessors (text format).
class Result {
 public:
  explicit Result(PGresult* result) : result_(result, &PQclear) {}

  int rows() const { return PQntuples(result_.get()); }
  bool IsNull(int row, int col) const;
  absl::string_view Text(int row, int col) const;
  std::string String(int row, int col) const;
  int64_t Int(int row, int col) const;
  bool Bool(int row, int col) const;
  std::string Bytes(int row, int col) const;
  std::vector<std::string> TextArray(int row, int col) const;
  // A column selected as lr_us(timestamptz); InfinitePast when NULL.
  absl::Time Time(int row, int col) const;

 private:
  std::unique_ptr<PGresult, void (*)(PGresult*)> result_;
};

// A NOTIFY to send once the transaction that asked for it has committed.
struct Wake {
  std::string channel;
  std::string payload;
  bool operator==(const Wake& o) const {
    return channel == o.channel && payload == o.payload;
  }
};

// One server connection and the statements prepared on it.
struct ConnectionState {
  PGconn* conn = nullptr;
  // SQL text -> prepared statement name. Prepared on first use: the server
  // then parses and plans each statement once per connection.
  absl::flat_hash_map<std::string, std::string> prepared;
  // Wake-ups asked for by the work in progress (WakeAfterCommit).
  std::vector<Wake> wakes;
  ~ConnectionState() {
    if (conn != nullptr) PQfinish(conn);
  }
};

// A checked-out connection. Not thread-safe; returned to the pool on
// destruction.
class Connection {
 public:
  explicit Connection(ConnectionState* state)
      : state_(state), conn_(state->conn) {}

  absl::StatusOr<Result> Exec(absl::string_view sql,
                              const std::vector<Param>& params = {});
  // Runs several statements without parameters (migrations).
  absl::Status ExecScript(absl::string_view sql);
  // Sends NOTIFY `channel` `payload` after the current transaction (or, in
  // Pool::Run, the statement) commits, from outside it: a NOTIFY inside a
  // transaction would serialize its commit with every other notifying
  // commit of the database. Dropped when the work fails.
  void WakeAfterCommit(absl::string_view channel, absl::string_view payload);

  bool broken() const { return broken_; }
  PGconn* raw() { return conn_; }
  ConnectionState* state() { return state_; }

 private:
  absl::Status ErrorFrom(PGresult* result, absl::string_view sql);
  // The prepared statement for `sql`, preparing it on first use.
  absl::StatusOr<const std::string*> Prepared(absl::string_view sql);

  ConnectionState* state_;
  PGconn* conn_;
  bool broken_ = false;
};

struct PoolStats {
  int open = 0;  // connections open, in use or idle
  int idle = 0;
};

struct PoolOptions {
  std::string url;
  int size = 16;
  absl::Duration checkout_timeout = absl::Seconds(5);
  absl::Duration connect_timeout = absl::Seconds(3);
};

class Pool {
 public:
  // Takes the wake-ups of committed work (e.g. a CommitNotifier that
  // coalesces them). Without one, the pool sends them itself on the same
  // connection right after the commit.
  using WakeSink = std::function<void(std::vector<Wake>)>;

  explicit Pool(PoolOptions options);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // Before the pool is shared between threads.
  void set_wake_sink(WakeSink sink) { wake_sink_ = std::move(sink); }

  // Runs `fn` on a pooled connection outside any transaction.
  absl::Status Run(const std::function<absl::Status(Connection&)>& fn);
  // Runs `fn` inside BEGIN/COMMIT; any error rolls the whole thing back.
  absl::Status InTransaction(
      const std::function<absl::Status(Connection&)>& fn);

  const PoolOptions& options() const { return options_; }
  PoolStats Stats();

 private:
  class Lease;
  absl::StatusOr<std::unique_ptr<ConnectionState>> Acquire();
  void Release(std::unique_ptr<ConnectionState> state, bool broken);
  absl::StatusOr<std::unique_ptr<ConnectionState>> Connect();
  // Hands the wake-ups of committed work on `conn` to the sink.
  void SendWakes(Connection& conn);

  PoolOptions options_;
  WakeSink wake_sink_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<ConnectionState>> idle_ ABSL_GUARDED_BY(mu_);
  int open_ ABSL_GUARDED_BY(mu_) = 0;
};

// True when `status` came from a lost or refused database connection.
bool IsConnectionError(const absl::Status& status);

}  // namespace leadrelay::store

#endif  // LEADRELAY_SERVER_STORE_PG_H_
