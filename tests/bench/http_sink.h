// A webhook endpoint for benchmarks: one epoll thread reads every request on
// keep-alive connections, answers each 200 with an empty body, and keeps
// only what the delivery bench reads (arrival time, delivery id, event id).
// tests/delivery's HttpReceiver, built for tests (scripted replies, a thread
// per connection, every request kept whole), cost ~115 us of CPU per
// delivery: a third of a 2-core box during a drain, taken from the
// dispatcher and PostgreSQL it was meant to measure.
#ifndef LEADRELAY_TESTS_BENCH_HTTP_SINK_H_
#define LEADRELAY_TESTS_BENCH_HTTP_SINK_H_

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace leadrelay::bench {

struct Arrival {
  absl::Time at;
  std::string delivery_id;  // X-Leadrelay-Delivery
  std::string event_id;     // "event_id" of the JSON body
};

class HttpSink {
 public:
  // Listens on 127.0.0.1, a free port. With a `delay`, each answer leaves
  // that long after its request arrived, as from an endpoint that does
  // some work (an n8n workflow, a CRM write) before it answers.
  static absl::StatusOr<std::unique_ptr<HttpSink>> Start(
      absl::Duration delay = absl::ZeroDuration());
  ~HttpSink();
  HttpSink(const HttpSink&) = delete;
  HttpSink& operator=(const HttpSink&) = delete;

  std::string Url(const std::string& path) const;
  // True once `n` requests arrived; false after `timeout`.
  bool WaitForArrivals(size_t n, absl::Duration timeout);
  std::vector<Arrival> Arrivals() const;

 private:
  struct Connection;
  HttpSink() = default;
  void Loop();
  // Answers the complete requests at the front of `c`'s input; false when
  // the connection is to be closed.
  bool Serve(Connection& c);
  // Sends what `c` has to send; false when the connection broke.
  bool Flush(Connection& c);

  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  int stop_fd_ = -1;  // eventfd
  int port_ = 0;
  absl::Duration delay_;
  // Delayed answers, oldest first (one delay for all): when, and to which
  // connection (fd and the number it was accepted as).
  struct Due {
    absl::Time at;
    int fd;
    uint64_t connection;
  };
  std::deque<Due> due_;  // loop thread only
  std::thread thread_;

  mutable std::mutex mu_;
  std::condition_variable arrived_;
  std::vector<Arrival> arrivals_;  // guarded by mu_
};

}  // namespace leadrelay::bench

#endif  // LEADRELAY_TESTS_BENCH_HTTP_SINK_H_
