#include "common/log.h"

#include <atomic>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/request_context.h"

namespace leadrelay {
namespace {

std::atomic<LogFormat> g_format{LogFormat::kText};

void AppendJsonString(std::string* out, absl::string_view text) {
  out->push_back('"');
  for (unsigned char c : text) {
    switch (c) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\r':
        *out += "\\r";
        break;
      case '\t':
        *out += "\\t";
        break;
      default:
        if (c < 0x20) {
          absl::StrAppendFormat(out, "\\u%04x", c);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

void Write(absl::string_view level, absl::string_view message,
           LogFields fields) {
  if (const RequestContext* request = CurrentRequest()) {
    if (fields.request_id.empty()) fields.request_id = request->request_id;
    if (fields.method.empty()) fields.method = request->method;
    if (fields.account_id.empty()) fields.account_id = request->account_id;
  }
  std::string line = FormatLogLine(g_format.load(std::memory_order_relaxed),
                                   absl::Now(), level, message, fields);
  line.push_back('\n');
  // One fwrite per line: lines of concurrent threads do not interleave.
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace

void SetLogFormat(LogFormat format) { g_format.store(format); }

std::string FormatLogLine(LogFormat format, absl::Time when,
                          absl::string_view level, absl::string_view message,
                          const LogFields& fields) {
  std::string time =
      absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", when, absl::UTCTimeZone());
  std::string out;
  if (format == LogFormat::kJson) {
    absl::StrAppend(&out, "{\"timestamp\":\"", time, "\",\"level\":\"", level,
                    "\",\"message\":");
    AppendJsonString(&out, message);
    auto field = [&](absl::string_view name, absl::string_view value) {
      if (value.empty()) return;
      absl::StrAppend(&out, ",\"", name, "\":");
      AppendJsonString(&out, value);
    };
    field("request_id", fields.request_id);
    field("method", fields.method);
    field("account_id", fields.account_id);
    if (fields.duration_ms >= 0) {
      absl::StrAppendFormat(&out, ",\"duration_ms\":%.3f", fields.duration_ms);
    }
    field("code", fields.code);
    out.push_back('}');
    return out;
  }
  absl::StrAppend(&out, time, " ", level, " ", message);
  auto field = [&](absl::string_view name, absl::string_view value) {
    if (!value.empty()) absl::StrAppend(&out, " ", name, "=", value);
  };
  field("request_id", fields.request_id);
  field("method", fields.method);
  field("account_id", fields.account_id);
  if (fields.duration_ms >= 0) {
    absl::StrAppendFormat(&out, " duration_ms=%.3f", fields.duration_ms);
  }
  field("code", fields.code);
  return out;
}

void LogInfo(absl::string_view message) { Write("INFO", message, {}); }
void LogWarning(absl::string_view message) { Write("WARN", message, {}); }
void LogError(absl::string_view message) { Write("ERROR", message, {}); }
void LogAccess(const LogFields& fields) { Write("INFO", "access", fields); }

}  // namespace leadrelay
