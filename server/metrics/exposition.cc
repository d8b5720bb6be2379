#include "metrics/exposition.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace leadrelay::metrics {

std::string EscapeHelp(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string EscapeLabelValue(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    return absl::StrCat(static_cast<int64_t>(value));
  }
  // The shortest text that reads back as the same double.
  char buffer[32];
  for (int precision = 15; precision <= 17; ++precision) {
    std::snprintf(buffer, sizeof(buffer), "%.*g", precision, value);
    if (std::strtod(buffer, nullptr) == value) break;
  }
  return buffer;
}

void AppendSample(std::string* out, absl::string_view name,
                  const std::vector<std::string>& label_names,
                  const std::vector<std::string>& label_values,
                  absl::string_view extra_name, absl::string_view extra_value,
                  double value) {
  absl::StrAppend(out, name);
  const bool any = !label_names.empty() || !extra_name.empty();
  if (any) out->push_back('{');
  bool first = true;
  for (size_t i = 0; i < label_names.size() && i < label_values.size(); ++i) {
    absl::StrAppend(out, first ? "" : ",", label_names[i], "=\"",
                    EscapeLabelValue(label_values[i]), "\"");
    first = false;
  }
  if (!extra_name.empty()) {
    absl::StrAppend(out, first ? "" : ",", extra_name, "=\"",
                    EscapeLabelValue(extra_value), "\"");
  }
  if (any) out->push_back('}');
  absl::StrAppend(out, " ", FormatValue(value), "\n");
}

}  // namespace leadrelay::metrics
