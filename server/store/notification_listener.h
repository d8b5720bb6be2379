// One LISTEN connection per process, shared by everything that wants
// PostgreSQL notifications (dispatcher wake-ups, API-key revocations, the
// event stream). Reconnects by itself; after a reconnect, handlers are told
// that notifications may have been missed.
#ifndef LEADRELAY_SERVER_STORE_NOTIFICATION_LISTENER_H_
#define LEADRELAY_SERVER_STORE_NOTIFICATION_LISTENER_H_

#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace leadrelay::store {

inline constexpr char kDeliveriesChannel[] = "leadrelay_deliveries";
inline constexpr char kKeysChannel[] = "leadrelay_keys";

struct Notification {
  std::string channel;  // empty: (re)connected, anything may have been missed
  std::string payload;
};

class NotificationListener {
 public:
  using Handler = std::function<void(const Notification&)>;

  NotificationListener(std::string database_url,
                       std::vector<std::string> channels);
  ~NotificationListener();  // Stop()
  NotificationListener(const NotificationListener&) = delete;
  NotificationListener& operator=(const NotificationListener&) = delete;

  // Before Start(). Handlers run on the listener thread: keep them short.
  void AddHandler(Handler handler);
  void Start();
  void Stop();

 private:
  void Loop();
  void Dispatch(const Notification& n);

  std::string database_url_;
  std::vector<std::string> channels_;
  std::vector<Handler> handlers_;
  int stop_fd_ = -1;
  std::thread thread_;
};

}  // namespace leadrelay::store

#endif  // LEADRELAY_SERVER_STORE_NOTIFICATION_LISTENER_H_
