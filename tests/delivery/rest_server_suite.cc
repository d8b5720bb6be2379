#include "delivery/rest_server_suite.h"

#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"

namespace leadrelay::dtest {

using gateway::testing::Fetch;

absl::Status RestServerSuite::Start(const std::vector<std::string>& flags) {
  absl::StatusOr<std::unique_ptr<DeliveryEnv>> env = DeliveryEnv::Create();
  if (!env.ok()) return env.status();
  absl::StatusOr<int> port = itest::PickFreePort();
  if (!port.ok()) return port.status();
  std::vector<std::string> all = flags;
  all.push_back(absl::StrCat("--http_address=127.0.0.1:", *port));
  all.push_back(absl::StrCat("--gateway_config=", LEADRELAY_SOURCE_DIR,
                             "/gateway/envoy.yaml"));
  all.push_back(absl::StrCat("--descriptor_set=", LEADRELAY_DESCRIPTOR_SET));
  absl::StatusOr<int> server = (*env)->StartServer(all);
  if (!server.ok()) return server.status();
  // The gateway starts after the gRPC server; a bounded start-up poll.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (Fetch(*port, "GET", "/openapi.json").status != 200) {
    if (std::chrono::steady_clock::now() > deadline) {
      return absl::UnavailableError("REST gateway not serving after 30 s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  http_port_ = *port;
  env_ = *std::move(env);
  return absl::OkStatus();
}

void RestServerSuite::StartSuite(const std::vector<std::string>& flags) {
  absl::Status started = Start(flags);
  if (!started.ok()) setup_error_ = started.ToString();
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

gateway::testing::HttpResponse RestServerSuite::Rest(
    const std::string& key, const std::string& method,
    const std::string& target, const std::string& body,
    const std::vector<std::string>& headers) {
  std::vector<std::string> all = {"Authorization: Bearer " + key};
  all.insert(all.end(), headers.begin(), headers.end());
  return Fetch(http_port_, method, target, body, all);
}

int64_t RestServerSuite::Count(const std::string& sql,
                               const std::vector<std::string>& params) {
  absl::StatusOr<int64_t> n = db().QueryInt(sql, params);
  EXPECT_TRUE(n.ok()) << n.status();
  return n.ok() ? *n : -1;
}

}  // namespace leadrelay::dtest
