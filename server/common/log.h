// Minimal structured logging to stderr. Never pass secrets or API keys.
#ifndef LEADRELAY_SERVER_COMMON_LOG_H_
#define LEADRELAY_SERVER_COMMON_LOG_H_

#include "absl/strings/string_view.h"

namespace leadrelay {

void LogInfo(absl::string_view message);
void LogWarning(absl::string_view message);
void LogError(absl::string_view message);

}  // namespace leadrelay

#endif  // LEADRELAY_SERVER_COMMON_LOG_H_
