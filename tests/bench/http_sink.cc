#include "bench/http_sink.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"

namespace leadrelay::bench {
namespace {

constexpr absl::string_view kOk =
    "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";

// The value of header `lower_name` in `head` (the lines after the request
// line), or "" when absent.
absl::string_view HeaderValue(absl::string_view head,
                              absl::string_view lower_name) {
  while (!head.empty()) {
    size_t end = head.find("\r\n");
    absl::string_view line = head.substr(0, end);
    head = end == absl::string_view::npos ? "" : head.substr(end + 2);
    size_t colon = line.find(':');
    if (colon != absl::string_view::npos &&
        absl::EqualsIgnoreCase(line.substr(0, colon), lower_name)) {
      return absl::StripAsciiWhitespace(line.substr(colon + 1));
    }
  }
  return "";
}

std::string JsonString(absl::string_view body, absl::string_view name) {
  std::string key = absl::StrCat("\"", name, "\":\"");
  size_t at = body.find(key);
  if (at == absl::string_view::npos) return "";
  at += key.size();
  size_t end = body.find('"', at);
  if (end == absl::string_view::npos) return "";
  return std::string(body.substr(at, end - at));
}

}  // namespace

struct HttpSink::Connection {
  int fd = -1;
  uint64_t number = 0;  // accept order: tells a reused fd apart
  std::string in;
  std::string out;  // answers the socket did not take yet
};

absl::StatusOr<std::unique_ptr<HttpSink>> HttpSink::Start(
    absl::Duration delay) {
  std::unique_ptr<HttpSink> sink(new HttpSink());
  sink->delay_ = delay;
  sink->listen_fd_ =
      socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sink->epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  sink->stop_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (sink->listen_fd_ < 0 || sink->epoll_fd_ < 0 || sink->stop_fd_ < 0) {
    return absl::InternalError(absl::StrCat("sink: ", std::strerror(errno)));
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(sink->listen_fd_, reinterpret_cast<sockaddr*>(&address),
           sizeof(address)) != 0 ||
      listen(sink->listen_fd_, 1024) != 0) {
    return absl::InternalError(
        absl::StrCat("sink bind/listen: ", std::strerror(errno)));
  }
  socklen_t length = sizeof(address);
  getsockname(sink->listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
  sink->port_ = ntohs(address.sin_port);
  for (int fd : {sink->listen_fd_, sink->stop_fd_}) {
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.fd = fd;
    epoll_ctl(sink->epoll_fd_, EPOLL_CTL_ADD, fd, &event);
  }
  HttpSink* raw = sink.get();
  sink->thread_ = std::thread([raw] { raw->Loop(); });
  return sink;
}

HttpSink::~HttpSink() {
  if (thread_.joinable()) {
    uint64_t one = 1;
    // An eventfd write only fails when its counter would overflow, and then
    // the loop is woken already.
    [[maybe_unused]] ssize_t written = write(stop_fd_, &one, sizeof(one));
    thread_.join();
  }
  for (int fd : {listen_fd_, epoll_fd_, stop_fd_}) {
    if (fd >= 0) close(fd);
  }
}

std::string HttpSink::Url(const std::string& path) const {
  return absl::StrCat("http://127.0.0.1:", port_, path);
}

bool HttpSink::WaitForArrivals(size_t n, absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return arrived_.wait_for(lock, absl::ToChronoMilliseconds(timeout),
                           [&] { return arrivals_.size() >= n; });
}

std::vector<Arrival> HttpSink::Arrivals() const {
  std::lock_guard<std::mutex> lock(mu_);
  return arrivals_;
}

bool HttpSink::Serve(Connection& c) {
  std::vector<Arrival> batch;
  size_t used = 0;
  for (;;) {
    absl::string_view rest = absl::string_view(c.in).substr(used);
    size_t head_end = rest.find("\r\n\r\n");
    if (head_end == absl::string_view::npos) break;
    absl::string_view head = rest.substr(0, head_end);
    size_t first_line = head.find("\r\n");
    absl::string_view headers = first_line == absl::string_view::npos
                                    ? ""
                                    : head.substr(first_line + 2);
    size_t body_length = 0;
    absl::string_view length_text = HeaderValue(headers, "content-length");
    if (!length_text.empty() && !absl::SimpleAtoi(length_text, &body_length)) {
      return false;  // chunked or garbage: not what the dispatcher sends
    }
    if (rest.size() < head_end + 4 + body_length) break;  // body incomplete
    absl::string_view body = rest.substr(head_end + 4, body_length);
    absl::Time now = absl::Now();
    batch.push_back({now,
                     std::string(HeaderValue(headers, "x-leadrelay-delivery")),
                     JsonString(body, "event_id")});
    if (delay_ > absl::ZeroDuration()) {
      due_.push_back({now + delay_, c.fd, c.number});
    } else {
      c.out.append(kOk.data(), kOk.size());
    }
    used += head_end + 4 + body_length;
  }
  c.in.erase(0, used);
  if (!Flush(c)) return false;
  if (!batch.empty()) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (Arrival& a : batch) arrivals_.push_back(std::move(a));
    }
    arrived_.notify_all();
  }
  return true;
}

bool HttpSink::Flush(Connection& c) {
  while (!c.out.empty()) {
    ssize_t n = send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n <= 0) return false;
    c.out.erase(0, static_cast<size_t>(n));
  }
  return true;
}

void HttpSink::Loop() {
  std::map<int, Connection> connections;
  auto drop = [&](int fd) {
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    close(fd);
    connections.erase(fd);
  };
  epoll_event events[256];
  char chunk[65536];
  uint64_t accepted_count = 0;
  for (;;) {
    // Answers whose delay is over.
    absl::Time now = absl::Now();
    while (!due_.empty() && due_.front().at <= now) {
      Due d = due_.front();
      due_.pop_front();
      auto it = connections.find(d.fd);
      if (it == connections.end() || it->second.number != d.connection) {
        continue;  // the connection closed meanwhile
      }
      it->second.out.append(kOk.data(), kOk.size());
      if (!Flush(it->second)) drop(d.fd);
    }
    int timeout_ms = -1;
    if (!due_.empty()) {
      timeout_ms = static_cast<int>(absl::ToInt64Milliseconds(
          due_.front().at - now + absl::Microseconds(999)));
    }
    int n = epoll_wait(epoll_fd_, events, 256, timeout_ms);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return;
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == stop_fd_) {
        for (auto& [open_fd, unused] : connections) close(open_fd);
        return;
      }
      if (fd == listen_fd_) {
        for (;;) {
          int accepted = accept4(listen_fd_, nullptr, nullptr,
                                 SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (accepted < 0) break;
          int one = 1;
          setsockopt(accepted, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
          epoll_event event{};
          // Edge-triggered: each wake-up reads until EAGAIN.
          event.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
          event.data.fd = accepted;
          epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, accepted, &event);
          connections[accepted].fd = accepted;
          connections[accepted].number = ++accepted_count;
        }
        continue;
      }
      auto it = connections.find(fd);
      if (it == connections.end()) continue;
      Connection& c = it->second;
      bool open = true;
      for (;;) {
        ssize_t got = recv(fd, chunk, sizeof(chunk), 0);
        if (got > 0) {
          c.in.append(chunk, static_cast<size_t>(got));
          continue;
        }
        if (got < 0 && errno == EINTR) continue;
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        open = false;  // EOF or error: answer what arrived, then close
        break;
      }
      if (!Serve(c) || !open) drop(fd);
    }
  }
}

}  // namespace leadrelay::bench
