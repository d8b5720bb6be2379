// SSRF defence: a server started WITHOUT --allow_webhook_hosts refuses to
// register webhooks on literal addresses in every forbidden range, and
// refuses at send time to connect to such an address even when the URL got
// into the store some other way.

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "delivery/delivery_env.h"
#include "delivery/http_receiver.h"
#include "gtest/gtest.h"

namespace leadrelay::dtest {
namespace {

using ::grpc::StatusCode;
using itest::IsOk;

constexpr absl::Duration kWait = absl::Seconds(30);

class DeliverySsrfTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<DeliveryEnv>> env = DeliveryEnv::Create();
    if (!env.ok()) {
      setup_error_ = env.status().ToString();
      return;
    }
    // No allow-list: every private address is off limits.
    absl::StatusOr<int> server = (*env)->StartServer(
        {"--retry_schedule=1s,2s", "--retry_jitter=0",
         "--dispatcher_poll_interval=200ms", "--webhook_timeout=2s"});
    if (!server.ok()) {
      setup_error_ = server.status().ToString();
      return;
    }
    absl::StatusOr<Account> account = (*env)->Bootstrap("ssrf");
    if (!account.ok()) {
      setup_error_ = account.status().ToString();
      return;
    }
    account_ = *account;
    env_ = *std::move(env);
  }
  static void TearDownTestSuite() { env_.reset(); }

  void SetUp() override {
    ASSERT_NE(env_, nullptr) << "set-up failed: " << setup_error_;
  }
  void TearDown() override {
    if (HasFailure() && env_ != nullptr) std::cerr << env_->LogTails();
  }

  static inline std::unique_ptr<DeliveryEnv> env_;
  static inline std::string setup_error_;
  static inline Account account_;
};

TEST_F(DeliverySsrfTest, RegistrationRefusesEveryForbiddenRange) {
  const char* kHosts[] = {
      "127.0.0.1",          "10.0.0.1",
      "172.16.0.1",         "192.168.1.1",
      "169.254.169.254",    "100.64.0.1",
      "224.0.0.1",          "240.0.0.1",
      "192.0.2.1",          "[::1]",
      "[fe80::1]",          "[fc00::1]",
      "[::ffff:127.0.0.1]", "[64:ff9b::a00:1]",
      "[2001:db8::1]",      "localhost",
  };
  for (const char* host : kHosts) {
    for (const std::string& url :
         {absl::StrCat("https://", host, "/hook"),
          absl::StrCat("https://", host, ":8443/hook")}) {
      v1::CreateWebhookResponse created;
      grpc::Status status = CreateWebhook(env_->api(), account_.admin_key, url,
                                          {"lead.new"}, &created);
      EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT)
          << url << " -> " << itest::Describe(status);
    }
  }
  // Plain http to a public name is refused too (https only)...
  v1::CreateWebhookResponse created;
  EXPECT_EQ(CreateWebhook(env_->api(), account_.admin_key,
                          "http://hooks.example.com/x", {"lead.new"}, &created)
                .error_code(),
            StatusCode::INVALID_ARGUMENT);
  // ...and a public https URL is accepted.
  EXPECT_TRUE(IsOk(CreateWebhook(env_->api(), account_.admin_key,
                                 "https://hooks.example.com/x", {"lead.new"},
                                 &created)));
}

TEST_F(DeliverySsrfTest, UpdatingToAForbiddenAddressIsRefused) {
  absl::StatusOr<Account> account = env_->Bootstrap(itest::UniqueName("up"));
  ASSERT_TRUE(account.ok());
  v1::CreateWebhookResponse created;
  ASSERT_TRUE(IsOk(CreateWebhook(env_->api(), account->admin_key,
                                 "https://hooks.example.com/y", {"lead.new"},
                                 &created)));
  grpc::ClientContext context;
  itest::Authorize(&context, account->admin_key);
  v1::UpdateWebhookRequest update;
  update.set_id(created.webhook_id());
  update.set_url("https://169.254.169.254/latest/meta-data");
  v1::Webhook webhook;
  EXPECT_EQ(env_->api()
                .webhooks->UpdateWebhook(&context, update, &webhook)
                .error_code(),
            StatusCode::INVALID_ARGUMENT);
}

TEST_F(DeliverySsrfTest, SendTimeCheckRefusesTheConnectedLoopbackAddress) {
  absl::StatusOr<std::unique_ptr<HttpReceiver>> receiver =
      HttpReceiver::Start();
  ASSERT_TRUE(receiver.ok());
  absl::StatusOr<Account> account = env_->Bootstrap(itest::UniqueName("rb"));
  ASSERT_TRUE(account.ok());
  const std::string key = account->admin_key;
  v1::CreateWebhookResponse created;
  ASSERT_TRUE(
      IsOk(CreateWebhook(env_->api(), key, "https://hooks.example.com/z",
                         {"follower.gained"}, &created)));
  // As if DNS had been rebound: the stored URL now reaches loopback.
  ASSERT_TRUE(env_->db()
                  .Exec("UPDATE webhooks SET url = $1 WHERE id = $2",
                        {(*receiver)->Url("/"), created.webhook_id()})
                  .ok());
  v1::PublishEventResponse published;
  ASSERT_TRUE(
      IsOk(Publish(env_->api(), key, FollowerGained("ssrf"), &published)));
  auto rows = env_->db().Query("SELECT id FROM deliveries WHERE event_id = $1",
                               {published.event().id()});
  ASSERT_TRUE(rows.ok() && rows->size() == 1);
  const std::string id = (*rows)[0][0];
  v1::Delivery d;
  ASSERT_TRUE(WaitForDeliveryStatus(env_->api(), key, created.webhook_id(), id,
                                    "failed", kWait, &d))
      << d.ShortDebugString();
  EXPECT_EQ((*receiver)->RequestCount(), 0u)
      << "the receiver on loopback was reached";
  EXPECT_EQ((*receiver)->ConnectionCount(), 0)
      << "a TCP connection to loopback was opened";
  ASSERT_GE(d.attempts_size(), 1);
  for (const v1::DeliveryAttempt& a : d.attempts()) {
    EXPECT_EQ(a.http_status(), 0);
    EXPECT_TRUE(absl::StrContains(a.error(), "loopback")) << a.error();
  }
}

}  // namespace
}  // namespace leadrelay::dtest
