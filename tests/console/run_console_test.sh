#!/usr/bin/env bash
# Browser test of the web console: a throwaway database, a real
# leadrelay-server with its in-process REST gateway, and headless Chromium
# (Debian's) driven by puppeteer-core (npm, pinned by package-lock.json).
# Needs LEADRELAY_SERVER_BIN and LEADRELAY_TEST_PG_URL (scripts/test sets
# both). Screenshots go to $CONSOLE_SHOT_DIR (default: the ctest build dir).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"

: "${LEADRELAY_SERVER_BIN:?set by scripts/test}"
: "${LEADRELAY_TEST_PG_URL:?set by scripts/test}"
DESCRIPTOR_SET=${LEADRELAY_DESCRIPTOR_SET:-$ROOT/build/leadrelay.pb}
SHOTS=${CONSOLE_SHOT_DIR:-$PWD/console-screenshots}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/leadrelay-console.XXXXXX")
SERVER_PID=
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$SHOTS"

# A database of its own.
DB="console_$$_$RANDOM"
"$LR_PG_BIN/psql" -X -q "$LEADRELAY_TEST_PG_URL" -c "CREATE DATABASE $DB"
DB_URL="${LEADRELAY_TEST_PG_URL%/*}/$DB"

out=$("$LEADRELAY_SERVER_BIN" --database_url="$DB_URL" --bootstrap_account=console)
API_KEY=$(sed -n 's/^api_key=//p' <<<"$out")
[ -n "$API_KEY" ] || { echo "bootstrap printed no api_key= line" >&2; exit 1; }

GRPC_PORT=$(lr_free_port)
HTTP_PORT=$(lr_free_port)
"$LEADRELAY_SERVER_BIN" --database_url="$DB_URL" \
  --grpc_address="127.0.0.1:$GRPC_PORT" --http_address="127.0.0.1:$HTTP_PORT" \
  --gateway_config="$ROOT/gateway/envoy.yaml" --descriptor_set="$DESCRIPTOR_SET" \
  --allow_webhook_hosts=127.0.0.1,localhost \
  --dispatcher_poll_interval=200ms >"$WORK/server.log" 2>&1 &
SERVER_PID=$!

# Ready when the console answers (bounded: 60 s on a loaded machine).
for _ in $(seq 600); do
  if curl -fs -o /dev/null "http://127.0.0.1:$HTTP_PORT/console/"; then break; fi
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
  sleep 0.1
done

# puppeteer-core only; never a browser download. Installed beside a copy of
# the test, in the work directory: node resolves modules from a script's real
# path, which under Bazel's runfiles is the read-only source tree.
export PUPPETEER_SKIP_DOWNLOAD=1
mkdir "$WORK/app"
cp "$HERE/console.test.mjs" "$HERE/package.json" "$HERE/package-lock.json" \
  "$WORK/app/"
(cd "$WORK/app" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)

rc=0
CONSOLE_URL="http://127.0.0.1:$HTTP_PORT/console/" API_KEY="$API_KEY" \
  SHOT_DIR="$SHOTS" USER_DATA_DIR="$WORK/chromium" \
  node "$WORK/app/console.test.mjs" || rc=$?
if [ "$rc" -ne 0 ]; then
  echo "--- server log ---" >&2
  tail -n 50 "$WORK/server.log" >&2
fi
exit "$rc"
