#!/usr/bin/env bash
# The client's figures, against a throwaway durable PostgreSQL and one
# leadrelay-server (see bench_lib.sh):
#  1. raw CreateLead throughput (leadrelay_grpc_bench) and `leadrelay leads
#     import` of BENCH_ROWS rows at the same concurrency, in the same run,
#     and their ratio (aim >= 0.9);
#  2. `leadrelay listen --forward-to` event -> forward latency at 100
#     events/s (aim p99 <= 50 ms).
#
#   cmake --build build --target leadrelay-server leadrelay \
#     leadrelay_grpc_bench leadrelay_listen_bench
#   tests/bench/run_client_bench.sh
# Environment: BENCH_CONCURRENCY (32), BENCH_ROWS (100000), BENCH_SECONDS
# (10, the raw CreateLead run), BENCH_EVENTS (1000, at 100/s).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"
# shellcheck source=tests/bench/bench_lib.sh
. "$ROOT/tests/bench/bench_lib.sh"

CLI=${LEADRELAY_CLI_BIN:-$ROOT/build/client/leadrelay}
GRPC_BENCH=$ROOT/build/tests/bench/leadrelay_grpc_bench
LISTEN_BENCH=$ROOT/build/tests/bench/leadrelay_listen_bench
CONCURRENCY=${BENCH_CONCURRENCY:-32}
ROWS=${BENCH_ROWS:-100000}
SECONDS_RAW=${BENCH_SECONDS:-10}
EVENTS=${BENCH_EVENTS:-1000}
bench_require "$SERVER" "$CLI" "$GRPC_BENCH" "$LISTEN_BENCH"

bench_start_cluster
API_KEY=$(bench_bootstrap bench)
GRPC_PORT=$(lr_free_port)
bench_start_server "$GRPC_PORT" --grpc_address="127.0.0.1:$GRPC_PORT"
TARGET=127.0.0.1:$GRPC_PORT

echo "== leadrelay client bench: $(nproc) cores (shared), PostgreSQL durable," \
  "concurrency $CONCURRENCY"
raw=$("$GRPC_BENCH" --target="$TARGET" --api_key="$API_KEY" \
  --concurrency="$CONCURRENCY" --seconds="$SECONDS_RAW" --method=create |
  tee /dev/stderr | sed -n 's/.*throughput= *\([0-9.]*\)\/s.*/\1/p')

CSV=$WORK/leads.csv
awk -v n="$ROWS" 'BEGIN {
  print "external_id,vertical,first_name,last_name,suburb,province,phone,email,score,source"
  split("solar insurance financial property b2b", v, " ")
  for (i = 0; i < n; i++)
    printf "imp-%d,%s,Import,Lead%d,Sandton,Gauteng,+2782%07d,imp%d@example.com,%d,csv\n",
      i, v[i % 5 + 1], i, i, i, i % 101
}' >"$CSV"
t0=$(date +%s.%N)
summary=$(LEADRELAY_GRPC=$TARGET LEADRELAY_API_KEY=$API_KEY \
  "$CLI" leads import "$CSV" --concurrency "$CONCURRENCY" -o json 2>/dev/null)
t1=$(date +%s.%N)
echo "leads import: $summary"
awk -v raw="$raw" -v rows="$ROWS" -v t0="$t0" -v t1="$t1" 'BEGIN {
  rate = rows / (t1 - t0)
  printf "leads import of %d rows: %.1f s, %.1f rows/s; raw CreateLead %.1f/s;" \
         " ratio %.2f (aim >= 0.90)\n", rows, t1 - t0, rate, raw, rate / raw
}'
t0=$(date +%s.%N)
LEADRELAY_GRPC=$TARGET LEADRELAY_API_KEY=$API_KEY \
  "$CLI" leads import "$CSV" --concurrency "$CONCURRENCY" -o json 2>/dev/null
t1=$(date +%s.%N)
awk -v t0="$t0" -v t1="$t1" 'BEGIN { printf "re-run (creates nothing): %.1f s\n", t1 - t0 }'

"$LISTEN_BENCH" --target="$TARGET" --api_key="$API_KEY" --cli="$CLI" \
  --rate=100 --events="$EVENTS"
