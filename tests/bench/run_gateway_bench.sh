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

# shellcheck source=tests/bench/bench_lib.sh
. "$ROOT/tests/bench/bench_lib.sh"

BENCH=${LEADRELAY_BENCH_BIN:-$ROOT/build/tests/bench/leadrelay_gateway_bench}
DESCRIPTORS=${LEADRELAY_DESCRIPTOR_SET:-$ROOT/build/leadrelay.pb}
CONCURRENCY=${BENCH_CONCURRENCY:-64}
SECONDS_PER_CASE=${BENCH_SECONDS:-10}
bench_require "$SERVER" "$BENCH" "$DESCRIPTORS"

bench_start_cluster
API_KEY=$(bench_bootstrap gwbench)
# The server with the REST gateway in process; the gateway starts after the
# gRPC server, so its port answering means both do.
GRPC_PORT=$(lr_free_port)
HTTP_PORT=$(lr_free_port)
bench_start_server "$HTTP_PORT" --grpc_address="127.0.0.1:$GRPC_PORT" \
  --http_address="127.0.0.1:$HTTP_PORT" \
  --gateway_config="$ROOT/gateway/envoy.yaml" --descriptor_set="$DESCRIPTORS"

echo "== PostgreSQL durable; server gRPC 127.0.0.1:$GRPC_PORT," \
  "REST 127.0.0.1:$HTTP_PORT (in-process gateway); $(nproc) cores (shared)"
status=0
"$BENCH" --http="127.0.0.1:$HTTP_PORT" --grpc="127.0.0.1:$GRPC_PORT" \
  --api_key="$API_KEY" --concurrency="$CONCURRENCY" \
  --seconds="$SECONDS_PER_CASE" "$@" || status=$?
echo "== server process (ps -o rss,pcpu; rss in KiB, pcpu over its lifetime)"
ps -o rss,pcpu -p "$SERVER_PID"
exit "$status"
