#include "common/request_context.h"

#include "absl/strings/ascii.h"

namespace leadrelay {
namespace {
thread_local RequestContext* current = nullptr;
}  // namespace

RequestContext* CurrentRequest() { return current; }

ScopedRequest::ScopedRequest(RequestContext* context) : previous_(current) {
  current = context;
}

ScopedRequest::~ScopedRequest() { current = previous_; }

std::string SanitizeRequestId(absl::string_view raw) {
  if (raw.empty() || raw.size() > 64) return "";
  for (char c : raw) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' &&
        c != '_' && c != ':' && c != '-') {
      return "";
    }
  }
  return std::string(raw);
}

}  // namespace leadrelay
