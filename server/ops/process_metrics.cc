#include "ops/process_metrics.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "ops/build_info.h"
#include "ops/server_metrics.h"

namespace leadrelay::ops {
namespace {

std::string ReadWhole(const char* path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

double OpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  int count = 0;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  closedir(dir);
  return count - 1;  // the directory handle itself
}

// Boot time from /proc/stat's "btime" line, in unix seconds.
double BootTime() {
  for (absl::string_view line : absl::StrSplit(ReadWhole("/proc/stat"), '\n')) {
    if (absl::ConsumePrefix(&line, "btime ")) {
      double value = 0;
      if (absl::SimpleAtod(line, &value)) return value;
    }
  }
  return 0;
}

}  // namespace

long long ParseRssBytes(const std::string& proc_status) {
  for (absl::string_view line : absl::StrSplit(proc_status, '\n')) {
    if (!absl::ConsumePrefix(&line, "VmRSS:")) continue;
    std::vector<absl::string_view> parts =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    long long kb = 0;
    if (!parts.empty() && absl::SimpleAtoi(parts[0], &kb)) return kb * 1024;
  }
  return 0;
}

long long ParseStartTicks(const std::string& proc_stat) {
  // The command name (field 2) may hold spaces; count fields after its ')'.
  size_t close = proc_stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::vector<absl::string_view> fields = absl::StrSplit(
      absl::string_view(proc_stat).substr(close + 1), ' ', absl::SkipEmpty());
  // fields[0] is field 3 (state), so field 22 is fields[19].
  long long ticks = 0;
  if (fields.size() > 19 && absl::SimpleAtoi(fields[19], &ticks)) return ticks;
  return 0;
}

void RegisterProcessMetrics() {
  metrics::Registry& r = Registry();
  r.AddGauge("leadrelay_build_info",
             "Always 1; the labels name the running build.",
             {"version", "revision"})
      .With({kBuildVersion, kBuildRevision})
      .Set(1);
  double start =
      BootTime() +
      static_cast<double>(ParseStartTicks(ReadWhole("/proc/self/stat"))) /
          sysconf(_SC_CLK_TCK);
  if (start <= 0) start = absl::ToUnixSeconds(absl::Now());
  r.AddGauge("process_start_time_seconds",
             "Start time of the process since the unix epoch in seconds.")
      .Get()
      .Set(start);
  r.AddCallbackGauge("process_resident_memory_bytes",
                     "Resident memory size in bytes.", {}, [] {
                       return std::vector<metrics::Sample>{
                           {{},
                            static_cast<double>(ParseRssBytes(
                                ReadWhole("/proc/self/status")))}};
                     });
  r.AddCallbackGauge("process_open_fds", "Number of open file descriptors.", {},
                     [] {
                       return std::vector<metrics::Sample>{{{}, OpenFds()}};
                     });
}

void RegisterPoolMetrics(store::Pool& pool) {
  Registry().AddCallbackGauge(
      "leadrelay_db_pool_connections",
      "PostgreSQL pool connections, by state (in_use, idle).", {"state"},
      [&pool] {
        store::PoolStats s = pool.Stats();
        return std::vector<metrics::Sample>{
            {{"in_use"}, static_cast<double>(s.open - s.idle)},
            {{"idle"}, static_cast<double>(s.idle)}};
      });
}

void RegisterValueGauge(const char* name, const char* help,
                        std::function<double()> read) {
  Registry().AddCallbackGauge(name, help, {}, [read = std::move(read)] {
    return std::vector<metrics::Sample>{{{}, read()}};
  });
}

namespace {

// The backlog query's result, refreshed at most once per `cache_for`.
class BacklogCache {
 public:
  BacklogCache(store::Pool& pool, absl::Duration cache_for)
      : pool_(pool), cache_for_(cache_for) {}

  struct Values {
    double pending = 0;
    double oldest_due_age = 0;
    bool ok = false;
  };

  Values Get() {
    absl::MutexLock lock(&mu_);
    if (absl::Now() - fetched_ < cache_for_) return values_;
    Values fresh;
    absl::Status status = pool_.Run([&](store::Connection& conn)
                                        -> absl::Status {
      // The partial index deliveries_due serves both aggregates.
      auto result = conn.Exec(
          "SELECT count(*), COALESCE(EXTRACT(EPOCH FROM now() - "
          "min(next_attempt_at) FILTER (WHERE next_attempt_at <= now())), 0)"
          "::float8 FROM deliveries WHERE status = 'pending'");
      if (!result.ok()) return result.status();
      fresh.pending = static_cast<double>(result->Int(0, 0));
      absl::SimpleAtod(result->Text(0, 1), &fresh.oldest_due_age);
      fresh.ok = true;
      return absl::OkStatus();
    });
    // A failed query keeps the last values (the database gauges tell the
    // outage); it is retried on the next scrape after cache_for.
    if (status.ok()) values_ = fresh;
    fetched_ = absl::Now();
    return values_;
  }

 private:
  store::Pool& pool_;
  absl::Duration cache_for_;
  absl::Mutex mu_;
  absl::Time fetched_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  Values values_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

void RegisterBacklogMetrics(store::Pool& pool, absl::Duration cache_for) {
  auto cache = std::make_shared<BacklogCache>(pool, cache_for);
  metrics::Registry& r = Registry();
  r.AddCallbackGauge(
      "leadrelay_deliveries_pending",
      "Deliveries waiting for a successful attempt (due now or scheduled).", {},
      [cache] {
        return std::vector<metrics::Sample>{{{}, cache->Get().pending}};
      });
  r.AddCallbackGauge(
      "leadrelay_delivery_oldest_due_age_seconds",
      "How long the oldest due delivery has been due; 0 when none is due.", {},
      [cache] {
        return std::vector<metrics::Sample>{
            {{}, std::max(0.0, cache->Get().oldest_due_age)}};
      });
}

}  // namespace leadrelay::ops
