// PostgreSQL going away and coming back: calls fail fast with UNAVAILABLE,
// nothing is half-applied, and the server recovers without a restart.
// This test owns its own cluster (initdb/pg_ctl from PostgreSQL 15) so that
// it can stop and start it.
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "support/harness.h"
#include "support/postgres.h"
#include "support/process.h"

namespace leadrelay::itest {
namespace {

constexpr char kPgBin[] = "/usr/lib/postgresql/15/bin/";

// Runs a PostgreSQL tool, as the postgres user when we are root (initdb
// refuses to run as root).
absl::StatusOr<std::string> RunPg(std::vector<std::string> argv,
                                  const std::string& log) {
  argv[0] = kPgBin + argv[0];
  if (geteuid() == 0) {
    argv.insert(argv.begin(), {"/usr/sbin/runuser", "-u", "postgres", "--"});
  }
  return RunToCompletion(argv, log, 60);
}

class DatabaseOutageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server_bin = RequiredEnv("LEADRELAY_SERVER_BIN");
    ASSERT_TRUE(server_bin.ok()) << server_bin.status();
    server_bin_ = *server_bin;
    auto dir = TempDir::Create();
    ASSERT_TRUE(dir.ok()) << dir.status();
    dir_ = *std::move(dir);
    chmod(dir_->path().c_str(), 0755);
    data_ = dir_->path() + "/pg";
    log_ = dir_->path() + "/tools.log";
    auto port = PickFreePort();
    ASSERT_TRUE(port.ok());
    pg_port_ = *port;
    ASSERT_EQ(mkdir(data_.c_str(), 0700), 0);
    if (geteuid() == 0) {
      ASSERT_TRUE(
          RunToCompletion({"/bin/chown", "postgres:postgres", data_}, log_, 10)
              .ok());
    }
    auto init = RunPg({"initdb", "-D", data_, "--auth=trust", "-U", "postgres",
                       "--no-instructions"},
                      log_);
    ASSERT_TRUE(init.ok()) << init.status() << FileTail(log_, 20);
    ASSERT_TRUE(StartPostgres()) << FileTail(data_ + "/postgres.log", 20);
    url_ =
        absl::StrCat("postgresql://postgres@127.0.0.1:", pg_port_, "/postgres");
    auto boot =
        RunToCompletion({server_bin_, "--database_url=" + url_,
                         "--bootstrap_account=outage", "--bootstrap_plan=pro"},
                        log_, 60);
    ASSERT_TRUE(boot.ok()) << boot.status() << FileTail(log_, 20);
    size_t at = boot->find("api_key=");
    ASSERT_NE(at, std::string::npos) << *boot;
    key_ = boot->substr(at + 8, boot->find('\n', at) - at - 8);
    auto grpc_port = PickFreePort();
    ASSERT_TRUE(grpc_port.ok());
    address_ = absl::StrCat("127.0.0.1:", *grpc_port);
    auto server = ChildProcess::Spawn(
        {server_bin_, "--database_url=" + url_, "--grpc_address=" + address_},
        dir_->path() + "/server.log");
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    api_ = std::make_unique<Api>(
        grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
    ASSERT_TRUE(WaitUntilServing()) << FileTail(server_->log_path(), 30);
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Stop();
    (void)RunPg({"pg_ctl", "-D", data_, "stop", "-m", "immediate"}, log_);
  }

  bool StartPostgres() {
    return RunPg({"pg_ctl", "-D", data_, "-w", "-t", "30", "-l",
                  data_ + "/postgres.log", "-o",
                  absl::StrCat("-p ", pg_port_,
                               " -c listen_addresses=127.0.0.1"
                               " -c unix_socket_directories=",
                               data_),
                  "start"},
                 log_)
        .ok();
  }

  bool StopPostgres() {
    return RunPg({"pg_ctl", "-D", data_, "-w", "stop", "-m", "fast"}, log_)
        .ok();
  }

  grpc::Status GetMe() {
    grpc::ClientContext context;
    Authorize(&context, key_);
    v1::GetMeResponse response;
    return api_->accounts->GetMe(&context, {}, &response);
  }

  grpc::Status CreateLead(const std::string& name) {
    grpc::ClientContext context;
    Authorize(&context, key_);
    v1::CreateLeadRequest request;
    request.mutable_lead()->set_vertical("solar");
    request.mutable_lead()->set_first_name(name);
    request.mutable_lead()->set_score(70);
    v1::Lead lead;
    return api_->leads->CreateLead(&context, request, &lead);
  }

  // Polls GetMe until it succeeds, for at most 30 s.
  bool WaitUntilServing() {
    absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (absl::Now() < deadline) {
      if (GetMe().ok()) return true;
      absl::SleepFor(absl::Milliseconds(100));  // polling a condition
    }
    return false;
  }

  int64_t Count(const std::string& table) {
    auto db = PgConnection::Open(url_);
    if (!db.ok()) return -1;
    auto n = (*db)->QueryInt("SELECT count(*) FROM " + table, {});
    return n.ok() ? *n : -1;
  }

  std::string server_bin_;
  std::unique_ptr<TempDir> dir_;
  std::string data_;
  std::string log_;
  int pg_port_ = 0;
  std::string url_;
  std::string key_;
  std::string address_;
  std::unique_ptr<ChildProcess> server_;
  std::unique_ptr<Api> api_;
};

TEST_F(DatabaseOutageTest, FailsFastWhileDownAndRecoversWhenBack) {
  ASSERT_TRUE(IsOk(CreateLead("before")));
  ASSERT_TRUE(StopPostgres()) << FileTail(log_, 20);

  // Every kind of call fails with UNAVAILABLE (a hang would show as
  // DEADLINE_EXCEEDED) and says the database is the reason.
  grpc::Status read = GetMe();
  EXPECT_TRUE(HasError(read, grpc::StatusCode::UNAVAILABLE, "unavailable"));
  EXPECT_NE(read.error_message().find("database"), std::string::npos)
      << read.error_message();
  EXPECT_TRUE(HasError(CreateLead("during"), grpc::StatusCode::UNAVAILABLE,
                       "unavailable"));
  EXPECT_TRUE(server_->IsRunning());

  ASSERT_TRUE(StartPostgres()) << FileTail(log_, 20);
  ASSERT_TRUE(WaitUntilServing()) << FileTail(server_->log_path(), 30);
  ASSERT_TRUE(IsOk(CreateLead("after")));

  // Nothing of the failed call was applied; both good calls were, whole.
  EXPECT_EQ(Count("leads"), 2);
  EXPECT_EQ(Count("events WHERE type = 'lead.new'"), 2);
  grpc::ClientContext context;
  Authorize(&context, key_);
  v1::GetCreditsResponse credits;
  ASSERT_TRUE(IsOk(api_->accounts->GetCredits(&context, {}, &credits)));
  EXPECT_EQ(credits.credits(), 1000 - 2);
}

}  // namespace
}  // namespace leadrelay::itest
