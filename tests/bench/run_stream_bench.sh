#!/usr/bin/env bash
# StreamEvents fan-out benchmark against a throwaway, durable PostgreSQL
# cluster and one leadrelay-server:
#   1. 1,000 subscribers x 100 events/s for 10 s: latency, messages/s, RSS;
#   2. 10,000 idle subscribers: RSS;
#   3. with BENCH_EVENT_BYTES (e.g. 250000): the fan-out of scenario 1 with
#      events of that size (near the 256 KiB limit) for BENCH_LARGE_SECONDS
#      (5): the server's RSS stays within the stream byte budgets.
#
#   tests/bench/run_stream_bench.sh [extra leadrelay_stream_bench flags]
#
# Needs build/server/leadrelay-server (or LEADRELAY_SERVER_BIN) and
# build/tests/bench/leadrelay_stream_bench (or LEADRELAY_STREAM_BENCH_BIN):
#   cmake --build build --target leadrelay-server leadrelay_stream_bench
# Environment: BENCH_SUBSCRIBERS (1000), BENCH_RATE (100), BENCH_SECONDS (10),
# BENCH_IDLE_SUBSCRIBERS (10000), BENCH_EVENT_BYTES (0: skip scenario 3),
# BENCH_LARGE_SECONDS (5).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"

# shellcheck source=tests/bench/bench_lib.sh
. "$ROOT/tests/bench/bench_lib.sh"

BENCH=${LEADRELAY_STREAM_BENCH_BIN:-$ROOT/build/tests/bench/leadrelay_stream_bench}
SUBSCRIBERS=${BENCH_SUBSCRIBERS:-1000}
RATE=${BENCH_RATE:-100}
SECONDS_TO_PUBLISH=${BENCH_SECONDS:-10}
IDLE=${BENCH_IDLE_SUBSCRIBERS:-10000}
bench_require "$SERVER" "$BENCH"

bench_start_cluster
API_KEY=$(bench_bootstrap stream-bench)
# The server may hold more streams than the default fd limit allows.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
GRPC_PORT=$(lr_free_port)
bench_start_server "$GRPC_PORT" --grpc_address="127.0.0.1:$GRPC_PORT" \
  --max_streams_per_key=20000 --max_streams=20000

echo "== leadrelay stream bench: $(nproc) cores (shared), PostgreSQL durable"
status=0
"$BENCH" --target="127.0.0.1:$GRPC_PORT" --api_key="$API_KEY" \
  --server_pid="$SERVER_PID" --label=fan-out --subscribers="$SUBSCRIBERS" \
  --rate="$RATE" --seconds="$SECONDS_TO_PUBLISH" "$@" || status=1
"$BENCH" --target="127.0.0.1:$GRPC_PORT" --api_key="$API_KEY" \
  --server_pid="$SERVER_PID" --label=idle --subscribers="$IDLE" --rate=0 \
  "$@" || status=1
if [[ "${BENCH_EVENT_BYTES:-0}" -gt 0 ]]; then
  "$BENCH" --target="127.0.0.1:$GRPC_PORT" --api_key="$API_KEY" \
    --server_pid="$SERVER_PID" --label=max-size --subscribers="$SUBSCRIBERS" \
    --rate="$RATE" --seconds="${BENCH_LARGE_SECONDS:-5}" \
    --event_bytes="$BENCH_EVENT_BYTES" "$@" || status=1
fi
echo "== server process (rss KiB, lifetime pcpu)"
ps -o rss,pcpu -p "$SERVER_PID"
exit "$status"
