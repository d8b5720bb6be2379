#include "delivery/rest_world.h"

#include <algorithm>
#include <iostream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "support/process.h"

namespace leadrelay::dtest {
namespace {

constexpr int kGatewaySeconds = 30;

// A REST request to `port` with a bearer key, `headers`, and a JSON
// Content-Type for a body unless `headers` give one.
HttpResponse RestCall(int port, const std::string& key,
                      const std::string& method, const std::string& target,
                      const std::string& body,
                      const std::vector<std::string>& headers) {
  std::vector<std::string> all = {"Authorization: Bearer " + key};
  all.insert(all.end(), headers.begin(), headers.end());
  const bool typed =
      std::any_of(headers.begin(), headers.end(), [](const std::string& h) {
        return absl::StartsWithIgnoreCase(h, "content-type:");
      });
  if (!body.empty() && !typed) all.push_back("Content-Type: application/json");
  return gateway::testing::Fetch(port, method, target, body, all);
}

}  // namespace

HttpResponse RestWorld::Rest(const std::string& key, const std::string& method,
                             const std::string& target, const std::string& body,
                             const std::vector<std::string>& headers) const {
  return RestCall(http_port, key, method, target, body, headers);
}

absl::StatusOr<RestWorld> StartRestWorld(
    const std::vector<std::string>& server_flags) {
  RestWorld world;
  absl::StatusOr<std::unique_ptr<DeliveryEnv>> env = DeliveryEnv::Create();
  if (!env.ok()) return env.status();
  world.env = *std::move(env);
  absl::StatusOr<int> port = itest::PickFreePort();
  if (!port.ok()) return port.status();
  world.http_port = *port;
  std::vector<std::string> flags = server_flags;
  flags.push_back(absl::StrCat("--http_address=127.0.0.1:", *port));
  flags.push_back(absl::StrCat("--gateway_config=", LEADRELAY_SOURCE_DIR,
                               "/gateway/envoy.yaml"));
  flags.push_back(absl::StrCat("--descriptor_set=", LEADRELAY_DESCRIPTOR_SET));
  absl::StatusOr<int> server = world.env->StartServer(flags);
  if (!server.ok()) return server.status();
  // The gateway starts after the gRPC server the env waited for.
  DeliveryEnv* env_of_world = world.env.get();
  absl::Status serving = gateway::testing::AwaitRestGateway(
      *port, kGatewaySeconds, [] { return true; },
      [env_of_world] { return env_of_world->LogTails(); });
  if (!serving.ok()) return serving;
  return world;
}

RestWorld* RestWorldTest::world_ = nullptr;
std::string RestWorldTest::setup_error_;

void RestWorldTest::SetUpTestSuite() {
  absl::StatusOr<RestWorld> world = StartRestWorld(FastDispatchFlags());
  if (!world.ok()) {
    setup_error_ = world.status().ToString();
    return;
  }
  absl::StatusOr<std::unique_ptr<HttpReceiver>> receiver =
      HttpReceiver::Start();
  if (!receiver.ok()) {
    setup_error_ = receiver.status().ToString();
    return;
  }
  world->receiver = *std::move(receiver);
  world_ = new RestWorld(*std::move(world));
}

void RestWorldTest::TearDownTestSuite() {
  delete world_;
  world_ = nullptr;
}

void RestWorldTest::SetUp() {
  ASSERT_NE(world_, nullptr) << "set-up failed: " << setup_error_;
  absl::StatusOr<Account> account =
      world_->env->Bootstrap(itest::UniqueName("acct"));
  ASSERT_TRUE(account.ok()) << account.status();
  key_ = account->admin_key;
}

void RestWorldTest::TearDown() {
  if (HasFailure() && world_ != nullptr) {
    std::cerr << world_->env->LogTails() << std::flush;
  }
}

void RestServerSuite::StartSuite(const std::vector<std::string>& flags) {
  absl::StatusOr<RestWorld> world = StartRestWorld(flags);
  if (!world.ok()) {
    setup_error_ = world.status().ToString();
    return;
  }
  http_port_ = world->http_port;
  env_ = std::move(world->env);
}

void RestServerSuite::TearDownTestSuite() {
  if (env_ != nullptr && failed_) env_->KeepLogs();
  env_.reset();
}

void RestServerSuite::SetUp() {
  ASSERT_NE(env_, nullptr) << "set-up failed: " << setup_error_;
}

void RestServerSuite::TearDown() {
  if (HasFailure() && env_ != nullptr) {
    failed_ = true;
    std::cerr << env_->LogTails() << std::flush;
  }
}

HttpResponse RestServerSuite::Rest(const std::string& key,
                                   const std::string& method,
                                   const std::string& target,
                                   const std::string& body,
                                   const std::vector<std::string>& headers) {
  return RestCall(http_port_, key, method, target, body, headers);
}

int64_t RestServerSuite::Count(const std::string& sql,
                               const std::vector<std::string>& params) {
  absl::StatusOr<int64_t> n = db().QueryInt(sql, params);
  EXPECT_TRUE(n.ok()) << n.status();
  return n.ok() ? *n : -1;
}

const google::protobuf::Value* AtPath(const google::protobuf::Struct& object,
                                      const std::string& path) {
  const google::protobuf::Struct* at = &object;
  const google::protobuf::Value* value = nullptr;
  for (absl::string_view step : absl::StrSplit(path, '.')) {
    if (at == nullptr) return nullptr;
    auto it = at->fields().find(std::string(step));
    if (it == at->fields().end()) return nullptr;
    value = &it->second;
    at = value->has_struct_value() ? &value->struct_value() : nullptr;
  }
  return value;
}

std::vector<std::string> Strings(const google::protobuf::Value& value) {
  std::vector<std::string> out;
  for (const auto& v : value.list_value().values()) {
    if (v.has_string_value()) out.push_back(v.string_value());
  }
  return out;
}

}  // namespace leadrelay::dtest
