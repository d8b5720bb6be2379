#!/usr/bin/env bash
# Benchmark leadrelay-server over gRPC against a throwaway PostgreSQL cluster
# with durability ON (fsync, synchronous_commit): the figures are honest ones.
#
#   tests/bench/run_grpc_bench.sh [extra leadrelay_grpc_bench flags]
#
# Needs build/server/leadrelay-server (or LEADRELAY_SERVER_BIN) and
# build/tests/bench/leadrelay_grpc_bench (or LEADRELAY_BENCH_BIN); build them
# first, e.g. cmake --build build --target leadrelay-server leadrelay_grpc_bench
# Environment: BENCH_CONCURRENCY (32), BENCH_SECONDS (10).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"

# shellcheck source=tests/bench/bench_lib.sh
. "$ROOT/tests/bench/bench_lib.sh"

BENCH=${LEADRELAY_BENCH_BIN:-$ROOT/build/tests/bench/leadrelay_grpc_bench}
CONCURRENCY=${BENCH_CONCURRENCY:-32}
SECONDS_PER_METHOD=${BENCH_SECONDS:-10}
bench_require "$SERVER" "$BENCH"

bench_start_cluster
API_KEY=$(bench_bootstrap bench)
GRPC_PORT=$(lr_free_port)
bench_start_server "$GRPC_PORT" --grpc_address="127.0.0.1:$GRPC_PORT"

# CPU ticks (user + system) of the server, and of PostgreSQL's backends.
TICK=$(getconf CLK_TCK)
PG_PID=$(head -n 1 "$LR_PG_DIR/postmaster.pid")
ticks_of() {
  cat "${@/#//proc/}" 2>/dev/null | awk '{t += $14 + $15} END {print t + 0}'
}
server_ticks() { ticks_of "$SERVER_PID/stat"; }
pg_ticks() {
  local pids
  pids=$(ps -o pid= --ppid "$PG_PID" | awk '{print $1 "/stat"}')
  # shellcheck disable=SC2086  # one word per pid
  ticks_of "$PG_PID/stat" $pids
}

echo "== leadrelay gRPC bench: $(nproc) cores (shared), PostgreSQL durable," \
  "concurrency $CONCURRENCY, ${SECONDS_PER_METHOD}s per method"
for method in create get; do
  s0=$(server_ticks) p0=$(pg_ticks) t0=$(date +%s.%N)
  "$BENCH" --target="127.0.0.1:$GRPC_PORT" --api_key="$API_KEY" \
    --concurrency="$CONCURRENCY" --seconds="$SECONDS_PER_METHOD" \
    --method="$method" "$@"
  s1=$(server_ticks) p1=$(pg_ticks) t1=$(date +%s.%N)
  awk -v s="$((s1 - s0))" -v p="$((p1 - p0))" -v hz="$TICK" \
    -v wall="$(echo "$t1 $t0" | awk '{print $1 - $2}')" \
    -v rss="$(ps -o rss= -p "$SERVER_PID")" \
    'BEGIN {printf "  during %s run: server cpu=%.0f%% postgres cpu=%.0f%% " \
                   "(100%% = one core), server rss=%.1f MiB\n",
            "'"$method"'", 100 * s / hz / wall, 100 * p / hz / wall,
            rss / 1024}'
done
echo "== server process (ps -o rss,pcpu; rss in KiB, pcpu over its lifetime)"
ps -o rss,pcpu -p "$SERVER_PID"
