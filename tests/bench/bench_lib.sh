# shellcheck shell=bash
# Shared set-up of the benchmark scripts: a throwaway PostgreSQL cluster with
# durability ON (honest figures), an account on the unlimited `internal`
# plan, and one leadrelay-server, all removed on exit. Source it after
# scripts/lib.sh.

SERVER=${LEADRELAY_SERVER_BIN:-$ROOT/build/server/leadrelay-server}
# The servers' master key (webhook secrets, cursors): one per run.
LEADRELAY_SECRETS_KEY=${LEADRELAY_SECRETS_KEY:-bench:$(head -c 32 /dev/urandom | base64)}
export LEADRELAY_SECRETS_KEY
SERVER_PID=

# bench_require FILE...: stop with a hint when a binary is not built.
bench_require() {
  local file
  for file in "$@"; do
    if [ ! -e "$file" ]; then
      lr_log "missing $file; build it first (cmake --build build --target ...)"
      exit 1
    fi
  done
}

# shellcheck disable=SC2317  # invoked by the EXIT trap
bench_cleanup() {
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

# bench_start_cluster: sets WORK, LR_PG_DIR, PG_PORT and DATABASE_URL.
bench_start_cluster() {
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/leadrelay-bench.XXXXXX")
  LR_PG_DIR=$WORK/pg
  trap bench_cleanup EXIT
  PG_PORT=$(lr_free_port)
  lr_pg_start "$LR_PG_DIR" "$PG_PORT"  # durable: no 'test' mode
  DATABASE_URL="postgresql://postgres@127.0.0.1:$PG_PORT/postgres"
}

# bench_ticks_of PID/stat...: CPU ticks (user + system) of the processes
# (getconf CLK_TCK a second); one that has ended counts nothing.
bench_ticks_of() {
  { cat "${@/#//proc/}" 2>/dev/null || true; } |
    awk '{t += $14 + $15} END {print t + 0}'
}

# bench_pg_ticks: PostgreSQL's CPU ticks: the postmaster, its live children,
# and (cutime + cstime of the postmaster) the children that have exited,
# such as pgbench's backends.
bench_pg_ticks() {
  local pm pids
  pm=$(head -n 1 "$LR_PG_DIR/postmaster.pid")
  pids=$(ps -o pid= --ppid "$pm" | awk '{print $1 "/stat"}')
  # shellcheck disable=SC2086  # one word per pid
  echo $(($(bench_ticks_of "$pm/stat" $pids) +
    $(awk '{print $16 + $17}' "/proc/$pm/stat")))
}

# bench_bootstrap NAME [DATABASE_URL]: prints the admin key of a new account
# on the internal plan (no rate limit) with plenty of credits.
bench_bootstrap() {
  local out key
  out=$("$SERVER" --database_url="${2:-$DATABASE_URL}" --bootstrap_account="$1" \
    --bootstrap_plan=internal --bootstrap_credits=100000000 2>/dev/null)
  key=$(sed -n 's/^api_key=//p' <<<"$out")
  if [ -z "$key" ]; then
    lr_log "bootstrap printed no api_key= line: $out"
    exit 1
  fi
  printf '%s\n' "$key"
}

# bench_start_server PORT ARGS...: starts the server with ARGS (besides
# --database_url) and waits until PORT accepts connections.
bench_start_server() {
  local port=$1 deadline=$((SECONDS + 30))
  shift
  "$SERVER" --database_url="$DATABASE_URL" "$@" >"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  until (: </dev/tcp/127.0.0.1/"$port") 2>/dev/null; do
    if ! kill -0 "$SERVER_PID" 2>/dev/null || ((SECONDS >= deadline)); then
      lr_log "leadrelay-server did not come up on 127.0.0.1:$port; log:"
      tail -n 30 "$WORK/server.log" >&2
      exit 1
    fi
    sleep 0.2
  done
}
