#!/usr/bin/env bash
# The cost of metrics: two leadrelay-servers on one durable PostgreSQL, one
# with metrics (the default) and one with --metrics=false, measured in turn
# (order alternating each round) by the gRPC bench (GetLead, CreateLead) and
# the gateway bench (GET /v1/me over REST). Prints each run's throughput,
# then per case the mean of each side and the ratio on/off (1.00 = free),
# and the server CPU time per call of each side (less sensitive than
# throughput to other load on a shared machine).
#
#   tests/bench/run_metrics_bench.sh
#
# Needs build/server/leadrelay-server, build/tests/bench/leadrelay_grpc_bench
# and build/tests/bench/leadrelay_gateway_bench.
# Environment: BENCH_ROUNDS (3), BENCH_SECONDS (3), BENCH_CONCURRENCY (32).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"
# shellcheck source=tests/bench/bench_lib.sh
. "$ROOT/tests/bench/bench_lib.sh"

GRPC_BENCH=$ROOT/build/tests/bench/leadrelay_grpc_bench
GATEWAY_BENCH=$ROOT/build/tests/bench/leadrelay_gateway_bench
DESCRIPTORS=$ROOT/build/leadrelay.pb
ROUNDS=${BENCH_ROUNDS:-3}
SECS=${BENCH_SECONDS:-3}
CONCURRENCY=${BENCH_CONCURRENCY:-32}
bench_require "$SERVER" "$GRPC_BENCH" "$GATEWAY_BENCH" "$DESCRIPTORS"

bench_start_cluster
API_KEY=$(bench_bootstrap metricsbench)

# start_one NAME ARGS...: a server with gRPC and REST ports; sets
# GRPC_<NAME>, HTTP_<NAME> and PID_<NAME>.
start_one() {
  local name=$1 grpc http
  shift
  grpc=$(lr_free_port)
  http=$(lr_free_port)
  bench_start_server "$http" --grpc_address="127.0.0.1:$grpc" \
    --http_address="127.0.0.1:$http" \
    --gateway_config="$ROOT/gateway/envoy.yaml" \
    --descriptor_set="$DESCRIPTORS" "$@"
  mv "$WORK/server.log" "$WORK/server-$name.log"
  printf -v "GRPC_$name" '%s' "$grpc"
  printf -v "HTTP_$name" '%s' "$http"
  printf -v "PID_$name" '%s' "$SERVER_PID"
}
start_one on
start_one off --metrics=false
# bench_cleanup stops SERVER_PID; stop the other one too.
trap 'kill "$PID_on" 2>/dev/null || true; bench_cleanup' EXIT

# run CASE SIDE: prints the throughput (calls/s) of one short run.
run() {
  local case=$1 side=$2 grpc http
  grpc=GRPC_$side http=HTTP_$side
  case $case in
    grpc_get | grpc_create)
      "$GRPC_BENCH" --target="127.0.0.1:${!grpc}" --api_key="$API_KEY" \
        --concurrency="$CONCURRENCY" --seconds="$SECS" --warmup_seconds=0.5 \
        --seed_leads=50 --method="${case#grpc_}" |
        sed -n 's/.*throughput= *\([0-9.]*\)\/s.*/\1/p' | tail -n 1
      ;;
    rest_me)
      "$GATEWAY_BENCH" --http="127.0.0.1:${!http}" --grpc="127.0.0.1:${!grpc}" \
        --api_key="$API_KEY" --concurrency="$CONCURRENCY" --seconds="$SECS" \
        --warmup_seconds=0.5 --calls=me |
        awk '/REST/ && /req\/s/ {for (i = 1; i <= NF; i++) if ($(i + 1) == "req/s") print $i}' |
        head -n 1
      ;;
  esac
}

TICK=$(getconf CLK_TCK)
# CPU ticks (user + system) of process PID.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

echo "== metrics on vs --metrics=false: $(nproc) cores (shared), PostgreSQL" \
  "durable, concurrency $CONCURRENCY, ${SECS}s per run, $ROUNDS rounds"
declare -A sum cpu
for case in grpc_get grpc_create rest_me; do
  for round in $(seq "$ROUNDS"); do
    order="on off"
    ((round % 2 == 0)) && order="off on"
    for side in $order; do
      pid=PID_$side
      t0=$(ticks "${!pid}")
      value=$(run "$case" "$side")
      t1=$(ticks "${!pid}")
      # Server CPU microseconds per call (warm-up calls counted as free).
      us=$(awk -v t="$((t1 - t0))" -v hz="$TICK" -v v="${value:-0}" \
        -v s="$SECS" 'BEGIN {print (v > 0 ? t / hz * 1e6 / (v * s) : 0)}')
      printf '  %-12s round %d metrics=%-3s %10.1f /s  %7.0f us cpu/call\n' \
        "$case" "$round" "$side" "${value:-0}" "$us"
      sum[$case.$side]=$(awk -v a="${sum[$case.$side]:-0}" -v b="${value:-0}" \
        'BEGIN {print a + b}')
      cpu[$case.$side]=$(awk -v a="${cpu[$case.$side]:-0}" -v b="$us" \
        'BEGIN {print a + b}')
    done
  done
done
echo "== mean throughput and ratio (on/off; cost = 1 - ratio)"
for case in grpc_get grpc_create rest_me; do
  awk -v c="$case" -v on="${sum[$case.on]}" -v off="${sum[$case.off]}" \
    -v con="${cpu[$case.on]}" -v coff="${cpu[$case.off]}" \
    -v n="$ROUNDS" 'BEGIN {
      printf "  %-12s on %9.1f /s  off %9.1f /s  ratio %.3f   " \
             "cpu/call on %5.0f us  off %5.0f us  ratio %.3f\n",
             c, on / n, off / n, (off > 0 ? on / off : 0),
             con / n, coff / n, (coff > 0 ? con / coff : 0) }'
done
