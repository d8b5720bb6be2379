#include "metrics/registry.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "metrics/exposition.h"

namespace leadrelay::metrics {
namespace internal {

int ShardIndex() {
  static std::atomic<int> next{0};
  thread_local int index =
      next.fetch_add(1, std::memory_order_relaxed) % kShards;
  return index;
}

void AtomicAdd(std::atomic<double>& target, double delta) {
  double current = target.load(std::memory_order_relaxed);
  while (!target.compare_exchange_weak(current, current + delta,
                                       std::memory_order_relaxed)) {
  }
}

}  // namespace internal

uint64_t Counter::Value() const {
  uint64_t total = 0;
  for (const auto& shard : shards_) {
    total += shard.value.load(std::memory_order_relaxed);
  }
  return total;
}

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {
  std::sort(bounds_.begin(), bounds_.end());
  for (Shard& shard : shards_) {
    shard.buckets =
        std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1);
    for (size_t i = 0; i <= bounds_.size(); ++i) shard.buckets[i] = 0;
  }
}

void Histogram::Observe(double value) {
  // First bucket whose upper bound holds the value (le is inclusive).
  size_t bucket =
      std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  Shard& shard = shards_[internal::ShardIndex()];
  shard.buckets[bucket].fetch_add(1, std::memory_order_relaxed);
  internal::AtomicAdd(shard.sum, value);
}

Histogram::Snapshot Histogram::Take() const {
  Snapshot snapshot;
  std::vector<uint64_t> counts(bounds_.size() + 1, 0);
  for (const Shard& shard : shards_) {
    for (size_t i = 0; i <= bounds_.size(); ++i) {
      counts[i] += shard.buckets[i].load(std::memory_order_relaxed);
    }
    snapshot.sum += shard.sum.load(std::memory_order_relaxed);
  }
  uint64_t running = 0;
  for (uint64_t c : counts) {
    running += c;
    snapshot.cumulative.push_back(running);
  }
  snapshot.count = running;
  return snapshot;
}

std::vector<double> LatencyBuckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
          0.25,  0.5,    1,     2.5,  5,     10};
}

void FamilyBase::RenderHeader(std::string* out) const {
  const char* type = type_ == MetricType::kCounter ? "counter"
                     : type_ == MetricType::kGauge ? "gauge"
                                                   : "histogram";
  absl::StrAppend(out, "# HELP ", name_, " ", EscapeHelp(help_), "\n",
                  "# TYPE ", name_, " ", type, "\n");
}

template <>
void Family<Counter>::Render(std::string* out) const {
  RenderHeader(out);
  absl::ReaderMutexLock lock(&mu_);
  for (const auto& [labels, counter] : children_) {
    AppendSample(out, name_, label_names_, labels, "", "",
                 static_cast<double>(counter->Value()));
  }
}

template <>
void Family<Gauge>::Render(std::string* out) const {
  RenderHeader(out);
  absl::ReaderMutexLock lock(&mu_);
  for (const auto& [labels, gauge] : children_) {
    AppendSample(out, name_, label_names_, labels, "", "", gauge->Value());
  }
}

template <>
void Family<Histogram>::Render(std::string* out) const {
  RenderHeader(out);
  absl::ReaderMutexLock lock(&mu_);
  const std::string bucket = absl::StrCat(name_, "_bucket");
  for (const auto& [labels, histogram] : children_) {
    Histogram::Snapshot s = histogram->Take();
    const auto& bounds = histogram->bounds();
    for (size_t i = 0; i < bounds.size(); ++i) {
      AppendSample(out, bucket, label_names_, labels, "le",
                   FormatValue(bounds[i]),
                   static_cast<double>(s.cumulative[i]));
    }
    AppendSample(out, bucket, label_names_, labels, "le", "+Inf",
                 static_cast<double>(s.count));
    AppendSample(out, absl::StrCat(name_, "_sum"), label_names_, labels, "", "",
                 s.sum);
    AppendSample(out, absl::StrCat(name_, "_count"), label_names_, labels, "",
                 "", static_cast<double>(s.count));
  }
}

namespace {

class CallbackFamily : public FamilyBase {
 public:
  CallbackFamily(std::string name, std::string help,
                 std::vector<std::string> label_names,
                 std::function<std::vector<Sample>()> collect)
      : FamilyBase(std::move(name), std::move(help), MetricType::kGauge,
                   std::move(label_names)),
        collect_(std::move(collect)) {}

  void Render(std::string* out) const override {
    RenderHeader(out);
    for (const Sample& sample : collect_()) {
      AppendSample(out, name_, label_names_, sample.labels, "", "",
                   sample.value);
    }
  }

 private:
  std::function<std::vector<Sample>()> collect_;
};

}  // namespace

Family<Counter>& Registry::AddCounter(std::string name, std::string help,
                                      std::vector<std::string> label_names) {
  auto family = std::make_unique<Family<Counter>>(
      std::move(name), std::move(help), MetricType::kCounter,
      std::move(label_names), [] { return std::make_unique<Counter>(); });
  Family<Counter>& ref = *family;
  absl::MutexLock lock(&mu_);
  families_.push_back(std::move(family));
  return ref;
}

Family<Gauge>& Registry::AddGauge(std::string name, std::string help,
                                  std::vector<std::string> label_names) {
  auto family = std::make_unique<Family<Gauge>>(
      std::move(name), std::move(help), MetricType::kGauge,
      std::move(label_names), [] { return std::make_unique<Gauge>(); });
  Family<Gauge>& ref = *family;
  absl::MutexLock lock(&mu_);
  families_.push_back(std::move(family));
  return ref;
}

Family<Histogram>& Registry::AddHistogram(std::string name, std::string help,
                                          std::vector<std::string> label_names,
                                          std::vector<double> bounds) {
  auto family = std::make_unique<Family<Histogram>>(
      std::move(name), std::move(help), MetricType::kHistogram,
      std::move(label_names),
      [bounds] { return std::make_unique<Histogram>(bounds); });
  Family<Histogram>& ref = *family;
  absl::MutexLock lock(&mu_);
  families_.push_back(std::move(family));
  return ref;
}

void Registry::AddCallbackGauge(std::string name, std::string help,
                                std::vector<std::string> label_names,
                                std::function<std::vector<Sample>()> collect) {
  auto family = std::make_unique<CallbackFamily>(
      std::move(name), std::move(help), std::move(label_names),
      std::move(collect));
  absl::MutexLock lock(&mu_);
  families_.push_back(std::move(family));
}

std::string Registry::Render() const {
  std::string out;
  absl::ReaderMutexLock lock(&mu_);
  for (const auto& family : families_) family->Render(&out);
  return out;
}

}  // namespace leadrelay::metrics
