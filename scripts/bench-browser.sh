#!/usr/bin/env bash
# What the browser receives: seeds SQLite (500 applications × 15 environments, 10,000 deployments by
# default), serves it with the release build and measures the dashboard in Chromium
# (end2end/bench/wire.mjs): bytes on the wire cold and warm, HTML size, time to hydrated, without
# and with 10 Mbit/s / 40 ms network emulation.
#
#   scripts/bench-browser.sh           # ~2 min; BENCH_DEPLOYMENTS, BENCH_APPLICATIONS, BENCH_ENVIRONMENTS
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --browser >/dev/null
source scripts/env.sh
server=${SERVER_BIN:-target/release/deploytrack}
[ -n "${SERVER_BIN:-}" ] || [ -x "$server" ] || cargo leptos build --release --precompress --split

work=$(mktemp -d /tmp/deploytrack-bench-browser.XXXXXX)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
export DATABASE_URL="sqlite://$work/bench.db"
export DEPLOYTRACK_ADMIN_PASSWORD="bench-admin-password"
export LEPTOS_SITE_ROOT=target/site
"$server" seed --applications "${BENCH_APPLICATIONS:-500}" \
  --environments "${BENCH_ENVIRONMENTS:-15}" --deployments "${BENCH_DEPLOYMENTS:-10000}" 2>/dev/null | tail -1
port=$(free_port)
DEPLOYTRACK_ADDR="127.0.0.1:$port" "$server" >"$work/server.log" 2>&1 &
server_pid=$!
wait_for_url "http://127.0.0.1:$port/healthz" 60
BASE_URL="http://127.0.0.1:$port" ADMIN_PASSWORD=$DEPLOYTRACK_ADMIN_PASSWORD node end2end/bench/wire.mjs
