// An in-process gRPC server for the test proto (gwtest.v1.TestService),
// implemented generically on the descriptors: every unary method echoes the
// request with `method` and `metadata` filled in; Stream sends stream_count
// copies (-1: one, then it waits for cancellation; -2: only its headers,
// then it waits). fail_code / fail_reason / retry_after make a call fail with
// google.rpc.Status details like leadrelay-server's.
#ifndef LEADRELAY_TESTS_GATEWAY_TEST_BACKEND_H_
#define LEADRELAY_TESTS_GATEWAY_TEST_BACKEND_H_

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"

namespace leadrelay::gateway::testing {

class TestBackend {
 public:
  virtual ~TestBackend() = default;
  static std::unique_ptr<TestBackend> Start(const std::string& descriptor_set);

  virtual std::shared_ptr<grpc::Channel> NewChannel() = 0;
  // Waits until `count` streaming calls in total have seen a cancellation.
  virtual bool WaitForCancellations(int count, absl::Duration timeout) = 0;
  // Streaming calls that have seen a cancellation so far.
  virtual int Cancellations() = 0;
};

}  // namespace leadrelay::gateway::testing

#endif  // LEADRELAY_TESTS_GATEWAY_TEST_BACKEND_H_
