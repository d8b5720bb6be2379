// The platform API over real gRPC and PostgreSQL: platform keys and client
// certificates acting for accounts they name, AccountAdminService, the
// credit ledger (idempotent top-ups; its sum equals the balance under
// concurrent debits and after a SIGKILL), suspension and the monthly quota.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "delivery/http_receiver.h"
#include "gtest/gtest.h"
#include "leadrelay/v1/account_admin.grpc.pb.h"
#include "support/fixture.h"
#include "support/harness.h"
#include "support/process.h"

namespace leadrelay::itest {
namespace {

constexpr char kAccountHeader[] = "x-leadrelay-account";

// Runs `leadrelay-server --bootstrap_platform_service=NAME` and returns the
// platform key it printed.
absl::StatusOr<std::string> BootstrapPlatformService(
    const std::string& database_url, const std::string& name,
    const std::string& log_path) {
  absl::StatusOr<std::string> server_bin = RequiredEnv("LEADRELAY_SERVER_BIN");
  if (!server_bin.ok()) return server_bin.status();
  absl::StatusOr<std::string> output =
      RunToCompletion({*server_bin, "--database_url=" + database_url,
                       "--bootstrap_platform_service=" + name},
                      log_path, 60);
  if (!output.ok()) return output.status();
  for (absl::string_view line : absl::StrSplit(*output, '\n')) {
    if (absl::ConsumePrefix(&line, "platform_key=")) return std::string(line);
  }
  return absl::InternalError("no platform_key= line in: " + *output);
}

class PlatformTest : public ServerTest {
 protected:
  static void SetUpTestSuite() {
    StartHarness(1);
    if (harness_ == nullptr) return;
    auto dir = TempDir::Create();
    if (!dir.ok()) {
      setup_error_ = std::string(dir.status().message());
      return;
    }
    dir_ = dir->release();
    auto key = BootstrapPlatformService(harness_->database_url(), "billing",
                                        dir_->path() + "/bootstrap.log");
    if (!key.ok()) {
      setup_error_ = std::string(key.status().message());
      harness_.reset();
      return;
    }
    platform_key_ = *key;
  }
  static void TearDownTestSuite() {
    StopHarness();
    delete dir_;
    dir_ = nullptr;
  }

  std::unique_ptr<v1::AccountAdminService::Stub> Admin(
      const std::shared_ptr<grpc::Channel>& channel) {
    return v1::AccountAdminService::NewStub(channel);
  }
  std::unique_ptr<v1::AccountAdminService::Stub> Admin() {
    return Admin(api().channel);
  }

  // A new account made through AccountAdminService.
  v1::CreateAccountResponse CreateAccount(const std::string& plan,
                                          int credits) {
    grpc::ClientContext context;
    Authorize(&context, platform_key_);
    v1::CreateAccountRequest request;
    request.set_name(UniqueName("platform-made"));
    request.set_plan(plan);
    request.set_initial_credits(credits);
    v1::CreateAccountResponse response;
    grpc::Status status = Admin()->CreateAccount(&context, request, &response);
    EXPECT_TRUE(IsOk(status));
    return response;
  }

  grpc::Status Adjust(const std::string& account_id, int amount,
                      const std::string& idempotency_key,
                      v1::AdjustCreditsResponse* response) {
    grpc::ClientContext context;
    Authorize(&context, platform_key_);
    v1::AdjustCreditsRequest request;
    request.set_account_id(account_id);
    request.set_amount(amount);
    request.set_reason("top-up: invoice 42");
    request.set_idempotency_key(idempotency_key);
    return Admin()->AdjustCredits(&context, request, response);
  }

  grpc::Status SetSuspended(const std::string& account_id, bool suspended) {
    grpc::ClientContext context;
    Authorize(&context, platform_key_);
    v1::UpdateAccountRequest request;
    request.set_id(account_id);
    request.set_suspended(suspended);
    v1::Account account;
    return Admin()->UpdateAccount(&context, request, &account);
  }

  // CreateLead with `key`, naming `account_id` when it is not empty.
  grpc::Status CreateLeadFor(const std::string& key,
                             const std::string& account_id, v1::Lead* out) {
    grpc::ClientContext context;
    Authorize(&context, key);
    if (!account_id.empty()) context.AddMetadata(kAccountHeader, account_id);
    v1::CreateLeadRequest request;
    *request.mutable_lead() = SampleLead();
    return api().leads->CreateLead(&context, request, out);
  }

  int64_t LedgerSum(const std::string& account_id) {
    return SqlInt(
        "SELECT coalesce(sum(amount), 0) FROM credit_ledger "
        "WHERE account_id = $1",
        {account_id});
  }

  static inline TempDir* dir_ = nullptr;
  static inline std::string platform_key_;
};

TEST_F(PlatformTest, PlatformKeyCreatesAccountAndTopUpIsCreditedOnce) {
  v1::CreateAccountResponse created = CreateAccount("pro", 100);
  const std::string id = created.account().id();
  ASSERT_TRUE(absl::StartsWith(id, "acct_"));
  EXPECT_EQ(created.account().credits(), 100);
  EXPECT_EQ(created.admin_key().scopes(0), "admin");

  // The first admin key works as the account's own key.
  v1::GetCreditsResponse credits;
  ASSERT_TRUE(IsOk(GetCredits(created.key(), &credits)));
  EXPECT_EQ(credits.credits(), 100);

  v1::AdjustCreditsResponse first, retry;
  ASSERT_TRUE(IsOk(Adjust(id, 50, "invoice-42", &first)));
  ASSERT_TRUE(IsOk(Adjust(id, 50, "invoice-42", &retry)));
  EXPECT_TRUE(first.applied());
  EXPECT_FALSE(retry.applied());
  EXPECT_EQ(first.entry().id(), retry.entry().id());
  EXPECT_EQ(first.credits(), 150);
  EXPECT_EQ(retry.entry().balance_after(), 150);
  EXPECT_EQ(first.entry().service(), "billing");
  ASSERT_TRUE(IsOk(GetCredits(created.key(), &credits)));
  EXPECT_EQ(credits.credits(), 150);

  // The same key with another amount is a client error and changes nothing.
  v1::AdjustCreditsResponse reused;
  EXPECT_TRUE(HasError(Adjust(id, 70, "invoice-42", &reused),
                       grpc::StatusCode::INVALID_ARGUMENT, "invalid_request"));
  // A removal beyond the balance changes nothing.
  EXPECT_TRUE(HasError(Adjust(id, -1000, "refund-1", &reused),
                       grpc::StatusCode::PERMISSION_DENIED,
                       "insufficient_credits"));
  ASSERT_TRUE(IsOk(GetCredits(created.key(), &credits)));
  EXPECT_EQ(credits.credits(), 150);

  // The ledger: opening credits and the top-up, newest first, with balances.
  grpc::ClientContext context;
  Authorize(&context, platform_key_);
  v1::ListCreditLedgerRequest request;
  request.set_account_id(id);
  v1::ListCreditLedgerResponse ledger;
  ASSERT_TRUE(IsOk(Admin()->ListCreditLedger(&context, request, &ledger)));
  ASSERT_EQ(ledger.entries_size(), 2);
  EXPECT_EQ(ledger.entries(0).amount(), 50);
  EXPECT_EQ(ledger.entries(0).balance_after(), 150);
  EXPECT_EQ(ledger.entries(0).reason(), "top-up: invoice 42");
  EXPECT_EQ(ledger.entries(1).amount(), 100);
  EXPECT_EQ(ledger.entries(1).balance_after(), 100);
  EXPECT_EQ(LedgerSum(id), StoredCredits(id));
}

TEST_F(PlatformTest, ActsForTwoAccountsByNamingThem) {
  v1::CreateAccountResponse a = CreateAccount("enterprise", 10);
  v1::CreateAccountResponse b = CreateAccount("enterprise", 10);
  v1::Lead for_a, for_b;
  ASSERT_TRUE(IsOk(CreateLeadFor(platform_key_, a.account().id(), &for_a)));
  ASSERT_TRUE(IsOk(CreateLeadFor(platform_key_, b.account().id(), &for_b)));

  // Each lead belongs to the account named, as if its own key had made it.
  v1::Lead read;
  EXPECT_TRUE(IsOk(GetLead(a.key(), for_a.id(), &read)));
  EXPECT_TRUE(HasError(GetLead(a.key(), for_b.id(), &read),
                       grpc::StatusCode::NOT_FOUND, "not_found"));
  EXPECT_TRUE(IsOk(GetLead(b.key(), for_b.id(), &read)));
  v1::GetCreditsResponse credits;
  ASSERT_TRUE(IsOk(GetCredits(a.key(), &credits)));
  EXPECT_EQ(credits.credits(), 9);
  ASSERT_TRUE(IsOk(GetCredits(b.key(), &credits)));
  EXPECT_EQ(credits.credits(), 9);

  // The debit's ledger row and the audit trail name the service.
  EXPECT_EQ(SqlInt("SELECT count(*) FROM credit_ledger WHERE account_id = $1 "
                   "AND amount = -1 AND service = 'billing' AND cause = "
                   "'leadrelay.v1.LeadService.CreateLead'",
                   {a.account().id()}),
            1);
  EXPECT_EQ(SqlInt("SELECT count(*) FROM platform_calls c JOIN "
                   "platform_services s ON s.id = c.service_id WHERE "
                   "s.name = 'billing' AND c.account_id = $1 AND c.method = "
                   "'leadrelay.v1.LeadService.CreateLead'",
                   {b.account().id()}),
            1);
  EXPECT_EQ(LedgerSum(a.account().id()), StoredCredits(a.account().id()));
}

TEST_F(PlatformTest, PlatformKeyMustNameAnAccount) {
  v1::Lead lead;
  EXPECT_TRUE(HasError(CreateLeadFor(platform_key_, "", &lead),
                       grpc::StatusCode::INVALID_ARGUMENT, "invalid_request"));
  EXPECT_TRUE(HasError(CreateLeadFor(platform_key_, "acct_doesnotexist", &lead),
                       grpc::StatusCode::NOT_FOUND, "not_found"));
  EXPECT_TRUE(HasError(CreateLeadFor(platform_key_, "not an id", &lead),
                       grpc::StatusCode::INVALID_ARGUMENT, "invalid_request"));
  EXPECT_TRUE(HasError(CreateLeadFor("lrp_notarealkey", main_.id, &lead),
                       grpc::StatusCode::UNAUTHENTICATED, "unauthorized"));
}

TEST_F(PlatformTest, AccountKeyCannotAdministerNorNameAnotherAccount) {
  grpc::ClientContext context;
  Authorize(&context, key_);
  v1::CreateAccountRequest request;
  request.set_name("sneaky");
  request.set_plan("pro");
  v1::CreateAccountResponse response;
  EXPECT_TRUE(HasError(Admin()->CreateAccount(&context, request, &response),
                       grpc::StatusCode::PERMISSION_DENIED, "forbidden"));

  v1::Lead lead;
  EXPECT_TRUE(HasError(CreateLeadFor(key_, other_.id, &lead),
                       grpc::StatusCode::PERMISSION_DENIED, "forbidden"));
  // Naming its own account is harmless.
  EXPECT_TRUE(IsOk(CreateLeadFor(key_, main_.id, &lead)));
}

TEST_F(PlatformTest, SuspensionBlocksAndResumeRestores) {
  v1::CreateAccountResponse made = CreateAccount("internal", 10);
  const std::string id = made.account().id();
  v1::GetCreditsResponse credits;
  ASSERT_TRUE(IsOk(GetCredits(made.key(), &credits)));  // cached: unlimited

  ASSERT_TRUE(IsOk(SetSuspended(id, true)));
  EXPECT_TRUE(HasError(GetCredits(made.key(), &credits),
                       grpc::StatusCode::PERMISSION_DENIED,
                       "account_suspended"));
  v1::Lead lead;
  EXPECT_TRUE(HasError(CreateLeadFor(platform_key_, id, &lead),
                       grpc::StatusCode::PERMISSION_DENIED,
                       "account_suspended"));
  // Nothing was deleted: the account still reads as before, suspended.
  {
    grpc::ClientContext context;
    Authorize(&context, platform_key_);
    v1::GetAccountRequest request;
    request.set_id(id);
    v1::Account account;
    ASSERT_TRUE(IsOk(Admin()->GetAccount(&context, request, &account)));
    EXPECT_TRUE(account.has_suspended_at());
    EXPECT_EQ(account.credits(), 10);
  }

  ASSERT_TRUE(IsOk(SetSuspended(id, false)));
  EXPECT_TRUE(IsOk(GetCredits(made.key(), &credits)));
  EXPECT_TRUE(IsOk(CreateLeadFor(made.key(), "", &lead)));
}

TEST_F(PlatformTest, SuspendedAccountsWebhooksPauseAndResume) {
  auto receiver = dtest::HttpReceiver::Start();
  ASSERT_TRUE(receiver.ok()) << receiver.status();
  // The suspended account's first attempt fails, so its delivery waits for
  // a retry; everything else is answered 200.
  (*receiver)->SetResponder([](const dtest::ReceivedRequest& request) {
    static std::atomic<int> first_s{0};
    if (request.path == "/s" && first_s++ == 0) {
      return dtest::Reply::Status(500);
    }
    return dtest::Reply();
  });
  // (WaitUntil passes the requests it holds; asking the receiver again
  // from inside its predicate would deadlock.)
  auto count = [](const std::vector<dtest::ReceivedRequest>& requests,
                  const std::string& path) {
    int n = 0;
    for (const auto& r : requests) n += r.path == path;
    return n;
  };
  v1::CreateAccountResponse s = CreateAccount("internal", 10);
  v1::CreateAccountResponse o = CreateAccount("internal", 10);
  for (const auto& [account, path] :
       {std::pair{&s, "/s"}, std::pair{&o, "/o"}}) {
    v1::CreateWebhookResponse hook;
    ASSERT_TRUE(IsOk(CreateWebhook(account->key(), (*receiver)->Url(path),
                                   {"lead.new"}, &hook)));
  }
  v1::Lead lead;
  ASSERT_TRUE(IsOk(CreateLeadFor(s.key(), "", &lead)));
  ASSERT_TRUE((*receiver)->WaitUntil(
      [](const auto& requests) { return !requests.empty(); },
      absl::Seconds(30)));
  // The failed attempt is recorded (and its retry scheduled) before the
  // test moves the retry: a completion landing after the UPDATE below would
  // push it back by the retry policy's delay.
  const absl::Time recorded_by = absl::Now() + absl::Seconds(30);
  for (;;) {
    absl::StatusOr<int64_t> attempts = db().QueryInt(
        "SELECT count(*) FROM delivery_attempts a JOIN deliveries d "
        "ON d.id = a.delivery_id WHERE d.account_id = $1",
        {s.account().id()});
    ASSERT_TRUE(attempts.ok()) << attempts.status();
    if (*attempts >= 1) break;
    ASSERT_LT(absl::Now(), recorded_by)
        << "the failed attempt was never recorded";
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_TRUE(IsOk(SetSuspended(s.account().id(), true)));
  // The retry comes due while the account is suspended.
  ASSERT_TRUE(db().Exec("UPDATE deliveries SET next_attempt_at = now() "
                        "WHERE account_id = $1",
                        {s.account().id()})
                  .ok());
  // Two later deliveries of another account go out; the earlier-due one of
  // the suspended account, which the dispatcher would have claimed first,
  // does not.
  for (int i = 1; i <= 2; ++i) {
    ASSERT_TRUE(IsOk(CreateLeadFor(o.key(), "", &lead)));
    ASSERT_TRUE((*receiver)->WaitUntil(
        [&](const auto& requests) { return count(requests, "/o") >= i; },
        absl::Seconds(30)));
  }
  EXPECT_EQ(count((*receiver)->Requests(), "/s"), 1);

  ASSERT_TRUE(IsOk(SetSuspended(s.account().id(), false)));
  EXPECT_TRUE((*receiver)->WaitUntil(
      [&](const auto& requests) { return count(requests, "/s") >= 2; },
      absl::Seconds(30)));
}

TEST_F(PlatformTest, ListAccountsPagesAndFilters) {
  const std::string tag = UniqueName("listed");
  for (int i = 0; i < 3; ++i) {
    grpc::ClientContext context;
    Authorize(&context, platform_key_);
    v1::CreateAccountRequest request;
    request.set_name(absl::StrCat(tag, "-", i));
    request.set_plan(i == 2 ? "starter" : "free");
    v1::CreateAccountResponse response;
    ASSERT_TRUE(IsOk(Admin()->CreateAccount(&context, request, &response)));
  }
  std::vector<std::string> names;
  std::string token;
  do {
    grpc::ClientContext context;
    Authorize(&context, platform_key_);
    v1::ListAccountsRequest request;
    request.set_page_size(1);
    request.set_page_token(token);
    request.set_plan("free");
    request.set_name_contains(absl::AsciiStrToUpper(tag));
    v1::ListAccountsResponse response;
    ASSERT_TRUE(IsOk(Admin()->ListAccounts(&context, request, &response)));
    for (const auto& a : response.accounts()) names.push_back(a.name());
    token = response.next_page_token();
  } while (!token.empty() && names.size() < 10);
  EXPECT_EQ(names, (std::vector<std::string>{tag + "-0", tag + "-1"}));
}

TEST_F(PlatformTest, MonthlyQuotaStopsCreateLeadUntilThePlanAllowsMore) {
  // The free plan allows 50 leads a month.
  v1::CreateAccountResponse made = CreateAccount("free", 100);
  v1::Lead lead;
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(IsOk(CreateLeadFor(made.key(), "", &lead))) << i;
  }
  EXPECT_TRUE(HasError(CreateLeadFor(made.key(), "", &lead),
                       grpc::StatusCode::PERMISSION_DENIED, "quota_exceeded"));
  v1::GetCreditsResponse credits;
  ASSERT_TRUE(IsOk(GetCredits(made.key(), &credits)));
  EXPECT_EQ(credits.credits(), 50);  // the refused call cost nothing
  {
    grpc::ClientContext context;
    Authorize(&context, made.key());
    v1::AccountStats stats;
    ASSERT_TRUE(IsOk(api().accounts->GetAccountStats(
        &context, v1::GetAccountStatsRequest(), &stats)));
    EXPECT_EQ(stats.leads_this_month(), 50);
    EXPECT_EQ(stats.quota_this_month(), 50);
  }
  // A bigger plan lifts the limit at once.
  grpc::ClientContext context;
  Authorize(&context, platform_key_);
  v1::UpdateAccountRequest request;
  request.set_id(made.account().id());
  request.set_plan("starter");
  v1::Account account;
  ASSERT_TRUE(IsOk(Admin()->UpdateAccount(&context, request, &account)));
  EXPECT_TRUE(IsOk(CreateLeadFor(made.key(), "", &lead)));
}

TEST_F(PlatformTest, LedgerSumEqualsBalanceUnder32ConcurrentDebits) {
  // 40 credits for 32 x 3 calls: many succeed, the rest run out, and both
  // debit paths (a free bucket, then all buckets) are taken.
  v1::CreateAccountResponse made = CreateAccount("internal", 40);
  const std::string id = made.account().id();
  std::atomic<int> succeeded{0}, out_of_credits{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 32; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 3; ++i) {
        // An external id makes a retry after UNAVAILABLE (a busy machine's
        // pool timeout) safe: a lead already made is returned, not charged.
        grpc::Status s;
        for (int attempt = 0; attempt < 5; ++attempt) {
          grpc::ClientContext context;
          Authorize(&context, t % 2 == 0 ? made.key() : platform_key_);
          if (t % 2 == 1) context.AddMetadata(kAccountHeader, id);
          v1::CreateLeadRequest request;
          *request.mutable_lead() = SampleLead();
          request.mutable_lead()->set_external_id(absl::StrCat(t, "-", i));
          v1::Lead lead;
          s = api().leads->CreateLead(&context, request, &lead);
          if (s.error_code() != grpc::StatusCode::UNAVAILABLE) break;
        }
        if (s.ok()) {
          ++succeeded;
        } else if (s.error_code() == grpc::StatusCode::PERMISSION_DENIED) {
          ++out_of_credits;
        } else {
          ++other;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(succeeded.load(), 40);
  EXPECT_EQ(out_of_credits.load(), 96 - 40);
  EXPECT_EQ(StoredCredits(id), 0);
  EXPECT_EQ(LedgerSum(id), StoredCredits(id));
  EXPECT_EQ(SqlInt("SELECT count(*) FROM credit_ledger WHERE account_id = $1 "
                   "AND amount = -1",
                   {id}),
            40);
}

TEST_F(PlatformTest, LedgerSumEqualsBalanceAfterSigkillMidRun) {
  // A server of our own on the same database, killed while 32 callers debit.
  auto port = PickFreePort();
  ASSERT_TRUE(port.ok());
  const std::string address = absl::StrCat("127.0.0.1:", *port);
  auto server_bin = RequiredEnv("LEADRELAY_SERVER_BIN");
  ASSERT_TRUE(server_bin.ok());
  auto server = ChildProcess::Spawn(
      {*server_bin, "--database_url=" + harness().database_url(),
       "--grpc_address=" + address, "--dispatch_webhooks=false"},
      dir_->path() + "/killed-server.log");
  ASSERT_TRUE(server.ok()) << server.status();
  auto channel =
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  if (!channel->WaitForConnected(std::chrono::system_clock::now() +
                                 std::chrono::seconds(30))) {
    std::ifstream log(dir_->path() + "/killed-server.log");
    FAIL() << "the server to kill did not come up; its log:\n" << log.rdbuf();
  }
  Api victim(channel);

  v1::CreateAccountResponse made = CreateAccount("internal", 100000);
  const std::string id = made.account().id();
  std::atomic<int> succeeded{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 32; ++t) {
    threads.emplace_back([&] {
      while (!stop.load()) {
        grpc::ClientContext context;
        Authorize(&context, made.key());
        v1::CreateLeadRequest request;
        *request.mutable_lead() = SampleLead();
        v1::Lead lead;
        if (victim.leads->CreateLead(&context, request, &lead).ok()) {
          ++succeeded;
        }
      }
    });
  }
  // Kill once the run is well under way.
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (succeeded.load() < 200 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(kill((*server)->pid(), SIGKILL), 0);
  stop = true;
  for (auto& t : threads) t.join();
  ASSERT_GE(succeeded.load(), 200);

  // A lead batch the server sent just before the kill may still be unread
  // in its backend's socket, which shows that backend as idle: it can
  // commit after any check of pg_stat_activity. So every figure is read in
  // one snapshot, in which each committed lead has its ledger row.
  ASSERT_TRUE(db().Exec("BEGIN ISOLATION LEVEL REPEATABLE READ").ok());
  const int64_t leads =
      SqlInt("SELECT count(*) FROM leads WHERE account_id = $1", {id});
  EXPECT_GE(leads, succeeded.load());
  EXPECT_EQ(LedgerSum(id), StoredCredits(id));
  EXPECT_EQ(StoredCredits(id), 100000 - leads);
  EXPECT_EQ(SqlInt("SELECT count(*) FROM credit_ledger WHERE account_id = $1 "
                   "AND amount = -1",
                   {id}),
            leads);
  ASSERT_TRUE(db().Exec("COMMIT").ok());
}

}  // namespace
}  // namespace leadrelay::itest
