// The world of the delivery tests: a throwaway database, leadrelay-server
// processes started with the dispatcher flags each suite needs (shortened
// retry schedule, short timeouts, allow-listed loopback), accounts, and
// small helpers over the webhook and event APIs and the deliveries table.

#ifndef LEADRELAY_TESTS_DELIVERY_DELIVERY_ENV_H_
#define LEADRELAY_TESTS_DELIVERY_DELIVERY_ENV_H_

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "delivery/test_crypto.h"
#include "support/harness.h"
#include "support/postgres.h"
#include "support/process.h"

namespace leadrelay::dtest {

using itest::Account;
using itest::Api;

// The dispatcher flags of most suites: loopback allow-listed, retries after
// 1 s and 2 s without jitter, a 2 s request timeout, a 200 ms poll.
std::vector<std::string> FastDispatchFlags();

class DeliveryEnv {
 public:
  // Reads LEADRELAY_SERVER_BIN and LEADRELAY_TEST_PG_URL (an error naming
  // the variable when missing), creates a database and applies the
  // migrations (through a bootstrap of a readiness-probe account).
  // `admin_url`, when given, replaces LEADRELAY_TEST_PG_URL (a cluster the
  // test runs itself).
  static absl::StatusOr<std::unique_ptr<DeliveryEnv>> Create(
      const std::string& admin_url = "");

  DeliveryEnv(const DeliveryEnv&) = delete;
  DeliveryEnv& operator=(const DeliveryEnv&) = delete;
  ~DeliveryEnv();  // stops the servers, drops the database

  // Starts a server with `flags` (besides --database_url and --grpc_address)
  // and waits until it serves. Returns its index.
  absl::StatusOr<int> StartServer(const std::vector<std::string>& flags);
  // SIGKILL, no goodbye.
  void KillServer(int index);
  // Starts server `index` again with its flags, on the same address.
  absl::Status RestartServer(int index);
  // SIGTERM and wait.
  void StopServer(int index);

  absl::StatusOr<Account> Bootstrap(const std::string& name,
                                    const std::string& plan = "enterprise");

  Api& api(int server = 0) { return *servers_.at(server).api; }
  const std::string& address(int server = 0) const {
    return servers_.at(server).address;
  }
  pid_t server_pid(int server = 0) const {
    return servers_.at(server).process->pid();
  }
  itest::PgConnection& db() { return *db_; }
  // Opens the test's own connection again (after a database restart).
  absl::Status ReopenDb();
  const std::string& database_url() const { return database_->url(); }
  std::string LogTails(int lines = 40) const;
  void KeepLogs() { temp_dir_->Keep(); }

 private:
  struct ServerSlot {
    std::string address;
    std::vector<std::string> flags;
    std::unique_ptr<itest::ChildProcess> process;
    std::unique_ptr<Api> api;
    int generation = 0;
  };

  DeliveryEnv() = default;
  absl::Status Launch(ServerSlot& slot);

  std::string server_bin_;
  std::unique_ptr<itest::TempDir> temp_dir_;
  std::unique_ptr<itest::TempDatabase> database_;
  std::unique_ptr<itest::PgConnection> db_;
  Account probe_;
  std::vector<ServerSlot> servers_;
  int bootstraps_ = 0;
};

// --- API helpers (authorize with `key`, call, return the status) ----------

grpc::Status CreateWebhook(Api& api, const std::string& key,
                           const std::string& url,
                           const std::vector<std::string>& events,
                           v1::CreateWebhookResponse* response,
                           const std::string& secret = "");
grpc::Status GetWebhook(Api& api, const std::string& key, const std::string& id,
                        v1::Webhook* response);
grpc::Status Publish(Api& api, const std::string& key,
                     const v1::PublishEventRequest& request,
                     v1::PublishEventResponse* response);
grpc::Status GetDelivery(Api& api, const std::string& key,
                         const std::string& webhook_id, const std::string& id,
                         v1::Delivery* response);
grpc::Status ListDeliveries(Api& api, const std::string& key,
                            const v1::ListDeliveriesRequest& request,
                            v1::ListDeliveriesResponse* response);

// A follower.gained publish request (cheap, valid payload).
v1::PublishEventRequest FollowerGained(const std::string& target);

// --- Waiting on the store --------------------------------------------------

// Polls `sql` (one integer) until it equals `want` or `timeout` passes;
// returns the last value (or -1 on a query error).
int64_t WaitForSqlInt(itest::PgConnection& db, const std::string& sql,
                      const std::vector<std::string>& params, int64_t want,
                      absl::Duration timeout);

// Polls GetDelivery until its status is `status` (bounded).
bool WaitForDeliveryStatus(Api& api, const std::string& key,
                           const std::string& webhook_id,
                           const std::string& delivery_id,
                           const std::string& status, absl::Duration timeout,
                           v1::Delivery* last);

}  // namespace leadrelay::dtest

#endif  // LEADRELAY_TESTS_DELIVERY_DELIVERY_ENV_H_
