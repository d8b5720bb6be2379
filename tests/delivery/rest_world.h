// For delivery tests that drive both API surfaces: a DeliveryEnv whose
// server also hosts the REST gateway (--http_address), an HTTP receiver,
// REST calls with a bearer key, and JSON path lookups on what arrives.

#ifndef LEADRELAY_TESTS_DELIVERY_REST_WORLD_H_
#define LEADRELAY_TESTS_DELIVERY_REST_WORLD_H_

#include <memory>
#include <string>

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
  // is sent as application/json when not empty.
  HttpResponse Rest(const std::string& key, const std::string& method,
                    const std::string& target,
                    const std::string& body = "") const;
};

// Starts a database, one server (the fast dispatch flags, plus REST) and a
// receiver.
absl::StatusOr<RestWorld> StartRestWorld();

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

// The value at a dotted path ("data.lead.vertical") of a JSON object; null
// when a step is missing or not an object.
const google::protobuf::Value* AtPath(const google::protobuf::Struct& object,
                                      const std::string& path);

// The strings of a JSON array value (non-strings skipped).
std::vector<std::string> Strings(const google::protobuf::Value& value);

}  // namespace leadrelay::dtest

#endif  // LEADRELAY_TESTS_DELIVERY_REST_WORLD_H_
