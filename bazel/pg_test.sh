#!/usr/bin/env bash
# Runs one test binary the way scripts/test runs it: with LEADRELAY_SERVER_BIN
# and a PostgreSQL cluster in LEADRELAY_TEST_PG_URL. scripts/bazel_test passes
# one shared cluster for the whole run; without it, this starts a throwaway
# cluster of its own (fsync off) and removes it afterwards.
# Usage: pg_test.sh TEST_BINARY [args...]   (cwd: the runfiles tree)
set -euo pipefail
bin=$1
shift
export LEADRELAY_SERVER_BIN="$PWD/server/leadrelay-server"
export LEADRELAY_DESCRIPTOR_SET="$PWD/proto/leadrelay.pb"
if [ -z "${LEADRELAY_SECRETS_KEY:-}" ]; then
  LEADRELAY_SECRETS_KEY="test:$(head -c 32 /dev/urandom | base64)"
  export LEADRELAY_SECRETS_KEY
fi
if [ -z "${LEADRELAY_TEST_PG_URL:-}" ]; then
  ROOT=$PWD
  # shellcheck source=scripts/lib.sh
  . "$ROOT/scripts/lib.sh"
  pg_tmp=$(mktemp -d /tmp/leadrelay-bazel-pg.XXXXXX)
  LR_PG_DIR=$pg_tmp
  trap 'lr_pg_stop "$LR_PG_DIR" || true; rm -rf "$pg_tmp" "$LR_PG_DIR"' EXIT
  port=$(lr_free_port)
  lr_pg_start "$pg_tmp" "$port" test
  export LEADRELAY_TEST_PG_URL="postgresql://postgres@127.0.0.1:$port/postgres"
fi
"$bin" "$@"
