#include "delivery/http_sender.h"

#include <curl/curl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "domain/address_policy.h"

namespace leadrelay::delivery {

struct HttpSender::Transfer {
  HttpRequest request;
  Callback done;
  // The sender's connection_sockets_, which OnOpenSocket adds to.
  absl::flat_hash_set<int>* connection_sockets = nullptr;
  CURL* easy = nullptr;
  curl_slist* header_list = nullptr;
  HttpResult result;
  absl::Time started;
  std::string blocked_reason;  // set when the address check refused
  size_t excerpt_limit = 0;

  ~Transfer() {
    if (easy != nullptr) curl_easy_cleanup(easy);
    if (header_list != nullptr) curl_slist_free_all(header_list);
  }
};

namespace {

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<HttpSender::Transfer*>(user);
  size_t n = size * count;
  std::string& excerpt = t->result.response_excerpt;
  if (excerpt.size() < t->excerpt_limit) {
    excerpt.append(data, std::min(n, t->excerpt_limit - excerpt.size()));
  }
  return n;  // keep reading (and discarding) so the connection stays reusable
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<HttpSender::Transfer*>(user);
  absl::string_view line(data, size * count);
  if (absl::StartsWithIgnoreCase(line, "retry-after:")) {
    t->result.retry_after =
        std::string(absl::StripAsciiWhitespace(line.substr(12)));
  }
  return size * count;
}

curl_socket_t OnOpenSocket(void* user, curlsocktype purpose,
                           curl_sockaddr* address) {
  auto* t = static_cast<HttpSender::Transfer*>(user);
  if (purpose == CURLSOCKTYPE_IPCXN && !t->request.allow_private_addresses) {
    if (auto range = domain::ForbiddenRange(&address->addr)) {
      t->blocked_reason = *range;
      return CURL_SOCKET_BAD;
    }
  }
  int fd = socket(address->family, address->socktype, address->protocol);
  if (fd >= 0) t->connection_sockets->insert(fd);
  return fd;
}

}  // namespace

HttpSender::HttpSender(HttpSenderOptions options)
    : options_(std::move(options)) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  epoll_event wake{};
  wake.events = EPOLLIN;
  wake.data.fd = wake_fd_;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &wake);
  CURLM* multi = curl_multi_init();
  multi_ = multi;
  curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS,
                    static_cast<long>(options_.max_connections));
  curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, &HttpSender::OnSocket);
  curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, &HttpSender::OnTimer);
  curl_multi_setopt(multi, CURLMOPT_TIMERDATA, this);
  thread_ = std::thread([this] { Loop(); });
}

HttpSender::~HttpSender() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  WakeLoop();
  thread_.join();
  curl_multi_cleanup(static_cast<CURLM*>(multi_));
  close(wake_fd_);
  close(epoll_fd_);
}

int HttpSender::OnSocket(void* /*easy*/, int fd, int what, void* sender,
                         void* /*socket_data*/) {
  auto* self = static_cast<HttpSender*>(sender);
  auto it = self->watched_.find(fd);
  if (what == CURL_POLL_REMOVE) {
    if (it == self->watched_.end()) return 0;
    if (self->connection_sockets_.contains(fd)) {
      it->second.wanted = false;  // registered until closed or idle-woken
    } else {
      // Fails harmlessly when libcurl has closed the socket already.
      epoll_ctl(self->epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
      self->watched_.erase(it);
    }
    return 0;
  }
  const uint32_t events = (what & CURL_POLL_IN ? EPOLLIN : 0u) |
                          (what & CURL_POLL_OUT ? EPOLLOUT : 0u);
  // Only a connection's socket is known to be the same socket as when it
  // was registered: any other may have been closed and its number reused.
  if (it != self->watched_.end() && it->second.events == events &&
      self->connection_sockets_.contains(fd)) {
    it->second.wanted = true;
    return 0;
  }
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  int op = it == self->watched_.end() ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
  if (epoll_ctl(self->epoll_fd_, op, fd, &ev) != 0) {
    op = errno == ENOENT ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
    epoll_ctl(self->epoll_fd_, op, fd, &ev);
  }
  self->watched_[fd] = {events, true};
  return 0;
}

int HttpSender::OnCloseSocket(void* sender, int fd) {
  auto* self = static_cast<HttpSender*>(sender);
  // Explicitly: epoll would keep a socket whose descriptor a child process
  // inherited.
  if (self->watched_.erase(fd) > 0) {
    epoll_ctl(self->epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  }
  self->connection_sockets_.erase(fd);
  return close(fd);
}

bool HttpSender::DropIdleSocket(int fd) {
  auto it = watched_.find(fd);
  if (it == watched_.end() || it->second.wanted) return false;
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  watched_.erase(it);
  return true;
}

int HttpSender::OnTimer(void* /*multi*/, long timeout_ms, void* sender) {
  auto* self = static_cast<HttpSender*>(sender);
  if (timeout_ms < 0) {
    self->timer_.reset();
  } else {
    self->timer_ = absl::Now() + absl::Milliseconds(timeout_ms);
  }
  return 0;
}

void HttpSender::Send(HttpRequest request, Callback done) {
  auto t = std::make_unique<Transfer>();
  t->request = std::move(request);
  t->done = std::move(done);
  bool first = false;  // the loop has taken what was queued before
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      first = incoming_.empty();
      incoming_.push_back(std::move(t));
    }
  }
  if (t != nullptr) {  // refused: the sender is stopping
    HttpResult result;
    result.network_error = true;
    result.error = "server shutting down";
    t->done(std::move(result));
    return;
  }
  // Requests queued behind the first share its wake-up.
  if (first) WakeLoop();
}

void HttpSender::WakeLoop() {
  uint64_t one = 1;
  // Fails only when the counter would overflow: the loop is awake then.
  (void)!write(wake_fd_, &one, sizeof(one));
}

void HttpSender::StartTransfer(std::unique_ptr<Transfer> t) {
  const std::string key = t->request.endpoint_key;
  if (active_per_endpoint_[key] >= options_.max_in_flight_per_endpoint) {
    waiting_[key].push_back(std::move(t));
    return;
  }
  ++active_per_endpoint_[key];
  CURL* easy = curl_easy_init();
  t->easy = easy;
  t->excerpt_limit = options_.response_excerpt_bytes;
  t->connection_sockets = &connection_sockets_;
  for (const auto& [name, value] : t->request.headers) {
    t->header_list = curl_slist_append(t->header_list,
                                       absl::StrCat(name, ": ", value).c_str());
  }
  t->header_list = curl_slist_append(t->header_list, "Expect:");
  curl_easy_setopt(easy, CURLOPT_URL, t->request.url.c_str());
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_POST, 1L);
  curl_easy_setopt(easy, CURLOPT_POSTFIELDS, t->request.body.data());
  curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                   static_cast<curl_off_t>(t->request.body.size()));
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, t->header_list);
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(easy, CURLOPT_PROXY, "");
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(
      easy, CURLOPT_TIMEOUT_MS,
      static_cast<long>(absl::ToInt64Milliseconds(options_.timeout)));
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &OnBody);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, t.get());
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, t.get());
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, &OnOpenSocket);
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, t.get());
  curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, &OnCloseSocket);
  curl_easy_setopt(easy, CURLOPT_CLOSESOCKETDATA, this);
  curl_easy_setopt(easy, CURLOPT_PRIVATE, t.get());
  t->started = absl::Now();
  curl_multi_add_handle(static_cast<CURLM*>(multi_), easy);
  active_.insert(t.release());  // owned by active_ until Finish
}

void HttpSender::StartQueued(const std::string& key) {
  auto it = waiting_.find(key);
  if (it == waiting_.end() || it->second.empty()) return;
  std::unique_ptr<Transfer> next = std::move(it->second.front());
  it->second.pop_front();
  if (it->second.empty()) waiting_.erase(it);
  StartTransfer(std::move(next));
}

void HttpSender::Finish(Transfer* raw, int curl_code) {
  std::unique_ptr<Transfer> t(raw);
  active_.erase(raw);
  curl_multi_remove_handle(static_cast<CURLM*>(multi_), t->easy);
  t->result.elapsed = absl::Now() - t->started;
  if (curl_code == CURLE_OK) {
    long status = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    t->result.http_status = static_cast<int>(status);
  } else {
    t->result.network_error = true;
    t->result.error =
        t->blocked_reason.empty()
            ? std::string(curl_easy_strerror(static_cast<CURLcode>(curl_code)))
            : absl::StrCat("refused to connect to a ", t->blocked_reason,
                           " address");
  }
  std::string key = t->request.endpoint_key;
  if (--active_per_endpoint_[key] == 0) active_per_endpoint_.erase(key);
  t->done(std::move(t->result));
  StartQueued(key);
}

void HttpSender::FinishDone() {
  CURLM* multi = static_cast<CURLM*>(multi_);
  int queued = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
    if (msg->msg != CURLMSG_DONE) continue;
    Transfer* t = nullptr;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &t);
    Finish(t, msg->data.result);
  }
}

void HttpSender::Loop() {
  CURLM* multi = static_cast<CURLM*>(multi_);
  constexpr int kMaxEvents = 256;
  epoll_event events[kMaxEvents];
  for (;;) {
    std::vector<std::unique_ptr<Transfer>> incoming;
    bool stopping;
    {
      absl::MutexLock lock(&mu_);
      incoming.swap(incoming_);
      stopping = stopping_;
    }
    for (auto& t : incoming) StartTransfer(std::move(t));
    if (stopping) break;
    int wait_ms = 1000;
    if (timer_.has_value()) {
      double ms = std::ceil(absl::ToDoubleMilliseconds(*timer_ - absl::Now()));
      wait_ms = static_cast<int>(std::clamp(ms, 0.0, 1000.0));
    }
    int ready = epoll_wait(epoll_fd_, events, kMaxEvents, wait_ms);
    int running = 0;
    for (int i = 0; i < ready; ++i) {
      int fd = events[i].data.fd;
      if (fd == wake_fd_) {
        uint64_t count;
        (void)!read(wake_fd_, &count, sizeof(count));
        continue;
      }
      if (DropIdleSocket(fd)) continue;
      int mask = 0;
      if (events[i].events & EPOLLIN) mask |= CURL_CSELECT_IN;
      if (events[i].events & EPOLLOUT) mask |= CURL_CSELECT_OUT;
      if (events[i].events & (EPOLLERR | EPOLLHUP)) mask |= CURL_CSELECT_ERR;
      curl_multi_socket_action(multi, fd, mask, &running);
    }
    // Connects, timeouts and newly added transfers run on libcurl's timer;
    // it may set a new one from inside the call.
    if (timer_.has_value() && absl::Now() >= *timer_) {
      timer_.reset();
      curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
    }
    FinishDone();
  }
  // Fail whatever is left so callers can reschedule it.
  while (!active_.empty()) {
    Transfer* t = *active_.begin();
    t->blocked_reason.clear();
    Finish(t, CURLE_ABORTED_BY_CALLBACK);
  }
  for (auto& [key, queue] : waiting_) {
    for (auto& t : queue) {
      HttpResult r;
      r.network_error = true;
      r.error = "server shutting down";
      t->done(std::move(r));
    }
  }
  waiting_.clear();
}

}  // namespace leadrelay::delivery
