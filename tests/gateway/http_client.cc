#include "http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace leadrelay::gateway::testing {

std::unique_ptr<HttpConnection> HttpConnection::Connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return nullptr;
  timeval tv{30, 0};  // a safety net against hangs, not a synchronisation
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return nullptr;
  }
  return std::unique_ptr<HttpConnection>(new HttpConnection(fd));
}

HttpConnection::~HttpConnection() { Close(); }

void HttpConnection::Close() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

bool HttpConnection::Send(const std::string& raw) {
  size_t sent = 0;
  while (sent < raw.size()) {
    ssize_t n = send(fd_, raw.data() + sent, raw.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += n;
  }
  return true;
}

bool HttpConnection::Fill() {
  char chunk[16384];
  ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
  if (n <= 0) return false;
  buffer_.append(chunk, n);
  return true;
}

bool HttpConnection::Need(size_t n) {
  while (buffer_.size() < n) {
    if (!Fill()) return false;
  }
  return true;
}

std::optional<std::string> HttpConnection::Line() {
  size_t pos;
  while ((pos = buffer_.find("\r\n")) == std::string::npos) {
    if (!Fill()) return std::nullopt;
  }
  std::string line = buffer_.substr(0, pos);
  buffer_.erase(0, pos + 2);
  return line;
}

bool HttpConnection::ReadUntil(const std::string& needle) {
  while (buffer_.find(needle) == std::string::npos) {
    if (!Fill()) return false;
  }
  return true;
}

bool HttpConnection::AtEof() { return buffer_.empty() && !Fill(); }

std::optional<HttpResponse> HttpConnection::ReadHead() {
  HttpResponse r;
  auto status_line = Line();
  if (!status_line) return std::nullopt;
  std::vector<std::string> parts = absl::StrSplit(*status_line, ' ');
  if (parts.size() < 2 || !absl::SimpleAtoi(parts[1], &r.status))
    return std::nullopt;
  while (true) {
    auto line = Line();
    if (!line) return std::nullopt;
    if (line->empty()) break;
    size_t colon = line->find(':');
    if (colon == std::string::npos) return std::nullopt;
    r.headers[absl::AsciiStrToLower(line->substr(0, colon))] =
        std::string(absl::StripAsciiWhitespace(line->substr(colon + 1)));
  }
  if (r.status == 100) return ReadHead();
  return r;
}

std::optional<HttpResponse> HttpConnection::Read() {
  std::optional<HttpResponse> head = ReadHead();
  if (!head) return std::nullopt;
  HttpResponse& r = *head;
  if (absl::AsciiStrToLower(r.header("transfer-encoding")) == "chunked") {
    while (true) {
      auto size_line = Line();
      if (!size_line) return std::nullopt;
      size_t size = std::strtoul(size_line->c_str(), nullptr, 16);
      if (!Need(size + 2)) return std::nullopt;
      r.body += buffer_.substr(0, size);
      buffer_.erase(0, size + 2);
      if (size == 0) break;
    }
  } else if (!r.header("content-length").empty()) {
    size_t length = std::stoul(r.header("content-length"));
    if (!Need(length)) return std::nullopt;
    r.body = buffer_.substr(0, length);
    buffer_.erase(0, length);
  } else {
    while (Fill()) {
    }
    r.body = std::move(buffer_);
    buffer_.clear();
  }
  return r;
}

std::string RequestText(const std::string& method, const std::string& target,
                        const std::string& body,
                        const std::vector<std::string>& headers) {
  std::string text =
      absl::StrCat(method, " ", target, " HTTP/1.1\r\nHost: test\r\n");
  for (const auto& h : headers) absl::StrAppend(&text, h, "\r\n");
  if (!body.empty() || method == "POST" || method == "PUT" ||
      method == "PATCH") {
    absl::StrAppend(&text, "Content-Type: application/json\r\nContent-Length: ",
                    body.size(), "\r\n");
  }
  absl::StrAppend(&text, "\r\n", body);
  return text;
}

HttpResponse Fetch(int port, const std::string& method,
                   const std::string& target, const std::string& body,
                   const std::vector<std::string>& headers) {
  auto conn = HttpConnection::Connect(port);
  if (!conn || !conn->Send(RequestText(method, target, body, headers)))
    return {};
  auto r = conn->Read();
  return r ? *r : HttpResponse{};
}

absl::Status AwaitRestGateway(int port, int seconds,
                              const std::function<bool()>& running,
                              const std::function<std::string()>& log) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!running()) {
      return absl::UnavailableError(absl::StrCat(
          "leadrelay-server stopped during start-up; log:\n", log()));
    }
    if (Fetch(port, "GET", "/openapi.json").status == 200) {
      return absl::OkStatus();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return absl::UnavailableError(
      absl::StrCat("REST gateway not serving on 127.0.0.1:", port, " after ",
                   seconds, " s; log:\n", log()));
}

}  // namespace leadrelay::gateway::testing
