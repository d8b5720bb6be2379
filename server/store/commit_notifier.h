// Sends the wake-ups (NOTIFY) of committed work from its own connection,
// outside the transactions that wrote, and coalesces them: at most one
// NOTIFY per channel and payload per `window`. A NOTIFY inside a writing
// transaction would make its commit take PostgreSQL's database-wide notify
// lock, serializing every such commit (no group commit). A NOTIFY is only a
// wake-up: what readers may see is decided by the event gate, and the
// listeners' slow poll covers a wake-up lost with this connection.
#ifndef LEADRELAY_SERVER_STORE_COMMIT_NOTIFIER_H_
#define LEADRELAY_SERVER_STORE_COMMIT_NOTIFIER_H_

#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "store/pg.h"

namespace leadrelay::store {

class CommitNotifier {
 public:
  CommitNotifier(std::string database_url,
                 absl::Duration window = absl::Milliseconds(2));
  ~CommitNotifier();  // Stop()
  CommitNotifier(const CommitNotifier&) = delete;
  CommitNotifier& operator=(const CommitNotifier&) = delete;

  void Start();
  // Sends what is queued, then stops.
  void Stop();

  // Queues wake-ups of work that has committed (a Pool::WakeSink).
  void Add(std::vector<Wake> wakes);

 private:
  void Loop();
  // One round trip for the whole set; false when the connection failed.
  bool Send(const std::vector<Wake>& wakes);

  std::string database_url_;
  absl::Duration window_;
  PGconn* conn_ = nullptr;  // only the loop thread touches it

  absl::Mutex mu_;
  std::vector<Wake> pending_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace leadrelay::store

#endif  // LEADRELAY_SERVER_STORE_COMMIT_NOTIFIER_H_
