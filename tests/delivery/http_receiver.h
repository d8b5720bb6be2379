// A small HTTP/1.1 server on 127.0.0.1 that plays a webhook endpoint in the
// delivery tests. It records every request (method, path, lower-cased
// headers, raw body, arrival time) and answers as the test scripts it:
// status, headers, body, a delay, or closing the connection without an
// answer. Connections are kept alive (libcurl reuses them); each has its own
// thread. Tests wait on conditions with a bounded timeout, never by sleeping.

#ifndef LEADRELAY_TESTS_DELIVERY_HTTP_RECEIVER_H_
#define LEADRELAY_TESTS_DELIVERY_HTTP_RECEIVER_H_

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace leadrelay::dtest {

struct ReceivedRequest {
  std::string method;
  std::string path;
  // Header names lower-cased; a repeated header keeps its last value.
  std::map<std::string, std::string> headers;
  std::string body;
  absl::Time arrived;
  int connection = 0;  // which TCP connection carried it (1-based)

  // The header's value, or "" when absent.
  std::string Header(const std::string& lower_name) const;
};

// How the receiver answers one request.
struct Reply {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body = "ok";
  // Waited before answering (the endpoint is slow).
  absl::Duration delay = absl::ZeroDuration();
  // Close the connection without writing anything.
  bool close_without_answer = false;
  // Answer, then close the connection without announcing it (no
  // "Connection: close"), as an endpoint's idle timeout does.
  bool close_after_answer = false;

  static Reply Status(int status) {
    Reply r;
    r.status = status;
    return r;
  }
};

class HttpReceiver {
 public:
  using Responder = std::function<Reply(const ReceivedRequest&)>;

  // Listens on 127.0.0.1 on a port the kernel picks.
  static absl::StatusOr<std::unique_ptr<HttpReceiver>> Start();

  HttpReceiver(const HttpReceiver&) = delete;
  HttpReceiver& operator=(const HttpReceiver&) = delete;
  // Closes every connection and joins every thread.
  ~HttpReceiver();

  int port() const { return port_; }
  // "http://127.0.0.1:<port><path>".
  std::string Url(const std::string& path = "/hook") const;

  // Replies used in order, one per request; the default reply (200 "ok", or
  // what SetDefault set) once they run out. Replaces any earlier script.
  void Script(std::vector<Reply> replies);
  void SetDefault(Reply reply);
  // Computes every reply from the request; overrides Script and SetDefault.
  void SetResponder(Responder responder);

  std::vector<ReceivedRequest> Requests() const;
  size_t RequestCount() const;

  // Waits (bounded) until at least `n` requests have arrived.
  bool WaitForRequests(size_t n, absl::Duration timeout) const;
  // Waits (bounded) until `done(requests)` holds.
  bool WaitUntil(
      const std::function<bool(const std::vector<ReceivedRequest>&)>& done,
      absl::Duration timeout) const;

  // Delivery ids (X-LeadRelay-Delivery) that were ever being answered on two
  // requests at once, with how many overlapped at most.
  std::map<std::string, int> OverlappingDeliveries() const;
  // Connections accepted so far.
  int ConnectionCount() const;
  // Waits (bounded) until the receiver has closed `n` connections.
  bool WaitForClosedConnections(int n, absl::Duration timeout) const;

 private:
  HttpReceiver() = default;
  void AcceptLoop();
  void Serve(int fd, int connection);
  // Reads, records and answers one request; false when the connection ends.
  bool HandleOne(int fd, int connection, std::string* buffer);
  Reply NextReply(const ReceivedRequest& request);
  // Waits `delay` unless the receiver stops first; false when stopping.
  bool Pause(absl::Duration delay);

  int listen_fd_ = -1;
  int port_ = 0;
  std::thread acceptor_;

  mutable std::mutex mu_;
  mutable std::condition_variable changed_;
  bool stopping_ = false;
  std::vector<ReceivedRequest> requests_;
  std::deque<Reply> script_;
  Reply default_reply_;
  Responder responder_;
  std::set<int> open_fds_;
  std::vector<std::thread> connection_threads_;
  int connections_ = 0;
  int closed_connections_ = 0;
  std::map<std::string, int> in_flight_by_delivery_;
  std::map<std::string, int> overlaps_;
};

}  // namespace leadrelay::dtest

#endif  // LEADRELAY_TESTS_DELIVERY_HTTP_RECEIVER_H_
