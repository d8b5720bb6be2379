#include "store/commit_notifier.h"

#include <libpq-fe.h>

#include <algorithm>

#include "absl/time/clock.h"
#include "common/log.h"

namespace leadrelay::store {

CommitNotifier::CommitNotifier(std::string database_url, absl::Duration window)
    : database_url_(std::move(database_url)), window_(window) {}

CommitNotifier::~CommitNotifier() { Stop(); }

void CommitNotifier::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void CommitNotifier::Stop() {
  if (!thread_.joinable()) return;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
  if (conn_ != nullptr) PQfinish(conn_);
  conn_ = nullptr;
}

void CommitNotifier::Add(std::vector<Wake> wakes) {
  absl::MutexLock lock(&mu_);
  for (Wake& w : wakes) {
    if (std::find(pending_.begin(), pending_.end(), w) == pending_.end()) {
      pending_.push_back(std::move(w));
    }
  }
}

void CommitNotifier::Loop() {
  absl::Time last_failure = absl::InfinitePast();
  for (;;) {
    std::vector<Wake> batch;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || !pending_.empty();
      };
      mu_.Await(absl::Condition(&ready));
      if (pending_.empty()) return;  // stopping, nothing left
      // Wake-ups arriving within the window share this round trip.
      if (!stopping_) {
        mu_.AwaitWithTimeout(absl::Condition(&stopping_), window_);
      }
      batch.swap(pending_);
    }
    // After a failure, retry the connection at most once a second; the
    // listeners' slow poll covers what is dropped meanwhile.
    if (absl::Now() - last_failure < absl::Seconds(1)) continue;
    if (!Send(batch)) last_failure = absl::Now();
  }
}

bool CommitNotifier::Send(const std::vector<Wake>& wakes) {
  if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK) {
    if (conn_ != nullptr) PQfinish(conn_);
    const char* keys[] = {"dbname", "connect_timeout", "application_name",
                          nullptr};
    const char* values[] = {database_url_.c_str(), "3",
                            "leadrelay-server wake-ups", nullptr};
    conn_ = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
    if (PQstatus(conn_) != CONNECTION_OK) {
      LogWarning("wake-up connection failed; listeners fall back to polling");
      PQfinish(conn_);
      conn_ = nullptr;
      return false;
    }
  }
  std::vector<std::string> channels, payloads;
  for (const Wake& w : wakes) {
    channels.push_back(w.channel);
    payloads.push_back(w.payload);
  }
  std::string c = Param::TextArray(channels).value;
  std::string p = Param::TextArray(payloads).value;
  const char* values[] = {c.c_str(), p.c_str()};
  PGresult* r = PQexecParams(
      conn_,
      "SELECT pg_notify(c, p) FROM unnest($1::text[], $2::text[]) AS w(c, p)",
      2, nullptr, values, nullptr, nullptr, 0);
  bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
  PQclear(r);
  if (!ok) {
    LogWarning("sending wake-ups failed; listeners fall back to polling");
    PQfinish(conn_);
    conn_ = nullptr;
  }
  return ok;
}

}  // namespace leadrelay::store
