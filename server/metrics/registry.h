// A small Prometheus metrics library: counters, gauges, histograms and
// callback gauges in label families, rendered in the text exposition format
// 0.0.4. Recording is cheap: counters and histograms are sharded relaxed
// atomics (no lock, little cache-line sharing between threads); a family's
// label lookup takes a reader lock, so hot paths keep the child they use.
//
// Label values must come from a small fixed vocabulary (method names, status
// codes, outcomes): never account ids, URLs or anything a client chooses.
//
//   metrics::Registry registry;
//   auto& requests = registry.AddCounter("x_requests_total", "Requests.",
//                                        {"method", "code"});
//   requests.With({"GetMe", "OK"}).Inc();
//   std::string text = registry.Render();
#ifndef LEADRELAY_SERVER_METRICS_REGISTRY_H_
#define LEADRELAY_SERVER_METRICS_REGISTRY_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace leadrelay::metrics {

using LabelValues = std::vector<std::string>;

namespace internal {
inline constexpr int kShards = 8;
// The shard of the calling thread (stable per thread).
int ShardIndex();
// Adds `delta` to an atomic double (compare-and-swap loop).
void AtomicAdd(std::atomic<double>& target, double delta);
struct alignas(64) PaddedCount {
  std::atomic<uint64_t> value{0};
};
struct alignas(64) PaddedSum {
  std::atomic<double> value{0};
};
}  // namespace internal

// A monotonically increasing count of events.
class Counter {
 public:
  void Inc(uint64_t n = 1) {
    shards_[internal::ShardIndex()].value.fetch_add(n,
                                                    std::memory_order_relaxed);
  }
  uint64_t Value() const;

 private:
  std::array<internal::PaddedCount, internal::kShards> shards_;
};

// A value that goes up and down.
class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double delta) { internal::AtomicAdd(value_, delta); }
  void Inc() { Add(1); }
  void Dec() { Add(-1); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Observations counted into fixed buckets (upper bounds, ascending).
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double value);

  struct Snapshot {
    std::vector<uint64_t> cumulative;  // one per bound, then +Inf
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot Take() const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  struct alignas(64) Shard {
    std::unique_ptr<std::atomic<uint64_t>[]> buckets;  // bounds + 1
    std::atomic<double> sum{0};
  };
  std::vector<double> bounds_;
  std::array<Shard, internal::kShards> shards_;
};

// Latency buckets in seconds, from 1 ms to 10 s.
std::vector<double> LatencyBuckets();

enum class MetricType { kCounter, kGauge, kHistogram };

// One rendered sample, for callback gauges.
struct Sample {
  LabelValues labels;
  double value = 0;
};

// A metric name with its label names and one child per label-value tuple.
class FamilyBase {
 public:
  FamilyBase(std::string name, std::string help, MetricType type,
             std::vector<std::string> label_names)
      : name_(std::move(name)),
        help_(std::move(help)),
        type_(type),
        label_names_(std::move(label_names)) {}
  virtual ~FamilyBase() = default;
  virtual void Render(std::string* out) const = 0;

 protected:
  void RenderHeader(std::string* out) const;
  const std::string name_;
  const std::string help_;
  const MetricType type_;
  const std::vector<std::string> label_names_;
};

template <typename T>
class Family : public FamilyBase {
 public:
  using Factory = std::function<std::unique_ptr<T>()>;
  Family(std::string name, std::string help, MetricType type,
         std::vector<std::string> label_names, Factory factory)
      : FamilyBase(std::move(name), std::move(help), type,
                   std::move(label_names)),
        factory_(std::move(factory)) {}

  // The child for `values` (one per label name), created on first use.
  // The reference stays valid for the family's lifetime.
  T& With(const LabelValues& values) {
    {
      absl::ReaderMutexLock lock(&mu_);
      auto it = children_.find(values);
      if (it != children_.end()) return *it->second;
    }
    absl::MutexLock lock(&mu_);
    auto& slot = children_[values];
    if (slot == nullptr) slot = factory_();
    return *slot;
  }
  T& Get() { return With({}); }

  void Render(std::string* out) const override;

 private:
  Factory factory_;
  mutable absl::Mutex mu_;
  std::map<LabelValues, std::unique_ptr<T>> children_ ABSL_GUARDED_BY(mu_);
};

template <>
void Family<Counter>::Render(std::string* out) const;
template <>
void Family<Gauge>::Render(std::string* out) const;
template <>
void Family<Histogram>::Render(std::string* out) const;

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  Family<Counter>& AddCounter(std::string name, std::string help,
                              std::vector<std::string> label_names = {});
  Family<Gauge>& AddGauge(std::string name, std::string help,
                          std::vector<std::string> label_names = {});
  Family<Histogram>& AddHistogram(std::string name, std::string help,
                                  std::vector<std::string> label_names,
                                  std::vector<double> bounds);
  // A gauge computed at scrape time. `collect` must be thread-safe and quick
  // (cache anything expensive); it returns one sample per label tuple.
  void AddCallbackGauge(std::string name, std::string help,
                        std::vector<std::string> label_names,
                        std::function<std::vector<Sample>()> collect);

  // The whole registry in the text format 0.0.4, families in the order
  // they were added.
  std::string Render() const;

 private:
  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<FamilyBase>> families_ ABSL_GUARDED_BY(mu_);
};

// Content-Type of Render()'s output.
inline constexpr char kTextContentType[] =
    "text/plain; version=0.0.4; charset=utf-8";

}  // namespace leadrelay::metrics

#endif  // LEADRELAY_SERVER_METRICS_REGISTRY_H_
