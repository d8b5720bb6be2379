#!/usr/bin/env bash
# REST gateway vs direct gRPC, against a throwaway PostgreSQL cluster with
# durability ON. leadrelay-server hosts the gateway in-process
# (--http_address); the bench fetches one lead and GetMe both ways.
#
#   tests/bench/run_gateway_bench.sh [extra leadrelay_gateway_bench flags]
#
# Needs build/server/leadrelay-server (or LEADRELAY_SERVER_BIN),
# build/tests/bench/leadrelay_gateway_bench (or LEADRELAY_BENCH_BIN) and
# build/leadrelay.pb (or LEADRELAY_DESCRIPTOR_SET); build them first:
#   cmake --build build --target leadrelay-server leadrelay_gateway_bench \
#       leadrelay_descriptor_set
# Environment: BENCH_CONCURRENCY (64), BENCH_SECONDS (10).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"

SERVER=${LEADRELAY_SERVER_BIN:-$ROOT/build/server/leadrelay-server}
BENCH=${LEADRELAY_BENCH_BIN:-$ROOT/build/tests/bench/leadrelay_gateway_bench}
DESCRIPTORS=${LEADRELAY_DESCRIPTOR_SET:-$ROOT/build/leadrelay.pb}
CONCURRENCY=${BENCH_CONCURRENCY:-64}
SECONDS_PER_CASE=${BENCH_SECONDS:-10}

for file in "$SERVER" "$BENCH" "$DESCRIPTORS"; do
  if [ ! -e "$file" ]; then
    lr_log "missing $file; build it first (cmake --build build --target ...)"
    exit 1
  fi
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/leadrelay-gwbench.XXXXXX")
LR_PG_DIR=$WORK/pg
SERVER_PID=
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 50); do
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$SERVER_PID" 2>/dev/null || true
  fi
  lr_pg_stop "$LR_PG_DIR" || true
  rm -rf "$WORK" "$LR_PG_DIR"
}
trap cleanup EXIT

# PostgreSQL, default durability (no 'test' mode).
PG_PORT=$(lr_free_port)
lr_pg_start "$LR_PG_DIR" "$PG_PORT"
DATABASE_URL="postgresql://postgres@127.0.0.1:$PG_PORT/postgres"

# Internal plan: no rate limit; credits for the lead the bench creates.
BOOT=$("$SERVER" --database_url="$DATABASE_URL" --bootstrap_account=gwbench \
  --bootstrap_plan=internal --bootstrap_credits=100000000)
API_KEY=$(sed -n 's/^api_key=//p' <<<"$BOOT")
if [ -z "$API_KEY" ]; then
  lr_log "bootstrap printed no api_key= line:"
  printf '%s\n' "$BOOT" >&2
  exit 1
fi

# The server with the REST gateway in-process, on free ports.
GRPC_PORT=$(lr_free_port)
HTTP_PORT=$(lr_free_port)
"$SERVER" --database_url="$DATABASE_URL" \
  --grpc_address="127.0.0.1:$GRPC_PORT" \
  --http_address="127.0.0.1:$HTTP_PORT" \
  --gateway_config="$ROOT/gateway/envoy.yaml" \
  --descriptor_set="$DESCRIPTORS" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
deadline=$((SECONDS + 30))
# The gateway starts after the gRPC server: its port answering means both do.
until (: </dev/tcp/127.0.0.1/"$HTTP_PORT") 2>/dev/null; do
  if ! kill -0 "$SERVER_PID" 2>/dev/null || ((SECONDS >= deadline)); then
    lr_log "leadrelay-server did not serve REST on 127.0.0.1:$HTTP_PORT; log:"
    tail -n 30 "$WORK/server.log" >&2
    exit 1
  fi
  sleep 0.2
done

echo "== PostgreSQL durable; server gRPC 127.0.0.1:$GRPC_PORT," \
  "REST 127.0.0.1:$HTTP_PORT (in-process gateway); $(nproc) cores (shared)"
status=0
"$BENCH" --http="127.0.0.1:$HTTP_PORT" --grpc="127.0.0.1:$GRPC_PORT" \
  --api_key="$API_KEY" --concurrency="$CONCURRENCY" \
  --seconds="$SECONDS_PER_CASE" "$@" || status=$?
echo "== server process (ps -o rss,pcpu; rss in KiB, pcpu over its lifetime)"
ps -o rss,pcpu -p "$SERVER_PID"
exit "$status"
