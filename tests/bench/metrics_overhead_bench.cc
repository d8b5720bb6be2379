// The per-call cost of recording metrics, in isolation: what one gRPC call
// adds (RecordGrpcCall: label lookup, counter, histogram) and what each of
// its database round trips adds (RecordDbQuery), next to the primitives.
// Compare with the server CPU per call that run_metrics_bench.sh prints
// (hundreds of microseconds): the recording is well under 1% of it.
#include <benchmark/benchmark.h>

#include "absl/time/time.h"
#include "metrics/registry.h"
#include "ops/server_metrics.h"

namespace {

void BM_CounterInc(benchmark::State& state) {
  static leadrelay::metrics::Counter counter;
  for (auto _ : state) counter.Inc();
}
BENCHMARK(BM_CounterInc)->Threads(1)->Threads(4);

void BM_HistogramObserve(benchmark::State& state) {
  static leadrelay::metrics::Histogram histogram(
      leadrelay::metrics::LatencyBuckets());
  double v = 0.0001;
  for (auto _ : state) {
    histogram.Observe(v);
    v = v < 5 ? v * 1.7 : 0.0001;
  }
}
BENCHMARK(BM_HistogramObserve)->Threads(1)->Threads(4);

void BM_RecordGrpcCall(benchmark::State& state) {
  for (auto _ : state) {
    leadrelay::ops::RecordGrpcCall("/leadrelay.v1.LeadService/GetLead", "OK",
                                   absl::Microseconds(800));
  }
}
BENCHMARK(BM_RecordGrpcCall)->Threads(1)->Threads(4);

void BM_RecordDbQuery(benchmark::State& state) {
  for (auto _ : state) {
    leadrelay::ops::RecordDbQuery(absl::Microseconds(300));
  }
}
BENCHMARK(BM_RecordDbQuery)->Threads(1)->Threads(4);

void BM_RecordGrpcCallMetricsOff(benchmark::State& state) {
  leadrelay::ops::SetMetricsEnabled(false);
  for (auto _ : state) {
    leadrelay::ops::RecordGrpcCall("/leadrelay.v1.LeadService/GetLead", "OK",
                                   absl::Microseconds(800));
  }
  leadrelay::ops::SetMetricsEnabled(true);
}
BENCHMARK(BM_RecordGrpcCallMetricsOff);

}  // namespace

BENCHMARK_MAIN();
