// POSTs a body with headers to one local URL (libcurl, connection reused).
// Used by `leadrelay listen`; not thread-safe (one forwarder per thread).
#ifndef LEADRELAY_CLIENT_CLI_HTTP_FORWARDER_H_
#define LEADRELAY_CLIENT_CLI_HTTP_FORWARDER_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"

namespace leadrelay::cli {

struct ForwardResult {
  int http_status = 0;  // 0 when no response came back
  std::string error;    // why, when http_status is 0
  absl::Duration latency;
};

class HttpForwarder {
 public:
  HttpForwarder(std::string url, absl::Duration timeout);
  ~HttpForwarder();
  HttpForwarder(const HttpForwarder&) = delete;
  HttpForwarder& operator=(const HttpForwarder&) = delete;

  ForwardResult Post(
      const std::vector<std::pair<std::string, std::string>>& headers,
      const std::string& body);

 private:
  std::string url_;
  absl::Duration timeout_;
  void* curl_;  // CURL*
};

}  // namespace leadrelay::cli

#endif  // LEADRELAY_CLIENT_CLI_HTTP_FORWARDER_H_
