#include "common/log.h"

#include <cstdio>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace leadrelay {
namespace {

void Write(const char* level, absl::string_view message) {
  std::string when = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(),
                                      absl::UTCTimeZone());
  std::fprintf(stderr, "%s %s %.*s\n", when.c_str(), level,
               static_cast<int>(message.size()), message.data());
}

}  // namespace

void LogInfo(absl::string_view message) { Write("INFO", message); }
void LogWarning(absl::string_view message) { Write("WARN", message); }
void LogError(absl::string_view message) { Write("ERROR", message); }

}  // namespace leadrelay
