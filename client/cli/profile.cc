#include "profile.h"

#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace leadrelay::cli {

absl::StatusOr<Profiles> ParseProfiles(absl::string_view text) {
  Profiles profiles;
  std::string section = "default";
  int number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    if (line.front() == '[') {
      if (line.back() != ']' || line.size() < 3) {
        return absl::InvalidArgumentError(
            absl::StrCat("line ", number, ": a section is written [name]"));
      }
      section = std::string(
          absl::StripAsciiWhitespace(line.substr(1, line.size() - 2)));
      profiles[section];
      continue;
    }
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(line, absl::MaxSplits('=', 1));
    absl::string_view key = absl::StripAsciiWhitespace(kv.first);
    if (key.empty() || line.find('=') == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", number, ": expected key = value"));
    }
    profiles[section][std::string(key)] =
        std::string(absl::StripAsciiWhitespace(kv.second));
  }
  return profiles;
}

std::string DefaultConfigPath() {
  if (const char* path = std::getenv("LEADRELAY_CONFIG"); path && *path) {
    return path;
  }
  const char* home = std::getenv("HOME");
  return absl::StrCat(home ? home : ".", "/.config/leadrelay/config.ini");
}

}  // namespace leadrelay::cli
