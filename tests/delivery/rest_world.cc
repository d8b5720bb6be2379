#include "delivery/rest_world.h"

#include <chrono>
#include <iostream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "support/process.h"

namespace leadrelay::dtest {
namespace {

constexpr int kGatewaySeconds = 30;

}  // namespace

HttpResponse RestWorld::Rest(const std::string& key, const std::string& method,
                             const std::string& target,
                             const std::string& body) const {
  std::vector<std::string> headers = {"Authorization: Bearer " + key};
  if (!body.empty()) headers.push_back("Content-Type: application/json");
  return gateway::testing::Fetch(http_port, method, target, body, headers);
}

absl::StatusOr<RestWorld> StartRestWorld() {
  RestWorld world;
  absl::StatusOr<std::unique_ptr<DeliveryEnv>> env = DeliveryEnv::Create();
  if (!env.ok()) return env.status();
  world.env = *std::move(env);
  absl::StatusOr<int> port = itest::PickFreePort();
  if (!port.ok()) return port.status();
  world.http_port = *port;
  std::vector<std::string> flags = FastDispatchFlags();
  flags.push_back(absl::StrCat("--http_address=127.0.0.1:", *port));
  flags.push_back(absl::StrCat("--gateway_config=", LEADRELAY_SOURCE_DIR,
                               "/gateway/envoy.yaml"));
  flags.push_back(absl::StrCat("--descriptor_set=", LEADRELAY_DESCRIPTOR_SET));
  absl::StatusOr<int> server = world.env->StartServer(flags);
  if (!server.ok()) return server.status();
  // The gateway starts after the gRPC server the env waited for: a bounded
  // poll of a start-up.
  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(kGatewaySeconds);
  while (gateway::testing::Fetch(*port, "GET", "/openapi.json").status != 200) {
    if (std::chrono::steady_clock::now() > deadline) {
      return absl::UnavailableError(
          absl::StrCat("REST gateway not serving on port ", *port, "; ",
                       world.env->LogTails()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  absl::StatusOr<std::unique_ptr<HttpReceiver>> receiver =
      HttpReceiver::Start();
  if (!receiver.ok()) return receiver.status();
  world.receiver = *std::move(receiver);
  return world;
}

RestWorld* RestWorldTest::world_ = nullptr;
std::string RestWorldTest::setup_error_;

void RestWorldTest::SetUpTestSuite() {
  absl::StatusOr<RestWorld> world = StartRestWorld();
  if (!world.ok()) {
    setup_error_ = world.status().ToString();
    return;
  }
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
