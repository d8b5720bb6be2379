// A tiny HTTP/1.1 server for operators: a few exact GET paths (/metrics,
// /healthz, /readyz) on their own address (--admin_address), for when the
// public REST port is off or must not expose them. One I/O thread; each
// connection answers its requests in turn; no TLS, no keys: bind it to a
// private address.
#ifndef LEADRELAY_SERVER_OPS_ADMIN_SERVER_H_
#define LEADRELAY_SERVER_OPS_ADMIN_SERVER_H_

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace leadrelay::ops {

struct PlainResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

// Exact path (no query) -> handler. Handlers run on the I/O thread.
using PlainRoutes = std::map<std::string, std::function<PlainResponse()>>;

class AdminServer {
 public:
  virtual ~AdminServer() = default;
  virtual int port() const = 0;
  // Stops accepting, closes connections and joins the thread. Idempotent.
  virtual void Shutdown() = 0;
};

// Listens on `address` ("host:port"; port 0 picks one).
absl::StatusOr<std::unique_ptr<AdminServer>> StartAdminServer(
    const std::string& address, PlainRoutes routes);

}  // namespace leadrelay::ops

#endif  // LEADRELAY_SERVER_OPS_ADMIN_SERVER_H_
