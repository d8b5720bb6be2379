#include "ops/readiness.h"

#include "absl/strings/str_cat.h"
#include "store/migrations.h"

namespace leadrelay::ops {

bool IsReady(const ReadinessState& s) {
  return s.database && s.migrations && s.dispatcher && !s.draining;
}

std::string ReadinessJson(const ReadinessState& s) {
  auto word = [](bool b) { return b ? "true" : "false"; };
  return absl::StrCat("{\"ready\":", word(IsReady(s)),
                      ",\"database\":", word(s.database),
                      ",\"migrations\":", word(s.migrations),
                      ",\"dispatcher\":", word(s.dispatcher),
                      ",\"draining\":", word(s.draining), "}\n");
}

Readiness::Readiness(store::Pool& pool,
                     std::function<bool()> dispatcher_running,
                     absl::Duration interval)
    : pool_(pool),
      dispatcher_running_(std::move(dispatcher_running)),
      interval_(interval) {}

Readiness::~Readiness() { Stop(); }

void Readiness::Start(grpc::HealthCheckServiceInterface* health,
                      std::vector<std::string> services) {
  health_ = health;
  services_ = std::move(services);
  Check();
  thread_ = std::thread([this] { Loop(); });
}

void Readiness::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void Readiness::BeginDrain() {
  ReadinessState state;
  {
    absl::MutexLock lock(&mu_);
    state_.draining = true;
    state = state_;
  }
  Publish(state);
}

ReadinessState Readiness::Current() {
  absl::MutexLock lock(&mu_);
  return state_;
}

void Readiness::Check() {
  ReadinessState fresh;
  int64_t applied = 0;
  absl::Status status = pool_.Run([&](store::Connection& conn) -> absl::Status {
    auto result =
        conn.Exec("SELECT COALESCE(max(version), 0) FROM schema_migrations");
    if (!result.ok()) return result.status();
    applied = result->Int(0, 0);
    return absl::OkStatus();
  });
  fresh.database = status.ok();
  const int latest =
      store::kMigrationCount == 0
          ? 0
          : store::kMigrations[store::kMigrationCount - 1].version;
  fresh.migrations = status.ok() && applied >= latest;
  fresh.dispatcher = !dispatcher_running_ || dispatcher_running_();
  ReadinessState state;
  {
    absl::MutexLock lock(&mu_);
    fresh.draining = state_.draining;
    state_ = fresh;
    state = state_;
  }
  Publish(state);
}

void Readiness::Publish(const ReadinessState& state) {
  if (health_ == nullptr) return;
  const bool ready = IsReady(state);
  for (const std::string& service : services_) {
    health_->SetServingStatus(service, ready);
  }
}

void Readiness::Loop() {
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&stopping_), interval_);
      if (stopping_) return;
    }
    Check();
  }
}

}  // namespace leadrelay::ops
