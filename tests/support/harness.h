// The world of one integration test binary: a fresh database, one or more
// leadrelay-server processes on it, gRPC stubs for each, and helpers to call
// the API with a key and to inspect error details and rate-limit metadata.

#ifndef LEADRELAY_TESTS_SUPPORT_HARNESS_H_
#define LEADRELAY_TESTS_SUPPORT_HARNESS_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/rpc/error_details.pb.h"
#include "gtest/gtest.h"
#include "leadrelay/v1/account.grpc.pb.h"
#include "leadrelay/v1/event.grpc.pb.h"
#include "leadrelay/v1/lead.grpc.pb.h"
#include "leadrelay/v1/webhook.grpc.pb.h"
#include "support/postgres.h"
#include "support/process.h"

namespace leadrelay::itest {

// An account made by `leadrelay-server --bootstrap_account`, with its
// admin-scope key.
struct Account {
  std::string id;
  std::string name;
  std::string admin_key;
};

// Creates an account on `plan` with `credits` and its admin key by running
// `server_bin --bootstrap_account` against `database_url`; the command's
// output is kept in `log_path`.
absl::StatusOr<Account> BootstrapAccountWith(const std::string& server_bin,
                                             const std::string& database_url,
                                             const std::string& name,
                                             const std::string& plan,
                                             int credits,
                                             const std::string& log_path);

// Writes a file with one new random master key ("ID:BASE64") in `dir` and
// returns its path, for --secrets_key_file.
absl::StatusOr<std::string> WriteTestMasterKeys(
    const std::string& dir, const std::string& key_id = "test");

// Stubs for every service, on one channel to one server.
struct Api {
  explicit Api(const std::shared_ptr<grpc::Channel>& channel);

  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::AccountService::Stub> accounts;
  std::unique_ptr<v1::ApiKeyService::Stub> keys;
  std::unique_ptr<v1::LeadService::Stub> leads;
  std::unique_ptr<v1::EventService::Stub> events;
  std::unique_ptr<v1::WebhookService::Stub> webhooks;
};

// One running leadrelay-server.
struct Server {
  std::string address;
  std::unique_ptr<ChildProcess> process;
  std::unique_ptr<Api> api;
};

class Harness {
 public:
  // Reads LEADRELAY_SERVER_BIN and LEADRELAY_TEST_PG_URL (an error when
  // either is missing), creates the database and starts `num_servers`
  // servers on it, each ready to serve.
  static absl::StatusOr<std::unique_ptr<Harness>> Start(int num_servers = 1);

  Harness(const Harness&) = delete;
  Harness& operator=(const Harness&) = delete;
  // Stops the servers, then drops the database.
  ~Harness();

  // Creates an account with its own admin key. `plan` is one of the plans
  // seeded by the migrations.
  absl::StatusOr<Account> BootstrapAccount(const std::string& name,
                                           const std::string& plan = "pro",
                                           int credits = 1000);

  int num_servers() const { return static_cast<int>(servers_.size()); }
  Api& api(int server = 0) { return *servers_.at(server).api; }
  PgConnection& db() { return *db_; }
  const std::string& database_url() const { return database_->url(); }

  // Server logs, the last lines of each, for failure messages.
  std::string LogTails(int lines = 40) const;
  // Keeps the temp directory (server logs) after exit.
  void KeepLogs() { temp_dir_->Keep(); }

 private:
  Harness() = default;
  absl::Status StartServer();

  std::string server_bin_;
  std::unique_ptr<TempDir> temp_dir_;
  std::unique_ptr<TempDatabase> database_;
  // The servers' master keys; empty: the run's LEADRELAY_SECRETS_KEY.
  std::string key_file_;
  std::unique_ptr<PgConnection> db_;
  // Account whose key is used only for readiness probes.
  Account probe_;
  std::vector<Server> servers_;
  int bootstraps_ = 0;
};

// --- Calling the API ------------------------------------------------------

// Sets `authorization: Bearer <key>` (when key is not empty) and a deadline.
void Authorize(grpc::ClientContext* context, const std::string& key);
// Sets `x-api-key: <key>` and a deadline.
void AuthorizeWithApiKeyHeader(grpc::ClientContext* context,
                               const std::string& key);
// Only the deadline: an anonymous call.
void SetDeadline(grpc::ClientContext* context);

// --- Status details -------------------------------------------------------

// "CODE: message [reason]" for failure messages.
std::string Describe(const grpc::Status& status);

// The fields of a google.rpc.ErrorInfo (generated code) that tests compare.
struct ErrorInfo {
  std::string reason;
  std::string domain;
  std::map<std::string, std::string> metadata;
};

// The google.rpc.ErrorInfo carried in the status details, if any.
std::optional<ErrorInfo> ErrorInfoOf(const grpc::Status& status);
// The google.rpc.RetryInfo carried in the status details, if any.
std::optional<google::rpc::RetryInfo> RetryInfoOf(const grpc::Status& status);

// Success, or a failure that describes the status.
::testing::AssertionResult IsOk(const grpc::Status& status);
// The status has `code` and an ErrorInfo in domain "leadrelay.dev" with
// `reason`.
::testing::AssertionResult HasError(const grpc::Status& status,
                                    grpc::StatusCode code,
                                    const std::string& reason);

// --- Rate-limit metadata --------------------------------------------------

struct RateLimitHeaders {
  // "initial" or "trailing": where the headers were found.
  std::string source;
  int64_t limit = -1;
  int64_t remaining = -1;
  int64_t reset = -1;
};

// The x-ratelimit-* metadata the server sent on a finished call: from the
// initial metadata, else from the trailing metadata. Error when absent or not
// integers.
absl::StatusOr<RateLimitHeaders> ReadRateLimitHeaders(
    const grpc::ClientContext& context);

// --- Misc -----------------------------------------------------------------

// Seconds since the epoch, now.
int64_t UnixNow();
// Today's date in UTC with `offset_days` added, as YYYY-MM-DD.
std::string UtcDate(int offset_days = 0);
// A string unique within this process, for names and external ids.
std::string UniqueName(const std::string& prefix);

}  // namespace leadrelay::itest

#endif  // LEADRELAY_TESTS_SUPPORT_HARNESS_H_
