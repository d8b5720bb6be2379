// The fixture of the data-lifecycle suites: one leadrelay-server per test
// binary, with its REST gateway in-process, on a throwaway database; calls
// over gRPC (api()), REST (Rest()) and SQL (db(), Count()).
#ifndef LEADRELAY_TESTS_DELIVERY_REST_SERVER_SUITE_H_
#define LEADRELAY_TESTS_DELIVERY_REST_SERVER_SUITE_H_

#include <memory>
#include <string>
#include <vector>

#include "delivery/delivery_env.h"
#include "gateway/http_client.h"
#include "gtest/gtest.h"

namespace leadrelay::dtest {

class RestServerSuite : public ::testing::Test {
 protected:
  // Starts the server with `flags` besides the REST ones and waits until
  // its gateway serves. On failure every test fails, naming the reason.
  static void StartSuite(const std::vector<std::string>& flags);
  static void TearDownTestSuite();

  void SetUp() override;
  void TearDown() override;

  Api& api() { return env_->api(0); }
  itest::PgConnection& db() { return env_->db(); }

  // One REST request with `authorization: Bearer <key>` and `headers`.
  gateway::testing::HttpResponse Rest(
      const std::string& key, const std::string& method,
      const std::string& target, const std::string& body = "",
      const std::vector<std::string>& headers = {});

  // An integer from SQL; -1 (and a failure) on error.
  int64_t Count(const std::string& sql, const std::vector<std::string>& params);

  static inline std::unique_ptr<DeliveryEnv> env_;
  // Set by StartSuite.
  static inline std::string setup_error_;
  static inline bool failed_ = false;
  static inline int http_port_ = 0;

 private:
  static absl::Status Start(const std::vector<std::string>& flags);
};

}  // namespace leadrelay::dtest

#endif  // LEADRELAY_TESTS_DELIVERY_REST_SERVER_SUITE_H_
