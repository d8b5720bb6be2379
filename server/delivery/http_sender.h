// Sends webhook POSTs with libcurl's multi interface: many requests in
// flight on one thread, connections reused per endpoint, a total timeout,
// no redirects, a cap on requests in flight per endpoint, and a check of the
// address actually connected to (no DNS-rebinding gap). The thread waits in
// epoll and hands libcurl only the sockets that are ready (its socket API):
// curl_multi_perform visits every transfer on each call, which with hundreds
// in flight cost more than the requests themselves.
#ifndef LEADRELAY_SERVER_DELIVERY_HTTP_SENDER_H_
#define LEADRELAY_SERVER_DELIVERY_HTTP_SENDER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace leadrelay::delivery {

struct HttpRequest {
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Requests with the same key share the per-endpoint in-flight cap.
  std::string endpoint_key;
  // Skip the address check (allow-listed development hosts).
  bool allow_private_addresses = false;
};

struct HttpResult {
  int http_status = 0;         // 0 when no response arrived
  bool network_error = false;  // DNS, refused, TLS, timeout, blocked address
  std::string error;           // human-readable, empty on a response
  std::string response_excerpt;
  std::optional<std::string> retry_after;
  absl::Duration elapsed;
};

struct HttpSenderOptions {
  absl::Duration timeout = absl::Seconds(10);
  int max_in_flight_per_endpoint = 16;
  // Idle connections kept for reuse. Below the number of requests in flight,
  // every request past it opens a connection and closes it after the reply.
  int max_connections = 512;
  size_t response_excerpt_bytes = 4096;
};

class HttpSender {
 public:
  using Callback = std::function<void(HttpResult)>;

  explicit HttpSender(HttpSenderOptions options);
  ~HttpSender();  // fails what is still queued or in flight, then joins
  HttpSender(const HttpSender&) = delete;
  HttpSender& operator=(const HttpSender&) = delete;

  // Thread-safe. `done` runs on the sender's thread: keep it short.
  void Send(HttpRequest request, Callback done);

  struct Transfer;  // one request; opaque, public for libcurl's callbacks

 private:
  void Loop();
  void WakeLoop();  // from any thread
  void StartTransfer(std::unique_ptr<Transfer> transfer);
  void StartQueued(const std::string& endpoint_key);
  void FinishDone();
  void Finish(Transfer* transfer, int curl_code);
  // libcurl's socket and timer callbacks (CURLMOPT_SOCKETFUNCTION,
  // CURLMOPT_TIMERFUNCTION).
  static int OnSocket(void* easy, int fd, int what, void* sender,
                      void* socket_data);
  static int OnTimer(void* multi, long timeout_ms, void* sender);
  // CURLOPT_CLOSESOCKETFUNCTION: the end of a connection's socket.
  static int OnCloseSocket(void* sender, int fd);
  // An event on a kept-alive connection that no transfer is using (the peer
  // closed it): leaves epoll; true when `fd` was such a socket.
  bool DropIdleSocket(int fd);

  // A socket's registration in epoll_fd_.
  struct Watched {
    uint32_t events = 0;
    bool wanted = false;  // by libcurl, for a transfer
  };

  HttpSenderOptions options_;
  void* multi_;  // CURLM*
  int epoll_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: Send and the destructor wake the loop
  absl::Mutex mu_;
  std::vector<std::unique_ptr<Transfer>> incoming_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Loop thread only.
  std::optional<absl::Time> timer_;  // when libcurl wants its timeout call
  std::set<Transfer*> active_;
  std::map<std::string, int> active_per_endpoint_;
  std::map<std::string, std::deque<std::unique_ptr<Transfer>>> waiting_;
  absl::flat_hash_map<int, Watched> watched_;
  // Sockets of connections (libcurl opened them through OnOpenSocket and
  // closes them through OnCloseSocket). They stay in epoll between requests,
  // so a kept-alive connection's request costs no epoll_ctl.
  absl::flat_hash_set<int> connection_sockets_;
  std::thread thread_;
};

}  // namespace leadrelay::delivery

#endif  // LEADRELAY_SERVER_DELIVERY_HTTP_SENDER_H_
