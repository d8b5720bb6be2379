#!/usr/bin/env bash
# StreamEvents fan-out benchmark against a throwaway, durable PostgreSQL
# cluster and one leadrelay-server:
#   1. 1,000 subscribers x 100 events/s for 10 s: latency, messages/s, RSS;
#   2. 10,000 idle subscribers: RSS.
#
#   tests/bench/run_stream_bench.sh [extra leadrelay_stream_bench flags]
#
# Needs build/server/leadrelay-server (or LEADRELAY_SERVER_BIN) and
# build/tests/bench/leadrelay_stream_bench (or LEADRELAY_STREAM_BENCH_BIN):
#   cmake --build build --target leadrelay-server leadrelay_stream_bench
# Environment: BENCH_SUBSCRIBERS (1000), BENCH_RATE (100), BENCH_SECONDS (10),
# BENCH_IDLE_SUBSCRIBERS (10000).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"

SERVER=${LEADRELAY_SERVER_BIN:-$ROOT/build/server/leadrelay-server}
BENCH=${LEADRELAY_STREAM_BENCH_BIN:-$ROOT/build/tests/bench/leadrelay_stream_bench}
SUBSCRIBERS=${BENCH_SUBSCRIBERS:-1000}
RATE=${BENCH_RATE:-100}
SECONDS_TO_PUBLISH=${BENCH_SECONDS:-10}
IDLE=${BENCH_IDLE_SUBSCRIBERS:-10000}

for bin in "$SERVER" "$BENCH"; do
  if [ ! -x "$bin" ]; then
    lr_log "missing $bin; build it first (cmake --build build --target ...)"
    exit 1
  fi
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/leadrelay-stream-bench.XXXXXX")
LR_PG_DIR=$WORK/pg
SERVER_PID=
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 150); do
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$SERVER_PID" 2>/dev/null || true
  fi
  lr_pg_stop "$LR_PG_DIR" || true
  rm -rf "$WORK" "$LR_PG_DIR"
}
trap cleanup EXIT

PG_PORT=$(lr_free_port)
lr_pg_start "$WORK/pg" "$PG_PORT"   # durable: no 'test' mode
DATABASE_URL="postgresql://postgres@127.0.0.1:$PG_PORT/postgres"

BOOT=$("$SERVER" --database_url="$DATABASE_URL" --bootstrap_account=stream-bench \
  --bootstrap_plan=internal --bootstrap_credits=100000000)
API_KEY=$(sed -n 's/^api_key=//p' <<<"$BOOT")
if [ -z "$API_KEY" ]; then
  lr_log "bootstrap printed no api_key= line:"
  printf '%s\n' "$BOOT" >&2
  exit 1
fi

# The server may hold more streams than the default fd limit allows.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
GRPC_PORT=$(lr_free_port)
"$SERVER" --database_url="$DATABASE_URL" --grpc_address="127.0.0.1:$GRPC_PORT" \
  --max_streams_per_key=20000 >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
deadline=$((SECONDS + 30))
until (: </dev/tcp/127.0.0.1/"$GRPC_PORT") 2>/dev/null; do
  if ! kill -0 "$SERVER_PID" 2>/dev/null || ((SECONDS >= deadline)); then
    lr_log "leadrelay-server did not come up on 127.0.0.1:$GRPC_PORT; log:"
    tail -n 30 "$WORK/server.log" >&2
    exit 1
  fi
  sleep 0.2
done

echo "== leadrelay stream bench: $(nproc) cores (shared), PostgreSQL durable"
status=0
"$BENCH" --target="127.0.0.1:$GRPC_PORT" --api_key="$API_KEY" \
  --server_pid="$SERVER_PID" --label=fan-out --subscribers="$SUBSCRIBERS" \
  --rate="$RATE" --seconds="$SECONDS_TO_PUBLISH" "$@" || status=1
"$BENCH" --target="127.0.0.1:$GRPC_PORT" --api_key="$API_KEY" \
  --server_pid="$SERVER_PID" --label=idle --subscribers="$IDLE" --rate=0 \
  "$@" || status=1
echo "== server process (rss KiB, lifetime pcpu)"
ps -o rss,pcpu -p "$SERVER_PID"
exit "$status"
