// The request a thread is serving: its id (X-Request-Id / x-request-id), the
// method and the caller's account. Log lines and database transactions of
// that thread pick it up; nothing here is a secret.
#ifndef LEADRELAY_SERVER_COMMON_REQUEST_CONTEXT_H_
#define LEADRELAY_SERVER_COMMON_REQUEST_CONTEXT_H_

#include <string>

#include "absl/strings/string_view.h"

namespace leadrelay {

struct RequestContext {
  std::string request_id;
  std::string method;
  std::string account_id;
};

// The calling thread's request, or null outside one.
RequestContext* CurrentRequest();

// Makes `context` the thread's request until destruction (restores the
// previous one).
class ScopedRequest {
 public:
  explicit ScopedRequest(RequestContext* context);
  ~ScopedRequest();
  ScopedRequest(const ScopedRequest&) = delete;
  ScopedRequest& operator=(const ScopedRequest&) = delete;

 private:
  RequestContext* previous_;
};

// A client-supplied request id made safe to log and store: at most 64
// characters of [A-Za-z0-9._:-]; anything else yields "".
std::string SanitizeRequestId(absl::string_view raw);

}  // namespace leadrelay

#endif  // LEADRELAY_SERVER_COMMON_REQUEST_CONTEXT_H_
