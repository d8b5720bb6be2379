// Process and environment gauges: build info, start time, resident memory,
// open file descriptors, the database pool and the delivery backlog.
#ifndef LEADRELAY_SERVER_OPS_PROCESS_METRICS_H_
#define LEADRELAY_SERVER_OPS_PROCESS_METRICS_H_

#include <functional>

#include "absl/time/time.h"
#include "store/pg.h"

namespace leadrelay::ops {

// build info, start time, RSS and open fds (read from /proc at scrape).
void RegisterProcessMetrics();
// Pool connections in use / idle, read at scrape time.
void RegisterPoolMetrics(store::Pool& pool);
// Deliveries pending and the age of the oldest due one: one indexed query,
// run at most once per `cache_for` however often /metrics is scraped.
void RegisterBacklogMetrics(store::Pool& pool, absl::Duration cache_for);
// A gauge read at scrape time from `read` (e.g. the hub's open streams).
void RegisterValueGauge(const char* name, const char* help,
                        std::function<double()> read);

// Pure parsers of /proc, for tests: "VmRSS:  1234 kB" lines of
// /proc/self/status -> bytes; field 22 (starttime, in clock ticks after
// boot) of /proc/self/stat.
long long ParseRssBytes(const std::string& proc_status);
long long ParseStartTicks(const std::string& proc_stat);

}  // namespace leadrelay::ops

#endif  // LEADRELAY_SERVER_OPS_PROCESS_METRICS_H_
