#!/usr/bin/env bash
# Runs the Playwright suite against the release build on a fresh SQLite database.
# Expects `cargo leptos build --release` to have run. Arguments go to Playwright (e.g. a spec name);
# SERVER_BIN picks another server binary (the UI coverage run uses an instrumented one).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

work=$(mktemp -d /tmp/deploytrack-e2e.XXXXXX)
port=$(free_port)
export DATABASE_URL="sqlite://$work/e2e.db"
export DEPLOYTRACK_ADDR="127.0.0.1:$port"
export LEPTOS_SITE_ROOT="target/site"
export DEPLOYTRACK_ADMIN_PASSWORD="e2e-admin-password"
"${SERVER_BIN:-target/release/deploytrack}" >"$work/server.log" 2>&1 &
server_pid=$!
cleanup() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

if ! wait_for_url "http://127.0.0.1:$port/healthz" 60; then
  cat "$work/server.log"
  exit 1
fi
status=0
(cd end2end && BASE_URL="http://127.0.0.1:$port" ADMIN_PASSWORD="$DEPLOYTRACK_ADMIN_PASSWORD" npx playwright test "$@") || status=$?
if [ $status -ne 0 ]; then
  echo "---- server log ----"
  tail -50 "$work/server.log"
fi
exit $status
