#!/usr/bin/env bash
# Webhook delivery benchmark against a throwaway, durable PostgreSQL:
#  1. latency: 500 events/s to one webhook, commit -> first attempt p50/p99;
#  2. throughput: 2,000 events/s over 4 accounts with 3 webhooks each
#     (6,000 deliveries/s offered), sustained deliveries/s;
#  3. drain: the same events published with no dispatcher running, then one
#     server dispatches the backlog: the dispatcher's own deliveries/s.
# Prints server (in the drain: the dispatcher's) and PostgreSQL CPU for each,
# also per delivery, and in the drain the receiver's. With
# BASELINE_SERVER_BIN set to another leadrelay-server binary (e.g. one built
# from an older commit), the drain also runs with that binary as the
# dispatcher, in the same run, and the ratios of the two drains' rates and
# CPU per delivery are printed. On 2 cores the three processes (receiver,
# dispatcher, PostgreSQL) fill the machine, so the CPU per delivery shows
# what the rate cannot. Build first:
#   cmake --build build --target leadrelay-server leadrelay_delivery_bench
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"

# shellcheck source=tests/bench/bench_lib.sh
. "$ROOT/tests/bench/bench_lib.sh"

BENCH=${LEADRELAY_BENCH_BIN:-$ROOT/build/tests/bench/leadrelay_delivery_bench}
bench_require "$SERVER" "$BENCH"
bench_start_cluster
PSQL="$LR_PG_BIN/psql -X -q -h 127.0.0.1 -p $PG_PORT -U postgres"

# The dispatcher's in-flight caps: MAX_IN_FLIGHT_PER_ENDPOINT (32 here) and
# MAX_DELIVERIES_IN_FLIGHT (the server's default, 512, unless set).
CAPS=(--max_in_flight_per_endpoint="${MAX_IN_FLIGHT_PER_ENDPOINT:-32}")
if [ -n "${MAX_DELIVERIES_IN_FLIGHT:-}" ]; then
  CAPS+=(--max_deliveries_in_flight="$MAX_DELIVERIES_IN_FLIGHT")
fi

run_case() {  # name rate webhooks accounts
  local name=$1 rate=$2 hooks=$3 accounts=$4 db="bench_$1"
  $PSQL -c "CREATE DATABASE $db"
  local url="postgresql://postgres@127.0.0.1:$PG_PORT/$db"
  local keys="" i
  for i in $(seq "$accounts"); do
    keys+=${keys:+,}$(bench_bootstrap "bench$i" "$url")
  done
  local port
  port=$(lr_free_port)
  local dispatch=true extra=()
  if [ -n "${DRAIN:-}" ]; then
    # The bench waits, once everything is published, until the dispatcher
    # runs; CPU is then counted from that moment.
    dispatch=false
    rm -f "$WORK/published" "$WORK/dispatching"
    extra=(--after_publish="touch $WORK/published; \
until [ -e $WORK/dispatching ]; do sleep 0.01; done")
  fi
  "$SERVER" --database_url="$url" --grpc_address="127.0.0.1:$port" \
    --allow_webhook_hosts=127.0.0.1 "${CAPS[@]}" \
    --dispatch_webhooks="$dispatch" >"$WORK/server_$name.log" 2>&1 &
  SERVER_PID=$!
  until (: </dev/tcp/127.0.0.1/"$port") 2>/dev/null; do sleep 0.1; done
  local s0 p0 t0 s1 p1 t1 cpu_pid=$SERVER_PID dispatcher_pid=
  s0=$(bench_ticks_of "$cpu_pid/stat") p0=$(bench_pg_ticks) t0=$(date +%s.%N)
  echo "== $name"
  "$BENCH" --target="127.0.0.1:$port" --api_keys="$keys" --rate="$rate" \
    --webhooks="$hooks" --seconds=10 \
    --endpoint_delay_ms="${ENDPOINT_DELAY_MS:-0}" "${extra[@]}" \
    >"$WORK/$name.out" &
  local bench_pid=$!
  if [ -n "${DRAIN:-}" ]; then
    until [ -e "$WORK/published" ] || ! kill -0 "$bench_pid" 2>/dev/null; do
      sleep 0.05
    done
    # Each drain starts right after a checkpoint, so neither pays for the
    # other's dirty pages (without this the second drain of a run cost
    # ~20% more CPU per delivery, the same binary on both sides).
    $PSQL -c CHECKPOINT
    "${DISPATCHER:-$SERVER}" --database_url="$url" \
      --grpc_address="127.0.0.1:$(lr_free_port)" \
      --allow_webhook_hosts=127.0.0.1 "${CAPS[@]}" \
      >"$WORK/dispatcher.log" 2>&1 &
    dispatcher_pid=$! cpu_pid=$dispatcher_pid
    s0=0 p0=$(bench_pg_ticks) t0=$(date +%s.%N)
    touch "$WORK/dispatching"
  fi
  wait "$bench_pid" || true
  cat "$WORK/$name.out"
  s1=$(bench_ticks_of "$cpu_pid/stat") p1=$(bench_pg_ticks) t1=$(date +%s.%N)
  if [ -n "$dispatcher_pid" ]; then
    kill "$dispatcher_pid" 2>/dev/null || true
    wait "$dispatcher_pid" 2>/dev/null || true
  fi
  local delivered
  delivered=$(sed -n 's/^.*received=\([0-9]*\).*$/\1/p' "$WORK/$name.out")
  awk -v s=$((s1 - s0)) -v p=$((p1 - p0)) -v hz="$(getconf CLK_TCK)" \
    -v wall="$(echo "$t1 $t0" | awk '{print $1 - $2}')" \
    -v who="${dispatcher_pid:+dispatcher}" -v n="${delivered:-0}" \
    'BEGIN {printf "cpu: %s %.0f%%, postgres %.0f%% (100%% = one core); " \
                   "per delivery: %s %.0f us, postgres %.0f us\n",
            (who == "" ? "server" : who), 100 * s / hz / wall,
            100 * p / hz / wall, (who == "" ? "server" : who),
            (n > 0 ? 1e6 * s / hz / n : 0), (n > 0 ? 1e6 * p / hz / n : 0)}' |
    tee -a "$WORK/$name.out"
  kill "$SERVER_PID"
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
}

echo "leadrelay delivery bench: $(nproc) cores, PostgreSQL durable"
if [ -z "${ONLY_DRAIN:-}" ]; then  # ONLY_DRAIN=1: just the drain(s)
  run_case latency 500 1 1
  run_case throughput 2000 3 4
fi
if [ -n "${BASELINE_SERVER_BIN:-}" ]; then
  bench_require "$BASELINE_SERVER_BIN"
  DRAIN=1 DISPATCHER=$BASELINE_SERVER_BIN run_case drain_baseline 2000 3 4
fi
DRAIN=1 run_case drain 2000 3 4
if [ -n "${BASELINE_SERVER_BIN:-}" ]; then
  rate() { sed -n 's/^sustained deliveries\/s=\([0-9]*\).*$/\1/p' "$WORK/$1.out"; }
  awk -v a="$(rate drain)" -v b="$(rate drain_baseline)" \
    'BEGIN {printf "== drain, same run: this build %d/s vs baseline %d/s = %.2fx\n",
            a, b, (b > 0 ? a / b : 0)}'
  # What each delivery costs, which a saturated box does not hide.
  us() { sed -n "s/^.*per delivery: dispatcher \([0-9]*\) us, postgres \([0-9]*\) us$/\\$2/p" "$WORK/$1.out"; }
  awk -v da="$(us drain 1)" -v db="$(us drain_baseline 1)" \
    -v pa="$(us drain 2)" -v pb="$(us drain_baseline 2)" \
    'BEGIN {printf "== drain, same run: CPU per delivery, this build / baseline: " \
                   "dispatcher %d/%d us = %.2f, postgres %d/%d us = %.2f, " \
                   "both %.2f\n", da, db, (db > 0 ? da / db : 0), pa, pb,
                   (pb > 0 ? pa / pb : 0),
                   (db + pb > 0 ? (da + pa) / (db + pb) : 0)}'
fi
