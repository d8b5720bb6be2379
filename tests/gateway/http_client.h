// A small blocking HTTP/1.1 client over a loopback socket, for the end-to-end
// tests: raw requests in, parsed (de-chunked) responses out.
#ifndef LEADRELAY_TESTS_GATEWAY_HTTP_CLIENT_H_
#define LEADRELAY_TESTS_GATEWAY_HTTP_CLIENT_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace leadrelay::gateway::testing {

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;                            // de-chunked
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

class HttpConnection {
 public:
  static std::unique_ptr<HttpConnection> Connect(int port);
  ~HttpConnection();

  bool Send(const std::string& raw);
  // Reads one complete response; nullopt on EOF, error or a 30 s stall.
  std::optional<HttpResponse> Read();
  // Reads the status line and headers only (a HEAD answer); what follows
  // stays buffered for the next read.
  std::optional<HttpResponse> ReadHead();
  // Reads until `needle` appears in the raw bytes received so far (which are
  // kept for Read). False on EOF or error.
  bool ReadUntil(const std::string& needle);
  // True when the peer has closed the connection (EOF on the next read).
  bool AtEof();
  void Close();

 private:
  explicit HttpConnection(int fd) : fd_(fd) {}
  bool Fill();
  bool Need(size_t n);
  std::optional<std::string> Line();

  int fd_;
  std::string buffer_;
};

// One request on a fresh connection.
HttpResponse Fetch(int port, const std::string& method,
                   const std::string& target, const std::string& body = "",
                   const std::vector<std::string>& headers = {});

// Waits until the REST gateway on `port` answers GET /openapi.json (a
// server's in-process gateway starts after its gRPC server): a bounded poll
// of a start-up, not synchronisation in a test. `running` tells whether the
// server is still up; `log` gives what the error should show of it.
absl::Status AwaitRestGateway(int port, int seconds,
                              const std::function<bool()>& running,
                              const std::function<std::string()>& log);

// The raw text of a request.
std::string RequestText(const std::string& method, const std::string& target,
                        const std::string& body = "",
                        const std::vector<std::string>& headers = {});

}  // namespace leadrelay::gateway::testing

#endif  // LEADRELAY_TESTS_GATEWAY_HTTP_CLIENT_H_
