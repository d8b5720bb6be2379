// Test helpers: parse a /metrics text with Debian's python3-prometheus-client
// (the reference parser), and read samples from the result.
#ifndef LEADRELAY_TESTS_OPS_METRICS_TEXT_H_
#define LEADRELAY_TESTS_OPS_METRICS_TEXT_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"

namespace leadrelay::otest {

struct ParsedMetrics {
  // `name{k="v",...}` (labels sorted, values JSON-quoted) -> value.
  std::map<std::string, double> samples;
  // family name (without _total for counters) -> type.
  std::map<std::string, std::string> types;

  // The sample's value, 0 when absent (a counter never incremented).
  double Get(const std::string& key) const {
    auto it = samples.find(key);
    return it == samples.end() ? 0 : it->second;
  }
  bool Has(const std::string& key) const { return samples.count(key) > 0; }
};

// Runs tests/ops/parse_metrics.py on `text`; an error (with the parser's
// message) when the text is not valid exposition format.
absl::StatusOr<ParsedMetrics> ParseMetricsText(const std::string& text);

}  // namespace leadrelay::otest

#endif  // LEADRELAY_TESTS_OPS_METRICS_TEXT_H_
