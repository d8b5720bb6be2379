// Fuzzes google.api.http path templates: parsing, request-path splitting,
// matching under every unescape spec, specificity and percent-decoding.
// Input: a template on the first line, request paths on the following lines.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "gateway/gateway.h"
#include "gateway/path_template.h"

namespace {

using leadrelay::gateway::CompareSpecificity;
using leadrelay::gateway::MatchPathTemplate;
using leadrelay::gateway::ParsePathTemplate;
using leadrelay::gateway::PathTemplate;
using leadrelay::gateway::SplitRequestPath;
using leadrelay::gateway::UnescapeMode;
using leadrelay::gateway::UrlUnescape;
using leadrelay::gateway::UrlUnescapeSpec;

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<absl::string_view> lines = absl::StrSplit(input, '\n');
  auto tmpl = ParsePathTemplate(lines[0]);

  for (size_t i = 1; i < lines.size(); ++i) {
    absl::string_view path = lines[i];
    // Decoding never grows the text, and plain decoding of text without
    // '%' or '+' is the identity.
    for (UnescapeMode mode : {UnescapeMode::kAll, UnescapeMode::kAllExceptSlash,
                              UnescapeMode::kAllExceptReserved}) {
      for (bool plus : {false, true}) {
        Check(UrlUnescape(path, mode, plus).size() <= path.size());
      }
    }
    if (path.find_first_of("%+") == absl::string_view::npos) {
      Check(UrlUnescape(path, UnescapeMode::kAll, true) == path);
    }
    if (!tmpl.ok()) continue;
    for (bool unregistered : {false, true}) {
      auto split = SplitRequestPath(path, {tmpl->verb}, unregistered);
      for (UrlUnescapeSpec spec :
           {UrlUnescapeSpec::kAllCharacters,
            UrlUnescapeSpec::kAllCharactersExceptSlash,
            UrlUnescapeSpec::kAllCharactersExceptReserved}) {
        auto bindings = MatchPathTemplate(*tmpl, split, spec);
        if (bindings) Check(bindings->size() == tmpl->variables.size());
      }
    }
    // A second template (when the line parses as one) orders consistently.
    if (auto other = ParsePathTemplate(path); other.ok()) {
      Check(CompareSpecificity(*tmpl, *other) ==
            -CompareSpecificity(*other, *tmpl));
    }
  }
  if (tmpl.ok()) {
    Check(CompareSpecificity(*tmpl, *tmpl) == 0);
    for (const PathTemplate::Variable& v : tmpl->variables) {
      Check(0 <= v.start && v.start <= v.end &&
            v.end <= static_cast<int>(tmpl->segments.size()));
      Check(!v.field_path.empty());
    }
  }
  return 0;
}
