#include "store/notification_listener.h"

#include <libpq-fe.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/log.h"

namespace leadrelay::store {

NotificationListener::NotificationListener(std::string database_url,
                                           std::vector<std::string> channels)
    : database_url_(std::move(database_url)), channels_(std::move(channels)) {}

NotificationListener::~NotificationListener() { Stop(); }

void NotificationListener::AddHandler(Handler handler) {
  handlers_.push_back(std::move(handler));
}

void NotificationListener::Start() {
  stop_fd_ = eventfd(0, EFD_NONBLOCK);
  thread_ = std::thread([this] { Loop(); });
}

void NotificationListener::Stop() {
  if (!thread_.joinable()) return;
  uint64_t one = 1;
  (void)!write(stop_fd_, &one, sizeof(one));
  thread_.join();
  close(stop_fd_);
}

void NotificationListener::Dispatch(const Notification& n) {
  for (const Handler& h : handlers_) h(n);
}

void NotificationListener::Loop() {
  std::string listen;
  for (const std::string& c : channels_)
    absl::StrAppend(&listen, "LISTEN ", c, ";");
  PGconn* conn = nullptr;
  bool warned = false;
  for (;;) {
    if (conn == nullptr) {
      conn = PQconnectdb(database_url_.c_str());
      PGresult* r = PQstatus(conn) == CONNECTION_OK
                        ? PQexec(conn, listen.c_str())
                        : nullptr;
      bool ok = r != nullptr && PQresultStatus(r) == PGRES_COMMAND_OK;
      if (r != nullptr) PQclear(r);
      if (!ok) {
        if (!warned) LogWarning("LISTEN connection failed; retrying");
        warned = true;
        PQfinish(conn);
        conn = nullptr;
        pollfd stop{stop_fd_, POLLIN, 0};
        if (poll(&stop, 1, 1000) > 0) return;
        continue;
      }
      warned = false;
      Dispatch({});  // catch up on whatever committed while not listening
    }
    pollfd fds[2] = {{PQsocket(conn), POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) continue;
    if (fds[1].revents != 0) break;
    if (PQconsumeInput(conn) == 0 || PQstatus(conn) != CONNECTION_OK) {
      PQfinish(conn);
      conn = nullptr;
      continue;
    }
    while (PGnotify* note = PQnotifies(conn)) {
      Dispatch({note->relname, note->extra});
      PQfreemem(note);
    }
  }
  if (conn != nullptr) PQfinish(conn);
}

}  // namespace leadrelay::store
