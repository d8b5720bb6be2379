#include "ops/metrics_text.h"

#include <fstream>
#include <limits>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "support/process.h"

namespace leadrelay::otest {

absl::StatusOr<ParsedMetrics> ParseMetricsText(const std::string& text) {
  absl::StatusOr<std::unique_ptr<itest::TempDir>> dir =
      itest::TempDir::Create();
  if (!dir.ok()) return dir.status();
  const std::string input = (*dir)->path() + "/metrics.txt";
  const std::string errors = (*dir)->path() + "/parser.err";
  {
    std::ofstream out(input, std::ios::binary);
    out << text;
  }
  absl::StatusOr<std::string> output = itest::RunToCompletion(
      {"/bin/sh", "-c",
       absl::StrCat("/usr/bin/python3 '", LR_OPS_TEST_DIR,
                    "/parse_metrics.py' < '", input, "'")},
      errors, 60);
  if (!output.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        output.status().message(), ": ", itest::FileTail(errors, 10)));
  }
  ParsedMetrics parsed;
  for (absl::string_view line : absl::StrSplit(*output, '\n')) {
    if (line.empty()) continue;
    if (absl::ConsumePrefix(&line, "# family ")) {
      std::vector<std::string> parts = absl::StrSplit(line, ' ');
      if (parts.size() == 2) parsed.types[parts[0]] = parts[1];
      continue;
    }
    size_t space = line.rfind(' ');
    double value = 0;
    std::string number(line.substr(space + 1));
    if (number == "inf") {
      value = std::numeric_limits<double>::infinity();
    } else if (!absl::SimpleAtod(number, &value)) {
      return absl::InternalError(absl::StrCat("unexpected line: ", line));
    }
    parsed.samples[std::string(line.substr(0, space))] = value;
  }
  return parsed;
}

}  // namespace leadrelay::otest
