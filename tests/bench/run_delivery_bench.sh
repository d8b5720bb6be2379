#!/usr/bin/env bash
# Webhook delivery benchmark against a throwaway, durable PostgreSQL:
#  1. latency: 500 events/s to one webhook, commit -> first attempt p50/p99;
#  2. throughput: 2,000 events/s over 4 accounts with 3 webhooks each
#     (6,000 deliveries/s offered), sustained deliveries/s;
#  3. drain: the same events published with no dispatcher running, then one
#     server dispatches the backlog: the dispatcher's own deliveries/s.
# Prints server and PostgreSQL CPU for each. With BASELINE_SERVER_BIN set to
# another leadrelay-server binary (e.g. one built from an older commit), the
# drain also runs with that binary as the dispatcher, in the same run, and
# the ratio of the two drains is printed. Build first:
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

ticks() {  # user+system CPU ticks of the given pids' /proc/PID/stat
  local t=0 pid
  for pid in "$@"; do
    [ -r "/proc/$pid/stat" ] && t=$((t + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
  done
  echo "$t"
}

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
    dispatch=false
    extra=(--after_publish="${DISPATCHER:-$SERVER} --database_url=$url \
--grpc_address=127.0.0.1:$(lr_free_port) --allow_webhook_hosts=127.0.0.1 \
--max_in_flight_per_endpoint=32 >$WORK/dispatcher.log 2>&1 & echo \$! >$WORK/dispatcher.pid")
  fi
  "$SERVER" --database_url="$url" --grpc_address="127.0.0.1:$port" \
    --allow_webhook_hosts=127.0.0.1 --max_in_flight_per_endpoint=32 \
    --dispatch_webhooks="$dispatch" >"$WORK/server_$name.log" 2>&1 &
  SERVER_PID=$!
  until (: </dev/tcp/127.0.0.1/"$port") 2>/dev/null; do sleep 0.1; done
  local pg_pids
  pg_pids=$(pgrep -d' ' -f "postgres.*$PG_PORT|postgres: " || true)
  local s0 p0 t0 s1 p1 t1
  s0=$(ticks "$SERVER_PID") p0=$(ticks $pg_pids) t0=$(date +%s.%N)
  echo "== $name"
  "$BENCH" --target="127.0.0.1:$port" --api_keys="$keys" --rate="$rate" \
    --webhooks="$hooks" --seconds=10 "${extra[@]}" | tee "$WORK/$name.out" || true
  if [ -f "$WORK/dispatcher.pid" ]; then
    kill "$(cat "$WORK/dispatcher.pid")" 2>/dev/null || true
    rm -f "$WORK/dispatcher.pid"
  fi
  s1=$(ticks "$SERVER_PID") p1=$(ticks $(pgrep -d' ' -f "postgres: " || true)) t1=$(date +%s.%N)
  awk -v s=$((s1 - s0)) -v p=$((p1 - p0)) -v hz="$(getconf CLK_TCK)" \
    -v wall="$(echo "$t1 $t0" | awk '{print $1 - $2}')" \
    'BEGIN {printf "cpu: server %.0f%%, postgres %.0f%% (100%% = one core)\n",
            100 * s / hz / wall, 100 * p / hz / wall}'
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
fi
