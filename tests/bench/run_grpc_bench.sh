#!/usr/bin/env bash
# Benchmark leadrelay-server over gRPC against a throwaway PostgreSQL cluster
# with durability ON (fsync, synchronous_commit): the figures are honest ones.
# Beside each RPC, pgbench runs the SQL the server issues for it (prepared,
# same concurrency, same cluster, same run) and the script prints
# leadrelay/pgbench: how close the server gets to its own database on this
# machine right now, which is what to compare across machines and runs.
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
PGBENCH=${PGBENCH_BIN:-$LR_PG_BIN/pgbench}
SQL_DIR=$ROOT/tests/bench/pgbench
CONCURRENCY=${BENCH_CONCURRENCY:-32}
SECONDS_PER_METHOD=${BENCH_SECONDS:-10}
bench_require "$SERVER" "$BENCH" "$PGBENCH"

bench_start_cluster
API_KEY=$(bench_bootstrap bench)
GRPC_PORT=$(lr_free_port)
bench_start_server "$GRPC_PORT" --grpc_address="127.0.0.1:$GRPC_PORT"
PSQL=("$LR_PG_BIN/psql" -X -q -At -h 127.0.0.1 -p "$PG_PORT" -U postgres)
ACCOUNT_ID=$("${PSQL[@]}" -c "SELECT account_id FROM api_keys LIMIT 1")
KEY_ID=$("${PSQL[@]}" -c "SELECT id FROM api_keys LIMIT 1")

# CPU ticks (user + system) of the server, and of PostgreSQL.
TICK=$(getconf CLK_TCK)
server_ticks() { bench_ticks_of "$SERVER_PID/stat"; }

# CPU seconds (user + system) of the ended children of the shell that wrote
# FILE with `times` (not in a subshell: that one has no children).
children_seconds() {
  awk 'NR == 2 {
    n = 0
    for (i = 1; i <= 2; i++) {
      split($i, ms, "m"); sub("s", "", ms[2]); n += ms[1] * 60 + ms[2]
    }
    print n}' "$1"
}

# measure LABEL COMMAND...: runs COMMAND, tees its output to $WORK/LABEL.out
# and prints the CPU the server, PostgreSQL and the load generator (COMMAND)
# used meanwhile: they share the machine, so a costly client lowers every
# figure.
measure() {
  local label=$1 s0 p0 t0 s1 p1 t1
  shift
  s0=$(server_ticks) p0=$(bench_pg_ticks) t0=$(date +%s.%N)
  times >"$WORK/times.before"
  "$@" | tee "$WORK/$label.out"
  times >"$WORK/times.after"
  s1=$(server_ticks) p1=$(bench_pg_ticks) t1=$(date +%s.%N)
  awk -v s="$((s1 - s0))" -v p="$((p1 - p0))" -v hz="$TICK" \
    -v c="$(echo "$(children_seconds "$WORK/times.after")" \
      "$(children_seconds "$WORK/times.before")" | awk '{print $1 - $2}')" \
    -v wall="$(echo "$t1 $t0" | awk '{print $1 - $2}')" \
    -v rss="$(ps -o rss= -p "$SERVER_PID")" -v label="$label" \
    'BEGIN {printf "  during %s: server cpu=%.0f%% postgres cpu=%.0f%% " \
                   "client cpu=%.0f%% (100%% = one core), " \
                   "server rss=%.1f MiB\n",
            label, 100 * s / hz / wall, 100 * p / hz / wall,
            100 * c / wall, rss / 1024}'
}

leadrelay() {  # METHOD [extra flags]
  local method=$1
  shift
  measure "leadrelay_$method" "$BENCH" --target="127.0.0.1:$GRPC_PORT" \
    --api_key="$API_KEY" --concurrency="$CONCURRENCY" \
    --seconds="$SECONDS_PER_METHOD" --method="$method" "$@"
}

pgbench_sql() {  # NAME FILE: pgbench on FILE, same clients and duration
  local name=$1 script=$2
  echo "pgbench $name ($(basename "$script"))"
  measure "pgbench_$name" "$PGBENCH" -n -M prepared -c "$CONCURRENCY" -j 4 \
    -T "$SECONDS_PER_METHOD" -h 127.0.0.1 -p "$PG_PORT" -U postgres \
    -D account="$ACCOUNT_ID" -D lead="${LEAD_ID:-none}" -D key="$KEY_ID" \
    -f "$script" postgres |
    grep -E '^(tps|latency average|number of failed|  during)' | sed 's/^/  /'
}

rate_of() {  # LABEL: throughput printed by the run labelled LABEL
  sed -n -e 's/^.*throughput= *\([0-9.]*\)\/s.*$/\1/p' \
    -e 's/^ *tps = \([0-9.]*\) .*$/\1/p' "$WORK/$1.out" | head -n 1
}

ratio() {  # LEADRELAY_LABEL PGBENCH_LABEL WHAT
  awk -v a="$(rate_of "$1")" -v b="$(rate_of "$2")" -v what="$3" \
    'BEGIN {printf "  %-44s %9.1f/s vs %9.1f/s = %5.2fx\n", what, a, b,
            (b > 0 ? a / b : 0)}'
}

echo "== leadrelay gRPC bench: $(nproc) cores (shared), PostgreSQL durable," \
  "concurrency $CONCURRENCY, ${SECONDS_PER_METHOD}s per method"
leadrelay create "$@"
pgbench_sql create_notify "$SQL_DIR/create_lead.sql"
# The same transaction without its NOTIFY: what one transaction per lead
# costs when commits can be grouped.
sed "s/pg_notify('leadrelay_events', :account)/0/" "$SQL_DIR/create_lead.sql" \
  >"$WORK/create_lead_no_notify.sql"
if grep -q pg_notify "$WORK/create_lead_no_notify.sql"; then
  lr_log "create_lead.sql changed: its NOTIFY was not removed"
  exit 1
fi
pgbench_sql create_no_notify "$WORK/create_lead_no_notify.sql"
leadrelay get "$@"
LEAD_ID=$("${PSQL[@]}" -c "SELECT id FROM leads WHERE external_id LIKE 'bench-%' LIMIT 1")
pgbench_sql get_lead "$SQL_DIR/get_lead.sql"
leadrelay getme "$@"
pgbench_sql get_me "$SQL_DIR/get_me.sql"

echo "== leadrelay / pgbench, same cluster, same run (what counts)"
ratio leadrelay_create pgbench_create_notify \
  "CreateLead / pgbench tx per lead + NOTIFY"
ratio leadrelay_create pgbench_create_no_notify \
  "CreateLead / pgbench tx per lead, no NOTIFY"
ratio leadrelay_get pgbench_get_lead "GetLead / pgbench point read"
ratio leadrelay_getme pgbench_get_me "GetMe / pgbench GetMe's two reads"
ratio leadrelay_getme pgbench_get_lead "GetMe / pgbench point read"
echo "== server process (ps -o rss,pcpu; rss in KiB, pcpu over its lifetime)"
ps -o rss,pcpu -p "$SERVER_PID"
