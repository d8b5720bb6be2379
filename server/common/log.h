// Structured logging to stderr, one line per event: plain text by default,
// JSON with SetLogFormat(kJson). Lines written while a thread serves a
// request (common/request_context.h) carry its request id, method and
// account. Never pass secrets, API keys, contact details or payload bodies.
#ifndef LEADRELAY_SERVER_COMMON_LOG_H_
#define LEADRELAY_SERVER_COMMON_LOG_H_

#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace leadrelay {

enum class LogFormat { kText, kJson };
void SetLogFormat(LogFormat format);

void LogInfo(absl::string_view message);
void LogWarning(absl::string_view message);
void LogError(absl::string_view message);

// The fields of one line; empty strings and a negative duration are left out.
struct LogFields {
  std::string request_id;
  std::string method;
  std::string account_id;
  double duration_ms = -1;
  std::string code;
};

// One access-log line (level INFO, message "access").
void LogAccess(const LogFields& fields);

// The text of one line without the trailing newline (pure, for tests).
std::string FormatLogLine(LogFormat format, absl::Time when,
                          absl::string_view level, absl::string_view message,
                          const LogFields& fields);

}  // namespace leadrelay

#endif  // LEADRELAY_SERVER_COMMON_LOG_H_
