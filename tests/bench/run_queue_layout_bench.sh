#!/usr/bin/env bash
# PostgreSQL's share of a webhook delivery under two layouts of the delivery
# queue, SQL only (no server), same durable cluster, same run:
#   today   the pending state in the deliveries row (queue_layout_today.sql);
#   narrow  the pending state in a narrow table of its own, so the
#           deliveries row's one update per attempt can be HOT
#           (queue_layout_narrow.sql), fillfactor 60, foreign keys as today;
#   bound   the same, fillfactor 50 and no foreign keys on the queue and
#           attempt rows: what the layout could give at best.
# For each, pgbench (one client, prepared) creates deliveries in batches as
# CreateLead does, and drains them as the dispatcher does (claim, commit,
# record a first attempt that succeeded, commit), alternating layouts, the
# order reversed every other round. Each run vacuums the tables it changed
# (autovacuum is off). Prints PostgreSQL's CPU (all its processes, the
# vacuum included) and WAL per delivery, and each layout's CPU per delivery as a
# ratio of today's in the same round: the drain, the creation, and both.
#
#   tests/bench/run_queue_layout_bench.sh
#
# Environment: BATCH (128 deliveries a call), CALLS (150 calls a run),
# ROUNDS (3), BACKLOG (30,000 due deliveries per layout before the runs).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"

# shellcheck source=tests/bench/bench_lib.sh
. "$ROOT/tests/bench/bench_lib.sh"

BATCH=${BATCH:-128}
CALLS=${CALLS:-150}
ROUNDS=${ROUNDS:-3}
BACKLOG=${BACKLOG:-30000}
SQL_DIR=$ROOT/tests/bench/pgbench
PGBENCH=$LR_PG_BIN/pgbench
bench_require "$PGBENCH"
bench_start_cluster
PSQL=("$LR_PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT"
  -U postgres)

# The schema as the server's migrations leave it, one account with 12
# webhooks and 5,000 events of ~700 bytes (a lead.new's size).
for migration in "$ROOT"/server/migrations/*.sql; do
  PGOPTIONS="-c client_min_messages=warning" "${PSQL[@]}" -f "$migration"
done
"${PSQL[@]}" <<'SQL'
INSERT INTO accounts (id, name, plan, plan_renews_at)
VALUES ('acc_bench', 'bench', 'internal', now() + interval '30 days');
INSERT INTO webhooks (id, account_id, url, events, secret)
SELECT 'wh_' || g, 'acc_bench', 'http://127.0.0.1:9/hook', '{lead.new}',
       'unused'
FROM generate_series(1, 12) g;
INSERT INTO events (id, account_id, type, body)
SELECT 'evt_' || g, 'acc_bench', 'lead.new',
       decode(repeat(md5(g::text), 22), 'hex')
FROM generate_series(1, 5000) g;
SQL
"${PSQL[@]}" -f "$SQL_DIR/queue_layout_today.sql"
"${PSQL[@]}" -v schema=narrow -v fillfactor=60 -v fks=on \
  -f "$SQL_DIR/queue_layout_narrow.sql"
"${PSQL[@]}" -v schema=bound -v fillfactor=50 -v fks=off \
  -f "$SQL_DIR/queue_layout_narrow.sql"
LAYOUTS=(today narrow bound)
search_path() { [ "$1" = today ] && echo public || echo "$1,public"; }
for layout in "${LAYOUTS[@]}"; do
  PGOPTIONS="-c search_path=$(search_path "$layout")" \
    "${PSQL[@]}" -c "CALL lr_bench_create($BACKLOG)"
done
# Autovacuum off: its work landed on whichever run happened to be going.
# Each run vacuums what it changed instead, inside its measurement (run).
"${PSQL[@]}" -c "ALTER SYSTEM SET autovacuum = off" -c "SELECT pg_reload_conf()" \
  -c "VACUUM ANALYZE" >/dev/null

TICK=$(getconf CLK_TCK)
wal() { "${PSQL[@]}" -At -c "SELECT wal_records || ' ' || wal_bytes FROM pg_stat_wal"; }

# run LAYOUT WORK (create|drain): prints the line and sets US (PostgreSQL's
# CPU µs per delivery).
US=0
run() {
  local layout=$1 work=$2 t0 t1 w0 w1
  echo "CALL lr_bench_$work($BATCH);" >"$WORK/call.sql"
  w0=$(wal)
  t0=$(bench_pg_ticks)
  PGOPTIONS="-c search_path=$(search_path "$layout")" \
    "$PGBENCH" -n -M prepared -c 1 -t "$CALLS" -f "$WORK/call.sql" \
    -h 127.0.0.1 -p "$PG_PORT" -U postgres postgres >"$WORK/pgbench.out" 2>&1 || {
    cat "$WORK/pgbench.out" >&2
    exit 1
  }
  PGOPTIONS="-c search_path=$(search_path "$layout")" "${PSQL[@]}" -c \
    "VACUUM deliveries, delivery_attempts$([ "$layout" = today ] || echo ", queue")"
  t1=$(bench_pg_ticks)
  w1=$(wal)
  US=$(awk -v d=$((t1 - t0)) -v hz="$TICK" -v n=$((BATCH * CALLS)) \
    'BEGIN {printf "%.1f", d / hz * 1e6 / n}')
  awk -v l="$layout" -v w="$work" -v us="$US" -v w0="$w0" -v w1="$w1" \
    -v n=$((BATCH * CALLS)) 'BEGIN {
      split(w0, a, " "); split(w1, b, " ")
      printf "  %-6s %-6s PostgreSQL %6.1f us/delivery, WAL %5.1f records %5.0f bytes/delivery\n",
        l, w, us, (b[1] - a[1]) / n, (b[2] - a[2]) / n }'
}

declare -A CREATE DRAIN
for round in $(seq "$ROUNDS"); do
  echo "round $round"
  order=("${LAYOUTS[@]}")
  if ((round % 2 == 0)); then order=(bound narrow today); fi
  # Creating and draining the same number keeps each backlog at BACKLOG.
  for layout in "${order[@]}"; do run "$layout" create; CREATE[$layout]=$US; done
  for layout in "${order[@]}"; do run "$layout" drain; DRAIN[$layout]=$US; done
  for layout in narrow bound; do
    awk -v l="$layout" -v c="${CREATE[$layout]}" -v d="${DRAIN[$layout]}" \
      -v c0="${CREATE[today]}" -v d0="${DRAIN[today]}" 'BEGIN {
        printf "  %s / today, PostgreSQL CPU per delivery: drain %.2fx, creation %.2fx, both %.2fx\n",
          l, d / d0, c / c0, (c + d) / (c0 + d0) }'
  done
done
"${PSQL[@]}" -At -F ' ' -c "SELECT 'HOT updates of ' || schemaname || '.deliveries:',
  n_tup_hot_upd || ' of ' || n_tup_upd FROM pg_stat_user_tables
  WHERE relname = 'deliveries' ORDER BY schemaname"
