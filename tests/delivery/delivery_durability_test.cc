// Durability of the dispatcher: kill -9 with hundreds of deliveries in
// flight and restart (every delivery arrives at least once, all end
// succeeded); two servers dispatching from one database (no delivery is in
// flight twice at once, all arrive); PostgreSQL restarting mid-run (the
// dispatcher recovers by itself and loses nothing).

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "delivery/delivery_env.h"
#include "delivery/http_receiver.h"
#include "gtest/gtest.h"
#include "support/process.h"

namespace leadrelay::dtest {
namespace {

using itest::IsOk;

constexpr int kWebhooks = 5;

// Everything a scenario needs: env, server(s), an unlimited account with
// kWebhooks webhooks on one receiver.
struct Scenario {
  std::unique_ptr<DeliveryEnv> env;
  std::unique_ptr<HttpReceiver> receiver;
  Account account;
  std::vector<std::string> webhook_ids;
};

void SetUpScenario(int servers, Scenario* s,
                   const std::string& admin_url = "") {
  absl::StatusOr<std::unique_ptr<DeliveryEnv>> env =
      DeliveryEnv::Create(admin_url);
  ASSERT_TRUE(env.ok()) << env.status();
  s->env = *std::move(env);
  for (int i = 0; i < servers; ++i) {
    absl::StatusOr<int> server = s->env->StartServer(FastDispatchFlags());
    ASSERT_TRUE(server.ok()) << server.status();
  }
  absl::StatusOr<Account> account = s->env->Bootstrap("load", "internal");
  ASSERT_TRUE(account.ok()) << account.status();
  s->account = *account;
  absl::StatusOr<std::unique_ptr<HttpReceiver>> receiver =
      HttpReceiver::Start();
  ASSERT_TRUE(receiver.ok()) << receiver.status();
  s->receiver = *std::move(receiver);
  for (int i = 0; i < kWebhooks; ++i) {
    v1::CreateWebhookResponse created;
    ASSERT_TRUE(IsOk(CreateWebhook(s->env->api(), s->account.admin_key,
                                   s->receiver->Url(absl::StrCat("/h", i)),
                                   {"follower.gained"}, &created)));
    s->webhook_ids.push_back(created.webhook_id());
  }
}

// Publishes `events` events (through the servers in turn).
void PublishMany(Scenario& s, int events, int servers, const std::string& tag) {
  for (int i = 0; i < events; ++i) {
    v1::PublishEventResponse published;
    ASSERT_TRUE(
        IsOk(Publish(s.env->api(i % servers), s.account.admin_key,
                     FollowerGained(absl::StrCat(tag, i)), &published)));
    ASSERT_EQ(published.deliveries_queued(), kWebhooks);
  }
}

std::vector<std::string> AllDeliveryIds(DeliveryEnv& env) {
  auto rows = env.db().Query("SELECT id FROM deliveries WHERE NOT test");
  std::vector<std::string> ids;
  if (!rows.ok()) {
    ADD_FAILURE() << rows.status();
    return ids;
  }
  for (const auto& row : *rows) ids.push_back(row[0]);
  return ids;
}

// Delivery id -> requests that carried it.
std::map<std::string, int> ArrivalsById(const HttpReceiver& receiver) {
  std::map<std::string, int> out;
  for (const ReceivedRequest& r : receiver.Requests()) {
    ++out[r.Header("webhook-id")];
  }
  return out;
}

// Waits until every delivery is succeeded in the store; returns how many
// are not.
int64_t AwaitAllSucceeded(DeliveryEnv& env, absl::Duration timeout) {
  return WaitForSqlInt(env.db(),
                       "SELECT count(*) FROM deliveries WHERE NOT test AND "
                       "status <> 'succeeded'",
                       {}, 0, timeout);
}

TEST(DeliveryDurabilityTest, KillNineWithDeliveriesInFlightLosesNothing) {
  Scenario s;
  ASSERT_NO_FATAL_FAILURE(SetUpScenario(1, &s));
  Reply slow;
  slow.delay = absl::Milliseconds(100);
  s.receiver->SetDefault(slow);

  const int kEvents = 60;  // x 5 webhooks = 300 deliveries
  ASSERT_NO_FATAL_FAILURE(PublishMany(s, kEvents, 1, "crash"));
  // Let a good part go out, then pull the plug mid-flight.
  ASSERT_TRUE(s.receiver->WaitForRequests(60, absl::Seconds(60)));
  s.env->KillServer(0);
  const size_t at_kill = s.receiver->RequestCount();
  absl::StatusOr<int64_t> unfinished = s.env->db().QueryInt(
      "SELECT count(*) FROM deliveries WHERE status = 'pending'");
  ASSERT_TRUE(unfinished.ok());
  std::cerr << "killed with " << at_kill << " requests received, "
            << *unfinished << " deliveries unfinished\n";
  EXPECT_GT(*unfinished, 0) << "nothing was in flight when killed";

  absl::Time restarted = absl::Now();
  ASSERT_TRUE(s.env->RestartServer(0).ok());
  std::vector<std::string> ids = AllDeliveryIds(*s.env);
  ASSERT_EQ(ids.size(), static_cast<size_t>(kEvents * kWebhooks));
  // Abandoned claims come back after their lease (webhook_timeout + 60 s).
  EXPECT_EQ(AwaitAllSucceeded(*s.env, absl::Seconds(150)), 0)
      << s.env->LogTails();
  std::cerr << "all succeeded " << absl::Now() - restarted
            << " after the restart\n";
  std::map<std::string, int> arrivals = ArrivalsById(*s.receiver);
  int missing = 0;
  for (const std::string& id : ids) {
    if (arrivals.count(id) == 0) ++missing;
  }
  EXPECT_EQ(missing, 0) << "deliveries that never reached the receiver";
}

TEST(DeliveryDurabilityTest, TwoServersNeverSendOneDeliveryTwiceAtOnce) {
  Scenario s;
  ASSERT_NO_FATAL_FAILURE(SetUpScenario(2, &s));
  Reply reply;
  reply.delay = absl::Milliseconds(5);  // widens any overlap window
  s.receiver->SetDefault(reply);

  const int kEvents = 100;  // x 5 webhooks = 500 deliveries
  ASSERT_NO_FATAL_FAILURE(PublishMany(s, kEvents, 2, "pair"));
  EXPECT_EQ(AwaitAllSucceeded(*s.env, absl::Seconds(120)), 0)
      << s.env->LogTails();
  std::vector<std::string> ids = AllDeliveryIds(*s.env);
  ASSERT_EQ(ids.size(), static_cast<size_t>(kEvents * kWebhooks));
  ASSERT_TRUE(s.receiver->WaitForRequests(ids.size(), absl::Seconds(30)));

  std::map<std::string, int> overlaps = s.receiver->OverlappingDeliveries();
  EXPECT_TRUE(overlaps.empty())
      << overlaps.size() << " deliveries were in flight twice at once, e.g. "
      << overlaps.begin()->first;
  std::map<std::string, int> arrivals = ArrivalsById(*s.receiver);
  int missing = 0;
  int duplicated = 0;
  for (const std::string& id : ids) {
    auto it = arrivals.find(id);
    if (it == arrivals.end()) {
      ++missing;
    } else if (it->second > 1) {
      ++duplicated;
    }
  }
  EXPECT_EQ(missing, 0);
  EXPECT_EQ(duplicated, 0) << "sent more than once without any failure";
}

// Runs `script` in bash with scripts/lib.sh sourced (bounded).
absl::Status LibShell(const std::string& script, const std::string& log) {
  return itest::RunToCompletion({"/bin/bash", "-c",
                                 absl::StrCat("source '", LR_SOURCE_DIR,
                                              "/scripts/lib.sh' && ", script)},
                                log, 120)
      .status();
}

// A PostgreSQL cluster of this test's own, so that it can be restarted.
class OwnCluster {
 public:
  absl::Status Start() {
    absl::StatusOr<std::unique_ptr<itest::TempDir>> dir =
        itest::TempDir::Create();
    if (!dir.ok()) return dir.status();
    dir_ = *std::move(dir);
    absl::StatusOr<int> port = itest::PickFreePort();
    if (!port.ok()) return port.status();
    port_ = *port;
    return Up();
  }
  absl::Status Up() {
    return LibShell(
        absl::StrCat("lr_pg_start '", dir_->path(), "/data' ", port_, " test"),
        dir_->path() + "/pg-ctl.log");
  }
  absl::Status Down() {
    return LibShell(absl::StrCat("lr_pg_stop '", dir_->path(), "/data'"),
                    dir_->path() + "/pg-ctl.log");
  }
  std::string url() const {
    return absl::StrCat("postgresql://postgres@127.0.0.1:", port_, "/postgres");
  }
  ~OwnCluster() {
    if (dir_ != nullptr) (void)Down();
  }

 private:
  std::unique_ptr<itest::TempDir> dir_;
  int port_ = 0;
};

TEST(DeliveryDurabilityTest, PostgresRestartMidRunLosesNothing) {
  OwnCluster cluster;
  absl::Status started = cluster.Start();
  ASSERT_TRUE(started.ok()) << started;
  {
    Scenario s;
    ASSERT_NO_FATAL_FAILURE(SetUpScenario(1, &s, cluster.url()));
    Reply reply;
    reply.delay = absl::Milliseconds(20);
    s.receiver->SetDefault(reply);
    ASSERT_NO_FATAL_FAILURE(PublishMany(s, 20, 1, "before"));
    ASSERT_TRUE(s.receiver->WaitForRequests(30, absl::Seconds(60)));

    // The database goes away (fast shutdown: every connection is cut) and
    // stays away for a few seconds: the outage is the scenario, not a wait.
    ASSERT_TRUE(cluster.Down().ok());
    std::this_thread::sleep_for(std::chrono::seconds(3));
    ASSERT_TRUE(cluster.Up().ok());
    // Our own connection died with the old postmaster: reopen it.
    ASSERT_TRUE(s.env->ReopenDb().ok());

    // The server serves again by itself (bounded).
    absl::Time deadline = absl::Now() + absl::Seconds(60);
    int published_after = 0;
    while (published_after < 20 && absl::Now() < deadline) {
      v1::PublishEventResponse published;
      grpc::Status status = Publish(
          s.env->api(), s.account.admin_key,
          FollowerGained(absl::StrCat("after", published_after)), &published);
      if (status.ok()) {
        ++published_after;
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
    }
    ASSERT_EQ(published_after, 20) << "server did not recover";

    EXPECT_EQ(AwaitAllSucceeded(*s.env, absl::Seconds(150)), 0)
        << s.env->LogTails();
    std::vector<std::string> ids = AllDeliveryIds(*s.env);
    EXPECT_EQ(ids.size(), static_cast<size_t>(40 * kWebhooks));
    std::map<std::string, int> arrivals = ArrivalsById(*s.receiver);
    int missing = 0;
    for (const std::string& id : ids) {
      if (arrivals.count(id) == 0) ++missing;
    }
    EXPECT_EQ(missing, 0);
  }
}

}  // namespace
}  // namespace leadrelay::dtest
