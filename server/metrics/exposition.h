// Pure helpers of the Prometheus text format 0.0.4: escaping, number
// formatting and sample lines.
#ifndef LEADRELAY_SERVER_METRICS_EXPOSITION_H_
#define LEADRELAY_SERVER_METRICS_EXPOSITION_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace leadrelay::metrics {

// HELP text: backslash and newline escaped.
std::string EscapeHelp(absl::string_view text);
// Label value: backslash, double quote and newline escaped.
std::string EscapeLabelValue(absl::string_view text);
// A sample value: integers without a fraction, "+Inf", "-Inf", "NaN".
std::string FormatValue(double value);
// `name{l1="v1",...} value\n` appended to `out`; `extra_name`/`extra_value`
// add one more label (histograms' "le") when `extra_name` is non-empty.
void AppendSample(std::string* out, absl::string_view name,
                  const std::vector<std::string>& label_names,
                  const std::vector<std::string>& label_values,
                  absl::string_view extra_name, absl::string_view extra_value,
                  double value);

}  // namespace leadrelay::metrics

#endif  // LEADRELAY_SERVER_METRICS_EXPOSITION_H_
