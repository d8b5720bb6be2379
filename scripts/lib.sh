# shellcheck shell=bash
# Shared helpers for the leadrelay scripts. Source it; do not execute it.

: "${ROOT:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
LR_PG_BIN=/usr/lib/postgresql/15/bin
LR_PACKAGES=(
  build-essential cmake ninja-build pkg-config ccache
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  golang-github-grpc-ecosystem-grpc-gateway-dev golang-github-gogo-googleapis-dev
  libabsl-dev
  libpq-dev libssl-dev libcurl4-openssl-dev libboost-dev libyaml-cpp-dev
  libgoogle-perftools-dev
  libgtest-dev libgmock-dev libbenchmark-dev libcli11-dev
  postgresql-15 python3 python3-grpcio python3-protobuf curl
  python3-prometheus-client python3-yaml openssl
  clang-14 libclang-rt-14-dev clang-format-14
  bazel-bootstrap chromium
)

lr_log() { printf '[leadrelay] %s\n' "$*" >&2; }

# Run a command as root (via sudo when we are not root).
_lr_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Run a command as the postgres user when we are root (initdb refuses root).
# (cd / so that postgres is not left in a cwd it cannot read, e.g. /root)
_lr_pg() {
  if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

# lr_install_deps: install whichever of LR_PACKAGES is missing.
lr_install_deps() {
  local pkg missing=()
  for pkg in "${LR_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' ||
      missing+=("$pkg")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  lr_log "installing: ${missing[*]}"
  _lr_root env DEBIAN_FRONTEND=noninteractive apt-get -qq update
  _lr_root env DEBIAN_FRONTEND=noninteractive \
    apt-get -y -qq install --no-install-recommends "${missing[@]}" >/dev/null
}

# lr_build: configure once (Ninja when available), then build.
lr_build() {
  local gen=()
  command -v ninja >/dev/null && gen=(-G Ninja)
  # ccache makes a rebuild after a fresh clone or a branch switch cheap.
  command -v ccache >/dev/null && gen+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  if [ ! -f "$ROOT/build/CMakeCache.txt" ]; then
    cmake -S "$ROOT" -B "$ROOT/build" "${gen[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo
  fi
  cmake --build "$ROOT/build" -j"$(nproc)"
}

# lr_build_instrumented DIR [CMAKE_OPTION...] -- TARGET...: a clang-14 build
# (sanitizers, fuzzing) in DIR that builds only TARGETs. The main build
# (build/) stays g++.
lr_build_instrumented() {
  local dir=$1 cmake_opts=() gen=()
  shift
  while [ $# -gt 0 ] && [ "$1" != -- ]; do cmake_opts+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  command -v ninja >/dev/null && gen=(-G Ninja)
  command -v ccache >/dev/null && gen+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  if [ ! -f "$dir/CMakeCache.txt" ]; then
    CC=clang-14 CXX=clang++-14 cmake -S "$ROOT" -B "$dir" "${gen[@]}" \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo "${cmake_opts[@]}" >/dev/null
  fi
  cmake --build "$dir" -j"$(nproc)" --target "$@"
}

# lr_ctest_with_pg BUILD_DIR [CTEST_ARG...]: runs ctest in BUILD_DIR against a
# throwaway PostgreSQL (removed afterwards, also on interruption: this sets
# the EXIT trap) and BUILD_DIR's leadrelay-server, or LR_TEST_SERVER_BIN's.
# Returns ctest's status.
lr_ctest_with_pg() {
  local dir=$1 rc=0 port
  shift
  _LR_PG_TMP=$(mktemp -d "${TMPDIR:-/tmp}/leadrelay-test.XXXXXX")
  LR_PG_DIR=$_LR_PG_TMP
  trap _lr_test_pg_cleanup EXIT
  port=$(lr_free_port)
  lr_pg_start "$_LR_PG_TMP" "$port" test || return 1
  LEADRELAY_TEST_PG_URL="postgresql://postgres@127.0.0.1:$port/postgres" \
    LEADRELAY_SERVER_BIN="${LR_TEST_SERVER_BIN:-$dir/server/leadrelay-server}" \
    ctest --test-dir "$dir" --output-on-failure -j2 --timeout 600 "$@" || rc=$?
  _lr_test_pg_cleanup
  return "$rc"
}

_lr_test_pg_cleanup() {
  [ -n "${_LR_PG_TMP:-}" ] || return 0
  lr_pg_stop "$LR_PG_DIR" || true
  rm -rf "$_LR_PG_TMP" "$LR_PG_DIR"
  _LR_PG_TMP=
}

# lr_free_port: print a TCP port on 127.0.0.1 that is free right now.
lr_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# lr_port_is_free PORT: succeed if PORT can be bound on 127.0.0.1.
lr_port_is_free() {
  python3 -c 'import socket, sys; socket.socket().bind(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null
}

# Where a cluster for DIR lives when postgres cannot reach DIR itself.
_lr_pg_fallback() { printf '/tmp/leadrelay-pg-%s\n' "$(printf '%s' "$1" | md5sum | cut -c1-12)"; }

# As root, make sure the postgres user can reach DIR's parent: add o+x to the
# parents that block it. Prints the dir to use: DIR, or a fallback under /tmp.
_lr_pg_reachable_dir() {
  local dir=$1 parent p
  parent=$(dirname "$dir")
  mkdir -p "$parent"
  # Walk the ancestors top-down, opening (o+x) only those postgres cannot enter.
  p=$parent
  while [ "$p" != / ]; do printf '%s\n' "$p"; p=$(dirname "$p"); done | tac |
    while IFS= read -r p; do
      runuser -u postgres -- test -x "$p" || chmod o+x "$p" 2>/dev/null || break
    done
  if runuser -u postgres -- test -x "$parent"; then
    printf '%s\n' "$dir"
  else
    p=$(_lr_pg_fallback "$dir")
    lr_log "postgres cannot reach $parent; using $p instead"
    printf '%s\n' "$p"
  fi
}

# lr_pg_start DIR PORT [test]: create (if needed) and start a PostgreSQL 15
# cluster in DIR on 127.0.0.1:PORT. 'test' turns durability off for speed.
# Sets LR_PG_DIR to the data dir actually used (DIR unless it had to move).
lr_pg_start() {
  local dir port=$2 mode=${3:-}
  dir=$(realpath -m "$1")
  if [ "$(id -u)" -eq 0 ]; then
    dir=$(_lr_pg_reachable_dir "$dir")
    mkdir -p "$dir"
    [ -f "$dir/PG_VERSION" ] || chown postgres:postgres "$dir"
    chmod 700 "$dir"
  else
    mkdir -p "$dir"
  fi
  # shellcheck disable=SC2034  # read by the calling scripts
  LR_PG_DIR=$dir
  if [ ! -f "$dir/PG_VERSION" ]; then
    _lr_pg "$LR_PG_BIN/initdb" -D "$dir" --auth=trust -U postgres \
      --encoding=UTF8 --no-instructions >/dev/null || return 1
  fi
  lr_pg_stop "$dir"   # a stale server from an earlier run would block start
  local opts="-c listen_addresses=127.0.0.1 -p $port"
  opts+=" -c unix_socket_directories='$dir'"
  # LR_PG_EXTRA_OPTS: more server options, e.g. for profiling a benchmark
  # ("-c shared_preload_libraries=pg_stat_statements").
  opts+=" -c max_connections=300 -c shared_buffers=256MB ${LR_PG_EXTRA_OPTS:-}"
  [ "$mode" = test ] &&
    opts+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  _lr_pg "$LR_PG_BIN/pg_ctl" -D "$dir" -l "$dir/postgres.log" -o "$opts" \
    -w -t 30 start >/dev/null || {
    lr_log "PostgreSQL failed to start; log tail:"
    tail -n 30 "$dir/postgres.log" >&2
    return 1
  }
  local deadline=$((SECONDS + 30))
  while ((SECONDS < deadline)); do
    "$LR_PG_BIN/pg_isready" -q -t 1 -h 127.0.0.1 -p "$port" && return 0
    sleep 0.5
  done
  lr_log "PostgreSQL did not come up on 127.0.0.1:$port; log tail:"
  tail -n 30 "$dir/postgres.log" >&2
  return 1
}

# lr_pg_stop DIR: fast shutdown of the cluster in DIR (or its /tmp fallback);
# quiet if not running.
lr_pg_stop() {
  local dir
  dir=$(realpath -m "$1")
  [ -f "$dir/PG_VERSION" ] || dir=$(_lr_pg_fallback "$dir")
  [ -f "$dir/PG_VERSION" ] || return 0
  _lr_pg "$LR_PG_BIN/pg_ctl" -D "$dir" status >/dev/null 2>&1 || return 0
  _lr_pg "$LR_PG_BIN/pg_ctl" -D "$dir" stop -m fast >/dev/null
}
