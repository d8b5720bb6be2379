#include "delivery/http_receiver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"

namespace leadrelay::dtest {
namespace {

const char* ReasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 410:
      return "Gone";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

bool SendAll(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

// Reads more bytes into `buffer`; false on EOF or error.
bool ReadMore(int fd, std::string* buffer) {
  char chunk[16384];
  for (;;) {
    ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    buffer->append(chunk, static_cast<size_t>(n));
    return true;
  }
}

// Ensures `buffer` holds at least `size` bytes.
bool ReadAtLeast(int fd, std::string* buffer, size_t size) {
  while (buffer->size() < size) {
    if (!ReadMore(fd, buffer)) return false;
  }
  return true;
}

// Decodes a chunked body from the front of `buffer` (reading as needed).
std::optional<std::string> ReadChunked(int fd, std::string* buffer) {
  std::string body;
  for (;;) {
    size_t eol;
    while ((eol = buffer->find("\r\n")) == std::string::npos) {
      if (!ReadMore(fd, buffer)) return std::nullopt;
    }
    std::string size_text = buffer->substr(0, eol);
    size_t semicolon = size_text.find(';');
    if (semicolon != std::string::npos) size_text.resize(semicolon);
    size_t size = 0;
    if (!absl::SimpleHexAtoi(absl::StripAsciiWhitespace(size_text), &size)) {
      return std::nullopt;
    }
    buffer->erase(0, eol + 2);
    if (size == 0) {
      // Trailers end with an empty line.
      size_t end;
      while ((end = buffer->find("\r\n")) == std::string::npos) {
        if (!ReadMore(fd, buffer)) return std::nullopt;
      }
      buffer->erase(0, end + 2);
      return body;
    }
    if (!ReadAtLeast(fd, buffer, size + 2)) return std::nullopt;
    body.append(*buffer, 0, size);
    buffer->erase(0, size + 2);
  }
}

}  // namespace

std::string ReceivedRequest::Header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? "" : it->second;
}

absl::StatusOr<std::unique_ptr<HttpReceiver>> HttpReceiver::Start() {
  std::unique_ptr<HttpReceiver> receiver(new HttpReceiver());
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError("socket() failed");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      listen(fd, 512) != 0) {
    close(fd);
    return absl::InternalError(
        absl::StrCat("bind/listen failed: ", std::strerror(errno)));
  }
  socklen_t length = sizeof(address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  receiver->listen_fd_ = fd;
  receiver->port_ = ntohs(address.sin_port);
  HttpReceiver* raw = receiver.get();
  receiver->acceptor_ = std::thread([raw] { raw->AcceptLoop(); });
  return receiver;
}

HttpReceiver::~HttpReceiver() {
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    for (int fd : open_fds_) shutdown(fd, SHUT_RDWR);
  }
  changed_.notify_all();
  shutdown(listen_fd_, SHUT_RDWR);
  acceptor_.join();
  close(listen_fd_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    threads.swap(connection_threads_);
  }
  for (std::thread& t : threads) t.join();
}

std::string HttpReceiver::Url(const std::string& path) const {
  return absl::StrCat("http://127.0.0.1:", port_, path);
}

void HttpReceiver::Script(std::vector<Reply> replies) {
  std::lock_guard<std::mutex> lock(mu_);
  script_.assign(replies.begin(), replies.end());
}

void HttpReceiver::SetDefault(Reply reply) {
  std::lock_guard<std::mutex> lock(mu_);
  default_reply_ = std::move(reply);
}

void HttpReceiver::SetResponder(Responder responder) {
  std::lock_guard<std::mutex> lock(mu_);
  responder_ = std::move(responder);
}

std::vector<ReceivedRequest> HttpReceiver::Requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

size_t HttpReceiver::RequestCount() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_.size();
}

bool HttpReceiver::WaitForRequests(size_t n, absl::Duration timeout) const {
  return WaitUntil(
      [n](const std::vector<ReceivedRequest>& r) { return r.size() >= n; },
      timeout);
}

bool HttpReceiver::WaitUntil(
    const std::function<bool(const std::vector<ReceivedRequest>&)>& done,
    absl::Duration timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return changed_.wait_for(lock, absl::ToChronoMilliseconds(timeout),
                           [&] { return done(requests_); });
}

std::map<std::string, int> HttpReceiver::OverlappingDeliveries() const {
  std::lock_guard<std::mutex> lock(mu_);
  return overlaps_;
}

int HttpReceiver::ConnectionCount() const {
  std::lock_guard<std::mutex> lock(mu_);
  return connections_;
}

bool HttpReceiver::WaitForClosedConnections(int n,
                                            absl::Duration timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return changed_.wait_for(lock, absl::ToChronoMilliseconds(timeout),
                           [&] { return closed_connections_ >= n; });
}

void HttpReceiver::AcceptLoop() {
  for (;;) {
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;  // shut down
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) {
      close(fd);
      return;
    }
    open_fds_.insert(fd);
    int connection = ++connections_;
    connection_threads_.emplace_back(
        [this, fd, connection] { Serve(fd, connection); });
  }
}

Reply HttpReceiver::NextReply(const ReceivedRequest& request) {
  Responder responder;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!responder_) {
      if (script_.empty()) return default_reply_;
      Reply reply = std::move(script_.front());
      script_.pop_front();
      return reply;
    }
    responder = responder_;
  }
  return responder(request);
}

bool HttpReceiver::Pause(absl::Duration delay) {
  std::unique_lock<std::mutex> lock(mu_);
  changed_.wait_for(lock, absl::ToChronoMilliseconds(delay),
                    [this] { return stopping_; });
  return !stopping_;
}

void HttpReceiver::Serve(int fd, int connection) {
  std::string buffer;
  while (HandleOne(fd, connection, &buffer)) {
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    open_fds_.erase(fd);
  }
  close(fd);
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++closed_connections_;
  }
  changed_.notify_all();
}

bool HttpReceiver::HandleOne(int fd, int connection, std::string* buffer) {
  size_t header_end;
  while ((header_end = buffer->find("\r\n\r\n")) == std::string::npos) {
    if (!ReadMore(fd, buffer)) return false;
  }
  ReceivedRequest request;
  request.connection = connection;
  std::vector<std::string> lines =
      absl::StrSplit(buffer->substr(0, header_end), "\r\n");
  buffer->erase(0, header_end + 4);
  std::vector<std::string> first = absl::StrSplit(lines[0], ' ');
  if (first.size() < 2) return false;
  request.method = first[0];
  request.path = first[1];
  for (size_t i = 1; i < lines.size(); ++i) {
    size_t colon = lines[i].find(':');
    if (colon == std::string::npos) continue;
    request.headers[absl::AsciiStrToLower(lines[i].substr(0, colon))] =
        std::string(absl::StripAsciiWhitespace(
            absl::string_view(lines[i]).substr(colon + 1)));
  }
  if (absl::AsciiStrToLower(request.Header("transfer-encoding")) == "chunked") {
    std::optional<std::string> body = ReadChunked(fd, buffer);
    if (!body.has_value()) return false;
    request.body = *std::move(body);
  } else {
    size_t length = 0;
    std::string text = request.Header("content-length");
    if (!text.empty() && !absl::SimpleAtoi(text, &length)) return false;
    if (!ReadAtLeast(fd, buffer, length)) return false;
    request.body = buffer->substr(0, length);
    buffer->erase(0, length);
  }
  request.arrived = absl::Now();
  const std::string delivery = request.Header("x-leadrelay-delivery");
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!delivery.empty()) {
      int now_in_flight = ++in_flight_by_delivery_[delivery];
      if (now_in_flight > 1) {
        int& worst = overlaps_[delivery];
        worst = std::max(worst, now_in_flight);
      }
    }
    requests_.push_back(request);
  }
  changed_.notify_all();

  Reply reply = NextReply(request);
  bool keep_going = reply.delay <= absl::ZeroDuration() || Pause(reply.delay);
  bool answered = false;
  if (keep_going && !reply.close_without_answer) {
    std::string response =
        absl::StrCat("HTTP/1.1 ", reply.status, " ", ReasonPhrase(reply.status),
                     "\r\nContent-Length: ", reply.body.size(), "\r\n");
    for (const auto& [name, value] : reply.headers) {
      absl::StrAppend(&response, name, ": ", value, "\r\n");
    }
    absl::StrAppend(&response, "\r\n", reply.body);
    answered = SendAll(fd, response);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!delivery.empty() && --in_flight_by_delivery_[delivery] == 0) {
      in_flight_by_delivery_.erase(delivery);
    }
  }
  return answered && !reply.close_after_answer;
}

}  // namespace leadrelay::dtest
