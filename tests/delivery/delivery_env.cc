#include "delivery/delivery_env.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <thread>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace leadrelay::dtest {
namespace {

constexpr int kReadinessSeconds = 30;

}  // namespace

std::vector<std::string> FastDispatchFlags() {
  return {"--allow_webhook_hosts=127.0.0.1,localhost",
          "--retry_schedule=1s,2s",
          "--retry_jitter=0",
          "--dispatcher_poll_interval=200ms",
          "--webhook_timeout=2s",
          "--disable_failing_endpoints_after=1h"};
}

absl::StatusOr<std::unique_ptr<DeliveryEnv>> DeliveryEnv::Create(
    const std::string& admin_url_override) {
  absl::StatusOr<std::string> server_bin =
      itest::RequiredEnv("LEADRELAY_SERVER_BIN");
  if (!server_bin.ok()) return server_bin.status();
  absl::StatusOr<std::string> admin_url =
      admin_url_override.empty() ? itest::RequiredEnv("LEADRELAY_TEST_PG_URL")
                                 : admin_url_override;
  if (!admin_url.ok()) return admin_url.status();
  if (access(server_bin->c_str(), X_OK) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("LEADRELAY_SERVER_BIN=", *server_bin,
                     " is not an executable file; build leadrelay-server"));
  }
  std::unique_ptr<DeliveryEnv> env(new DeliveryEnv());
  env->server_bin_ = *server_bin;
  absl::StatusOr<std::unique_ptr<itest::TempDir>> dir =
      itest::TempDir::Create();
  if (!dir.ok()) return dir.status();
  env->temp_dir_ = *std::move(dir);
  absl::StatusOr<std::unique_ptr<itest::TempDatabase>> database =
      itest::TempDatabase::Create(*admin_url);
  if (!database.ok()) return database.status();
  env->database_ = *std::move(database);
  absl::StatusOr<Account> probe = env->Bootstrap("readiness-probe");
  if (!probe.ok()) return probe.status();
  env->probe_ = *std::move(probe);
  absl::StatusOr<std::unique_ptr<itest::PgConnection>> db =
      itest::PgConnection::Open(env->database_->url());
  if (!db.ok()) return db.status();
  env->db_ = *std::move(db);
  return env;
}

DeliveryEnv::~DeliveryEnv() {
  for (ServerSlot& slot : servers_) {
    slot.api.reset();
    if (slot.process != nullptr) slot.process->Stop();
  }
  db_.reset();
  database_.reset();
}

absl::StatusOr<int> DeliveryEnv::StartServer(
    const std::vector<std::string>& flags) {
  servers_.emplace_back();
  ServerSlot& slot = servers_.back();
  slot.flags = flags;
  absl::Status launched = Launch(slot);
  if (!launched.ok()) {
    KeepLogs();
    return launched;
  }
  return static_cast<int>(servers_.size()) - 1;
}

absl::Status DeliveryEnv::Launch(ServerSlot& slot) {
  // A restart keeps the address, so clients see the same server come back.
  if (slot.address.empty()) {
    absl::StatusOr<int> port = itest::PickFreePort();
    if (!port.ok()) return port.status();
    slot.address = absl::StrCat("127.0.0.1:", *port);
  }
  std::vector<std::string> argv = {
      server_bin_, absl::StrCat("--database_url=", database_->url()),
      absl::StrCat("--grpc_address=", slot.address)};
  argv.insert(argv.end(), slot.flags.begin(), slot.flags.end());
  size_t index = &slot - servers_.data();
  std::string log_path = absl::StrCat(temp_dir_->path(), "/server-", index, "-",
                                      slot.generation++, ".log");
  absl::StatusOr<std::unique_ptr<itest::ChildProcess>> process =
      itest::ChildProcess::Spawn(argv, log_path);
  if (!process.ok()) return process.status();
  slot.process = *std::move(process);
  slot.api = std::make_unique<Api>(
      grpc::CreateChannel(slot.address, grpc::InsecureChannelCredentials()));
  auto deadline = std::chrono::system_clock::now() +
                  std::chrono::seconds(kReadinessSeconds);
  grpc::Status last;
  while (std::chrono::system_clock::now() < deadline) {
    if (!slot.process->IsRunning()) {
      return absl::UnavailableError(absl::StrCat(
          "leadrelay-server ", slot.process->ExitDescription(),
          " during start-up; log tail:\n", itest::FileTail(log_path, 40)));
    }
    grpc::ClientContext context;
    context.set_wait_for_ready(true);
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(1));
    context.AddMetadata("authorization", "Bearer " + probe_.admin_key);
    v1::GetMeResponse response;
    last = slot.api->accounts->GetMe(&context, v1::GetMeRequest(), &response);
    if (last.error_code() != grpc::StatusCode::UNAVAILABLE &&
        last.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
      return absl::OkStatus();
    }
  }
  std::string how = slot.process->Stop();
  return absl::UnavailableError(
      absl::StrCat("leadrelay-server on ", slot.address, " not serving after ",
                   kReadinessSeconds, " s (", itest::Describe(last), "); ", how,
                   "; log tail:\n", itest::FileTail(log_path, 40)));
}

absl::Status DeliveryEnv::ReopenDb() {
  absl::StatusOr<std::unique_ptr<itest::PgConnection>> db =
      itest::PgConnection::Open(database_->url());
  if (!db.ok()) return db.status();
  db_ = *std::move(db);
  return absl::OkStatus();
}

void DeliveryEnv::KillServer(int index) {
  ServerSlot& slot = servers_.at(index);
  kill(slot.process->pid(), SIGKILL);
  // Reap it; IsRunning() waits without blocking, so ask until it is gone.
  for (int i = 0; i < 1000 && slot.process->IsRunning(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void DeliveryEnv::StopServer(int index) { servers_.at(index).process->Stop(); }

absl::Status DeliveryEnv::RestartServer(int index) {
  ServerSlot& slot = servers_.at(index);
  slot.api.reset();
  if (slot.process != nullptr && slot.process->IsRunning()) {
    slot.process->Stop();
  }
  return Launch(slot);
}

absl::StatusOr<Account> DeliveryEnv::Bootstrap(const std::string& name,
                                               const std::string& plan) {
  return itest::BootstrapAccountWith(
      server_bin_, database_->url(), name, plan, 100000,
      absl::StrCat(temp_dir_->path(), "/bootstrap-", bootstraps_++, ".log"));
}

std::string DeliveryEnv::LogTails(int lines) const {
  std::string out;
  for (const ServerSlot& slot : servers_) {
    if (slot.process == nullptr) continue;
    absl::StrAppend(&out, "---- leadrelay-server ", slot.address, " (",
                    slot.process->log_path(), "):\n",
                    itest::FileTail(slot.process->log_path(), lines), "\n");
  }
  return out;
}

grpc::Status CreateWebhook(Api& api, const std::string& key,
                           const std::string& url,
                           const std::vector<std::string>& events,
                           v1::CreateWebhookResponse* response,
                           const std::string& secret) {
  grpc::ClientContext context;
  itest::Authorize(&context, key);
  v1::CreateWebhookRequest request;
  request.set_name(itest::UniqueName("hook"));
  request.set_url(url);
  for (const std::string& event : events) request.add_events(event);
  request.set_secret(secret);
  return api.webhooks->CreateWebhook(&context, request, response);
}

grpc::Status GetWebhook(Api& api, const std::string& key, const std::string& id,
                        v1::Webhook* response) {
  grpc::ClientContext context;
  itest::Authorize(&context, key);
  v1::GetWebhookRequest request;
  request.set_id(id);
  return api.webhooks->GetWebhook(&context, request, response);
}

grpc::Status Publish(Api& api, const std::string& key,
                     const v1::PublishEventRequest& request,
                     v1::PublishEventResponse* response) {
  grpc::ClientContext context;
  itest::Authorize(&context, key);
  return api.events->PublishEvent(&context, request, response);
}

grpc::Status GetDelivery(Api& api, const std::string& key,
                         const std::string& webhook_id, const std::string& id,
                         v1::Delivery* response) {
  grpc::ClientContext context;
  itest::Authorize(&context, key);
  v1::GetDeliveryRequest request;
  request.set_webhook_id(webhook_id);
  request.set_id(id);
  return api.webhooks->GetDelivery(&context, request, response);
}

grpc::Status ListDeliveries(Api& api, const std::string& key,
                            const v1::ListDeliveriesRequest& request,
                            v1::ListDeliveriesResponse* response) {
  grpc::ClientContext context;
  itest::Authorize(&context, key);
  return api.webhooks->ListDeliveries(&context, request, response);
}

v1::PublishEventRequest FollowerGained(const std::string& target) {
  v1::PublishEventRequest request;
  request.set_type("follower.gained");
  v1::FollowerChangeData* follower = request.mutable_follower();
  follower->set_platform("instagram");
  follower->set_tracked_username("leadrelay_demo");
  follower->set_target_username(target);
  follower->set_target_user_id("1789");
  follower->set_change_date(itest::UtcDate());
  return request;
}

int64_t WaitForSqlInt(itest::PgConnection& db, const std::string& sql,
                      const std::vector<std::string>& params, int64_t want,
                      absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  int64_t value = -1;
  for (;;) {
    absl::StatusOr<int64_t> got = db.QueryInt(sql, params);
    value = got.ok() ? *got : -1;
    if (value == want || absl::Now() >= deadline) return value;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

bool WaitForDeliveryStatus(Api& api, const std::string& key,
                           const std::string& webhook_id,
                           const std::string& delivery_id,
                           const std::string& status, absl::Duration timeout,
                           v1::Delivery* last) {
  absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    v1::Delivery delivery;
    grpc::Status s = GetDelivery(api, key, webhook_id, delivery_id, &delivery);
    if (s.ok()) {
      *last = delivery;
      if (delivery.status() == status) return true;
    }
    if (absl::Now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace leadrelay::dtest
