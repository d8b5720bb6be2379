// Liveness and readiness. Readiness = the database answers, every embedded
// migration is applied, the webhook dispatcher runs (when this process runs
// one) and the process is not draining for shutdown. A monitor thread
// re-checks every `interval` and mirrors the verdict into gRPC health: the
// empty service name is liveness, each leadrelay service is readiness.
#ifndef LEADRELAY_SERVER_OPS_READINESS_H_
#define LEADRELAY_SERVER_OPS_READINESS_H_

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/health_check_service_interface.h"
#include "store/pg.h"

namespace leadrelay::ops {

struct ReadinessState {
  bool database = false;
  bool migrations = false;
  bool dispatcher = false;  // true when no dispatcher is required
  bool draining = false;
};

// Pure verdict: ready or not, and the JSON body /readyz answers with.
bool IsReady(const ReadinessState& state);
std::string ReadinessJson(const ReadinessState& state);

class Readiness {
 public:
  // `dispatcher_running` may be empty: this process runs no dispatcher.
  Readiness(store::Pool& pool, std::function<bool()> dispatcher_running,
            absl::Duration interval);
  ~Readiness();  // Stop()

  // Starts the monitor; `health` may be null (no gRPC server).
  void Start(grpc::HealthCheckServiceInterface* health,
             std::vector<std::string> services);
  // From now on not ready (SIGTERM): load balancers stop sending.
  void BeginDrain();
  void Stop();

  ReadinessState Current();

 private:
  void Check();
  void Loop();
  void Publish(const ReadinessState& state);

  store::Pool& pool_;
  std::function<bool()> dispatcher_running_;
  absl::Duration interval_;
  grpc::HealthCheckServiceInterface* health_ = nullptr;
  std::vector<std::string> services_;
  std::thread thread_;

  absl::Mutex mu_;
  ReadinessState state_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace leadrelay::ops

#endif  // LEADRELAY_SERVER_OPS_READINESS_H_
