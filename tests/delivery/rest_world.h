// For delivery tests that drive both API surfaces: a DeliveryEnv whose
// server also hosts the REST gateway (--http_address), an HTTP receiver,
// REST calls with a bearer key, and JSON path lookups on what arrives. Two
// suite shapes share it: RestWorldTest (fast dispatch, a receiver, an
// account per test) and RestServerSuite (server flags of the suite's own).

#ifndef LEADRELAY_TESTS_DELIVERY_REST_WORLD_H_
#define LEADRELAY_TESTS_DELIVERY_REST_WORLD_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "delivery/delivery_env.h"
#include "delivery/http_receiver.h"
#include "gateway/http_client.h"
#include "google/protobuf/struct.pb.h"
#include "gtest/gtest.h"

namespace leadrelay::dtest {

using gateway::testing::HttpResponse;

struct RestWorld {
  std::unique_ptr<DeliveryEnv> env;
  std::unique_ptr<HttpReceiver> receiver;
  int http_port = 0;

  Api& api() { return env->api(0); }
  // One REST request on a fresh connection, authorized with `key`; `body`
  // is sent as application/json unless `headers` name a Content-Type.
  HttpResponse Rest(const std::string& key, const std::string& method,
                    const std::string& target, const std::string& body = "",
                    const std::vector<std::string>& headers = {}) const;
};

// Starts a database and one server with `server_flags` plus the REST ones,
// and waits until its gateway serves. No receiver.
absl::StatusOr<RestWorld> StartRestWorld(
    const std::vector<std::string>& server_flags);

// A suite sharing one RestWorld; each test gets an account of its own
// (`key_`, admin scope). Server logs are printed when a test fails.
class RestWorldTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();
  void SetUp() override;
  void TearDown() override;

  static RestWorld* world_;
  static std::string setup_error_;
  std::string key_;
};

// A suite on one server started with flags of its own (StartSuite, from
// SetUpTestSuite); calls over gRPC (api()), REST (Rest()) and SQL (db(),
// Count()). Logs are kept when a test failed.
class RestServerSuite : public ::testing::Test {
 protected:
  // On failure every test fails, naming the reason.
  static void StartSuite(const std::vector<std::string>& flags);
  static void TearDownTestSuite();

  void SetUp() override;
  void TearDown() override;

  Api& api() { return env_->api(0); }
  itest::PgConnection& db() { return env_->db(); }

  // One REST request with `authorization: Bearer <key>` and `headers`.
  HttpResponse Rest(const std::string& key, const std::string& method,
                    const std::string& target, const std::string& body = "",
                    const std::vector<std::string>& headers = {});

  // An integer from SQL; -1 (and a failure) on error.
  int64_t Count(const std::string& sql, const std::vector<std::string>& params);

  static inline std::unique_ptr<DeliveryEnv> env_;
  // Set by StartSuite.
  static inline std::string setup_error_;
  static inline bool failed_ = false;
  static inline int http_port_ = 0;
};

// The value at a dotted path ("data.lead.vertical") of a JSON object; null
// when a step is missing or not an object.
const google::protobuf::Value* AtPath(const google::protobuf::Struct& object,
                                      const std::string& path);

// The strings of a JSON array value (non-strings skipped).
std::vector<std::string> Strings(const google::protobuf::Value& value);

}  // namespace leadrelay::dtest

#endif  // LEADRELAY_TESTS_DELIVERY_REST_WORLD_H_
