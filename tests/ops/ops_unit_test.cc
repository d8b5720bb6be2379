// The pure parts of operations: the Prometheus exposition format (checked
// against the text format spec and parsed back with prometheus_client), the
// metric primitives, attempt outcome classes, log line formats, the request
// id tag on transactions, readiness verdicts and /proc parsers.
#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "common/log.h"
#include "common/request_context.h"
#include "gtest/gtest.h"
#include "metrics/exposition.h"
#include "metrics/registry.h"
#include "ops/attempt_outcome.h"
#include "ops/metrics_text.h"
#include "ops/process_metrics.h"
#include "ops/readiness.h"
#include "store/request_tag.h"

namespace leadrelay {
namespace {

using metrics::Registry;

TEST(ExpositionTest, EscapesHelpAndLabelValuesPerTextFormat) {
  EXPECT_EQ(metrics::EscapeHelp("a\\b\nc \"q\""), "a\\\\b\\nc \"q\"");
  EXPECT_EQ(metrics::EscapeLabelValue("a\\b\nc \"q\""), "a\\\\b\\nc \\\"q\\\"");
}

TEST(ExpositionTest, FormatsValues) {
  EXPECT_EQ(metrics::FormatValue(3), "3");
  EXPECT_EQ(metrics::FormatValue(-2), "-2");
  EXPECT_EQ(metrics::FormatValue(0.25), "0.25");
  EXPECT_EQ(metrics::FormatValue(std::numeric_limits<double>::infinity()),
            "+Inf");
  EXPECT_EQ(metrics::FormatValue(-std::numeric_limits<double>::infinity()),
            "-Inf");
  EXPECT_EQ(metrics::FormatValue(std::nan("")), "NaN");
}

TEST(RegistryTest, RendersEveryTypeWithHelpTypeAndLabels) {
  Registry r;
  auto& requests = r.AddCounter("t_requests_total", "Requests.\nSecond line.",
                                {"method", "code"});
  requests.With({"Get", "OK"}).Inc(2);
  requests.With({"Get", "NOT_FOUND"}).Inc();
  r.AddGauge("t_in_flight", "In flight.").Get().Set(-1.5);
  auto& latency =
      r.AddHistogram("t_latency_seconds", "Latency.", {"method"}, {0.1, 1});
  latency.With({"Get"}).Observe(0.1);  // le is inclusive
  latency.With({"Get"}).Observe(0.5);
  latency.With({"Get"}).Observe(3);
  r.AddCallbackGauge("t_backlog", "Backlog.", {"state"}, [] {
    return std::vector<metrics::Sample>{{{"due"}, 7}};
  });
  EXPECT_EQ(r.Render(),
            "# HELP t_requests_total Requests.\\nSecond line.\n"
            "# TYPE t_requests_total counter\n"
            "t_requests_total{method=\"Get\",code=\"NOT_FOUND\"} 1\n"
            "t_requests_total{method=\"Get\",code=\"OK\"} 2\n"
            "# HELP t_in_flight In flight.\n"
            "# TYPE t_in_flight gauge\n"
            "t_in_flight -1.5\n"
            "# HELP t_latency_seconds Latency.\n"
            "# TYPE t_latency_seconds histogram\n"
            "t_latency_seconds_bucket{method=\"Get\",le=\"0.1\"} 1\n"
            "t_latency_seconds_bucket{method=\"Get\",le=\"1\"} 2\n"
            "t_latency_seconds_bucket{method=\"Get\",le=\"+Inf\"} 3\n"
            "t_latency_seconds_sum{method=\"Get\"} 3.6\n"
            "t_latency_seconds_count{method=\"Get\"} 3\n"
            "# HELP t_backlog Backlog.\n"
            "# TYPE t_backlog gauge\n"
            "t_backlog{state=\"due\"} 7\n");
}

TEST(RegistryTest, OutputParsesWithPrometheusClient) {
  Registry r;
  r.AddCounter("t_events_total", "Events with \\ and \n in help.", {"kind"})
      .With({"quote \" backslash \\ newline \n end"})
      .Inc(5);
  auto& h = r.AddHistogram("t_delay_seconds", "Delay.", {},
                           metrics::LatencyBuckets());
  for (double v : {0.0005, 0.002, 0.002, 0.7, 42.0}) h.Get().Observe(v);
  r.AddGauge("t_unused", "Registered, never set.", {"x"});
  absl::StatusOr<otest::ParsedMetrics> parsed =
      otest::ParseMetricsText(r.Render());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->types.at("t_events"), "counter");
  EXPECT_EQ(parsed->types.at("t_delay_seconds"), "histogram");
  EXPECT_EQ(parsed->types.at("t_unused"), "gauge");
  EXPECT_EQ(parsed->Get("t_events_total{kind=\"quote \\\" backslash \\\\ "
                        "newline \\n end\"}"),
            5);
  EXPECT_EQ(parsed->Get("t_delay_seconds_count{}"), 5);
  EXPECT_EQ(parsed->Get("t_delay_seconds_bucket{le=\"0.001\"}"), 1);
  EXPECT_EQ(parsed->Get("t_delay_seconds_bucket{le=\"0.0025\"}"), 3);
  EXPECT_EQ(parsed->Get("t_delay_seconds_bucket{le=\"1\"}"), 4);
  EXPECT_EQ(parsed->Get("t_delay_seconds_bucket{le=\"+Inf\"}"), 5);
  EXPECT_NEAR(parsed->Get("t_delay_seconds_sum{}"), 42.7045, 1e-9);
}

TEST(RegistryTest, RejectsNothingButTheParserRejectsBrokenText) {
  // The reference parser is strict enough to catch a broken exposition.
  EXPECT_FALSE(otest::ParseMetricsText("t_x{a=\"unterminated} 1\n").ok());
}

TEST(CounterTest, ConcurrentIncrementsAreAllCounted) {
  metrics::Counter counter;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100000; ++i) counter.Inc();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(counter.Value(), 400000u);
}

TEST(HistogramTest, ConcurrentObservationsSumUp) {
  metrics::Histogram histogram({1});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) histogram.Observe(0.5);
    });
  }
  for (auto& t : threads) t.join();
  metrics::Histogram::Snapshot s = histogram.Take();
  EXPECT_EQ(s.count, 40000u);
  EXPECT_EQ(s.cumulative[0], 40000u);
  EXPECT_DOUBLE_EQ(s.sum, 20000);
}

TEST(AttemptOutcomeTest, ClassesEveryKindOfResult) {
  EXPECT_EQ(ops::AttemptOutcomeLabel(204, false, ""), "2xx");
  EXPECT_EQ(ops::AttemptOutcomeLabel(301, false, ""), "3xx");
  EXPECT_EQ(ops::AttemptOutcomeLabel(410, false, ""), "4xx");
  EXPECT_EQ(ops::AttemptOutcomeLabel(503, false, ""), "5xx");
  EXPECT_EQ(ops::AttemptOutcomeLabel(0, true, "Timeout was reached"),
            "timeout");
  EXPECT_EQ(ops::AttemptOutcomeLabel(
                0, true, "refused to connect to a private (RFC 1918) address"),
            "refused_by_policy");
  EXPECT_EQ(ops::AttemptOutcomeLabel(0, true, "Couldn't connect to server"),
            "connect_error");
}

TEST(LogFormatTest, JsonLineCarriesEveryFieldEscaped) {
  LogFields f;
  f.request_id = "rid-1";
  f.method = "/leadrelay.v1.LeadService/CreateLead";
  f.account_id = "acc_1";
  f.duration_ms = 1.5;
  f.code = "OK";
  std::string line = FormatLogLine(LogFormat::kJson, absl::FromUnixSeconds(0),
                                   "INFO", "said \"hi\"\nthen\tleft", f);
  EXPECT_EQ(line,
            "{\"timestamp\":\"1970-01-01T00:00:00.000Z\",\"level\":\"INFO\","
            "\"message\":\"said \\\"hi\\\"\\nthen\\tleft\",\"request_id\":"
            "\"rid-1\",\"method\":\"/leadrelay.v1.LeadService/CreateLead\","
            "\"account_id\":\"acc_1\",\"duration_ms\":1.500,\"code\":\"OK\"}");
}

TEST(LogFormatTest, TextLineLeavesOutEmptyFields) {
  LogFields f;
  f.request_id = "rid-2";
  EXPECT_EQ(FormatLogLine(LogFormat::kText, absl::FromUnixSeconds(0), "WARN",
                          "slow", f),
            "1970-01-01T00:00:00.000Z WARN slow request_id=rid-2");
}

TEST(RequestContextTest, SanitizesClientRequestIds) {
  EXPECT_EQ(SanitizeRequestId("abc-DEF_1.2:3"), "abc-DEF_1.2:3");
  EXPECT_EQ(SanitizeRequestId("x'; DROP TABLE leads; --"), "");
  EXPECT_EQ(SanitizeRequestId("with space"), "");
  EXPECT_EQ(SanitizeRequestId(std::string(65, 'a')), "");
  EXPECT_EQ(SanitizeRequestId(""), "");
}

TEST(RequestTagTest, BeginCarriesOnlySafeIds) {
  EXPECT_EQ(store::BeginStatement(""), "BEGIN");
  EXPECT_EQ(store::BeginStatement("x'); DROP TABLE leads; --"), "BEGIN");
  EXPECT_EQ(store::BeginStatement("req-1"),
            "BEGIN; SELECT set_config('leadrelay.request_id', 'req-1', true)");
  EXPECT_EQ(store::BeginStatementForCurrentRequest(), "BEGIN");
  RequestContext request{"req-2", "m", ""};
  ScopedRequest scoped(&request);
  EXPECT_EQ(store::BeginStatementForCurrentRequest(),
            "BEGIN; SELECT set_config('leadrelay.request_id', 'req-2', true)");
}

TEST(ReadinessTest, ReadyOnlyWhenEverythingHoldsAndNotDraining) {
  ops::ReadinessState s{true, true, true, false};
  EXPECT_TRUE(ops::IsReady(s));
  EXPECT_EQ(ops::ReadinessJson(s),
            "{\"ready\":true,\"database\":true,\"migrations\":true,"
            "\"dispatcher\":true,\"draining\":false}\n");
  for (int broken = 0; broken < 4; ++broken) {
    ops::ReadinessState b = s;
    if (broken == 0) b.database = false;
    if (broken == 1) b.migrations = false;
    if (broken == 2) b.dispatcher = false;
    if (broken == 3) b.draining = true;
    EXPECT_FALSE(ops::IsReady(b)) << broken;
  }
}

TEST(ProcParsersTest, ReadRssAndStartTicks) {
  EXPECT_EQ(ops::ParseRssBytes("Name:\tx\nVmRSS:\t    2048 kB\nVmSwap: 0 kB\n"),
            2048 * 1024);
  EXPECT_EQ(ops::ParseRssBytes("Name:\tx\n"), 0);
  // pid (comm with spaces) state ppid ... field 22 = starttime.
  std::string stat = "42 (leadrelay server) S";
  for (int field = 4; field <= 21; ++field) stat += " " + std::to_string(field);
  stat += " 987654 23 24";
  EXPECT_EQ(ops::ParseStartTicks(stat), 987654);
}

}  // namespace
}  // namespace leadrelay
