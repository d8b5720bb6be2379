// Base fixture of the integration tests: one Harness (database + servers)
// per test binary, a main account and a second account for isolation
// checks, a fresh admin key per test, and short helpers for common calls.

#ifndef LEADRELAY_TESTS_SUPPORT_FIXTURE_H_
#define LEADRELAY_TESTS_SUPPORT_FIXTURE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "support/harness.h"

namespace leadrelay::itest {

class ServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { StartHarness(1); }
  static void TearDownTestSuite() { StopHarness(); }

  static void StartHarness(int num_servers) {
    absl::StatusOr<std::unique_ptr<Harness>> harness =
        Harness::Start(num_servers);
    if (!harness.ok()) {
      setup_error_ = std::string(harness.status().message());
      return;
    }
    harness_ = *std::move(harness);
    // Enterprise: 600 calls/min per key, so the shared keys never run into
    // the limit; rate-limit tests use their own "pro" accounts.
    absl::StatusOr<Account> main =
        harness_->BootstrapAccount("main-account", "enterprise", 1000);
    absl::StatusOr<Account> other =
        harness_->BootstrapAccount("other-account", "enterprise", 1000);
    if (!main.ok() || !other.ok()) {
      setup_error_ =
          std::string((!main.ok() ? main.status() : other.status()).message());
      harness_.reset();
      return;
    }
    main_ = *std::move(main);
    other_ = *std::move(other);
  }

  static void StopHarness() {
    if (harness_ != nullptr && failed_) harness_->KeepLogs();
    harness_.reset();
  }

  void SetUp() override {
    ASSERT_NE(harness_, nullptr)
        << "integration test set-up failed: " << setup_error_;
    v1::CreateApiKeyResponse created;
    ASSERT_TRUE(IsOk(
        CreateKey(main_.admin_key, "per-test admin", {"admin"}, &created)));
    key_ = created.key();
  }

  void TearDown() override {
    if (HasFailure() && harness_ != nullptr) {
      failed_ = true;
      std::cerr << harness_->LogTails() << std::flush;
    }
  }

  Harness& harness() { return *harness_; }
  Api& api(int server = 0) { return harness_->api(server); }
  PgConnection& db() { return harness_->db(); }

  // A new account (with its own admin key) for tests that need a clean
  // slate: credits, stats, webhook limits, rate limits.
  absl::StatusOr<Account> NewAccount(const std::string& plan = "enterprise",
                                     int credits = 1000) {
    return harness_->BootstrapAccount(UniqueName("acct"), plan, credits);
  }

  // An integer from SQL; records a failure and returns -1 on error.
  int64_t SqlInt(const std::string& sql,
                 const std::vector<std::string>& params = {}) {
    absl::StatusOr<int64_t> value = db().QueryInt(sql, params);
    if (!value.ok()) {
      ADD_FAILURE() << value.status();
      return -1;
    }
    return *value;
  }

  // The account's credit balance as stored. Since migration 0004 it is the
  // sum of the account's credit_buckets rows; before, accounts.credits.
  int64_t StoredCredits(const std::string& account_id) {
    if (HasCreditBuckets()) {
      return SqlInt(
          "SELECT coalesce(sum(credits), 0) FROM credit_buckets "
          "WHERE account_id = $1",
          {account_id});
    }
    return SqlInt("SELECT credits FROM accounts WHERE id = $1", {account_id});
  }

  // Sets the stored balance (test set-up).
  ::testing::AssertionResult SetStoredCredits(const std::string& account_id,
                                              int credits) {
    absl::Status status;
    const std::string value = absl::StrCat(credits);
    if (HasCreditBuckets()) {
      status = db().Exec("DELETE FROM credit_buckets WHERE account_id = $1",
                         {account_id});
      if (status.ok()) {
        status = db().Exec(
            "INSERT INTO credit_buckets (account_id, bucket, credits) "
            "VALUES ($1, 0, $2::integer)",
            {account_id, value});
      }
    } else {
      status = db().Exec(
          "UPDATE accounts SET credits = $2::integer "
          "WHERE id = $1",
          {account_id, value});
    }
    if (status.ok()) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << status;
  }

  bool HasCreditBuckets() {
    return SqlInt(
               "SELECT count(*) FROM information_schema.tables "
               "WHERE table_name = 'credit_buckets'") > 0;
  }

  // --- Call helpers: authorize with `key`, call, return the status. ------

  grpc::Status CreateKey(const std::string& key, const std::string& name,
                         const std::vector<std::string>& scopes,
                         v1::CreateApiKeyResponse* response, int server = 0) {
    grpc::ClientContext context;
    Authorize(&context, key);
    v1::CreateApiKeyRequest request;
    request.set_name(name);
    for (const std::string& scope : scopes) request.add_scopes(scope);
    return api(server).keys->CreateApiKey(&context, request, response);
  }

  // A new key of the main account with `scopes`; "" (and a failure) on error.
  std::string KeyWithScopes(const std::vector<std::string>& scopes,
                            const std::string& admin_key = "") {
    v1::CreateApiKeyResponse created;
    grpc::Status status =
        CreateKey(admin_key.empty() ? main_.admin_key : admin_key,
                  UniqueName("scoped"), scopes, &created);
    EXPECT_TRUE(IsOk(status));
    return created.key();
  }

  grpc::Status GetMe(const std::string& key, v1::GetMeResponse* response,
                     int server = 0) {
    grpc::ClientContext context;
    Authorize(&context, key);
    return api(server).accounts->GetMe(&context, v1::GetMeRequest(), response);
  }

  grpc::Status GetCredits(const std::string& key,
                          v1::GetCreditsResponse* response) {
    grpc::ClientContext context;
    Authorize(&context, key);
    return api().accounts->GetCredits(&context, v1::GetCreditsRequest(),
                                      response);
  }

  grpc::Status CreateLead(const std::string& key, const v1::Lead& lead,
                          v1::Lead* response, int server = 0) {
    grpc::ClientContext context;
    Authorize(&context, key);
    v1::CreateLeadRequest request;
    *request.mutable_lead() = lead;
    return api(server).leads->CreateLead(&context, request, response);
  }

  grpc::Status GetLead(const std::string& key, const std::string& id,
                       v1::Lead* response) {
    grpc::ClientContext context;
    Authorize(&context, key);
    v1::GetLeadRequest request;
    request.set_id(id);
    return api().leads->GetLead(&context, request, response);
  }

  grpc::Status ListLeads(const std::string& key,
                         const v1::ListLeadsRequest& request,
                         v1::ListLeadsResponse* response) {
    grpc::ClientContext context;
    Authorize(&context, key);
    return api().leads->ListLeads(&context, request, response);
  }

  grpc::Status UpdateLead(const std::string& key,
                          const v1::UpdateLeadRequest& request,
                          v1::Lead* response) {
    grpc::ClientContext context;
    Authorize(&context, key);
    return api().leads->UpdateLead(&context, request, response);
  }

  grpc::Status CreateWebhook(const std::string& key, const std::string& url,
                             const std::vector<std::string>& events,
                             v1::CreateWebhookResponse* response,
                             const std::string& secret = "") {
    grpc::ClientContext context;
    Authorize(&context, key);
    v1::CreateWebhookRequest request;
    request.set_name(UniqueName("hook"));
    request.set_url(url);
    for (const std::string& event : events) request.add_events(event);
    request.set_secret(secret);
    return api().webhooks->CreateWebhook(&context, request, response);
  }

  grpc::Status UpdateWebhook(const std::string& key,
                             const v1::UpdateWebhookRequest& request,
                             v1::Webhook* response) {
    grpc::ClientContext context;
    Authorize(&context, key);
    return api().webhooks->UpdateWebhook(&context, request, response);
  }

  grpc::Status GetWebhook(const std::string& key, const std::string& id,
                          v1::Webhook* response) {
    grpc::ClientContext context;
    Authorize(&context, key);
    v1::GetWebhookRequest request;
    request.set_id(id);
    return api().webhooks->GetWebhook(&context, request, response);
  }

  grpc::Status ListWebhooks(const std::string& key,
                            v1::ListWebhooksResponse* response) {
    grpc::ClientContext context;
    Authorize(&context, key);
    return api().webhooks->ListWebhooks(&context, v1::ListWebhooksRequest(),
                                        response);
  }

  grpc::Status PublishEvent(const std::string& key,
                            const v1::PublishEventRequest& request,
                            v1::PublishEventResponse* response) {
    grpc::ClientContext context;
    Authorize(&context, key);
    return api().events->PublishEvent(&context, request, response);
  }

  grpc::Status ListEvents(const std::string& key,
                          const v1::ListEventsRequest& request,
                          v1::ListEventsResponse* response) {
    grpc::ClientContext context;
    Authorize(&context, key);
    return api().events->ListEvents(&context, request, response);
  }

  // Every event of the account (following cursors), optionally of `types`.
  std::vector<v1::Event> AllEvents(const std::string& key,
                                   const std::vector<std::string>& types = {}) {
    std::vector<v1::Event> events;
    v1::ListEventsRequest request;
    for (const std::string& type : types) request.add_types(type);
    request.set_limit(1000);
    for (int page = 0; page < 100; ++page) {
      v1::ListEventsResponse response;
      grpc::Status status = ListEvents(key, request, &response);
      if (!status.ok()) {
        ADD_FAILURE() << "ListEvents: " << Describe(status);
        break;
      }
      for (const v1::Event& event : response.events()) events.push_back(event);
      if (response.events().empty()) break;
      request.set_after(response.next_cursor());
    }
    return events;
  }

  // A valid lead: solar, score 72, with a name, suburb and contact.
  static v1::Lead SampleLead() {
    v1::Lead lead;
    lead.set_vertical("solar");
    lead.set_first_name("Thandi");
    lead.set_last_name("Mokoena");
    lead.set_suburb("Sandton");
    lead.set_province("Gauteng");
    lead.set_service_type("rooftop_install");
    lead.set_budget_range("R50k-R100k");
    lead.set_urgency("this_month");
    lead.set_phone("+27821234567");
    lead.set_email("thandi@example.com");
    lead.set_score(72);
    lead.set_source("web_form");
    return lead;
  }

  static inline std::unique_ptr<Harness> harness_;
  static inline std::string setup_error_;
  static inline bool failed_ = false;
  static inline Account main_;
  static inline Account other_;

  // A fresh admin key of the main account, made for this test.
  std::string key_;
};

}  // namespace leadrelay::itest

#endif  // LEADRELAY_TESTS_SUPPORT_FIXTURE_H_
