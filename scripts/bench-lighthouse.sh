#!/usr/bin/env bash
# Lighthouse 12.2.3 (npm, in end2end/bench) with Debian's Chromium on the demo data: the dashboard,
# the record form, insights, history and an application's Deployments tab, mobile and desktop
# presets (end2end/bench/lighthouse.mjs). About 3 minutes; part of `make bench`.
#
#   scripts/bench-lighthouse.sh        # PAGES="/ /insights" for some pages only
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --browser >/dev/null
source scripts/env.sh
server=${SERVER_BIN:-target/release/deploytrack}
[ -n "${SERVER_BIN:-}" ] || [ -x "$server" ] || cargo leptos build --release --precompress --split
if [ "$(cat end2end/bench/node_modules/.deploytrack-lock 2>/dev/null)" != "$(sha256sum <end2end/bench/package-lock.json)" ]; then
  echo "==> installing Lighthouse in end2end/bench (about 20 s, once)"
  (cd end2end/bench && npm ci --no-audit --no-fund >/dev/null)
  sha256sum <end2end/bench/package-lock.json >end2end/bench/node_modules/.deploytrack-lock
fi

work=$(mktemp -d /tmp/deploytrack-lighthouse.XXXXXX)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
export DATABASE_URL="sqlite://$work/demo.db" DEPLOYTRACK_DEMO=true
export DEPLOYTRACK_ADMIN_PASSWORD="bench-admin-password"
export LEPTOS_SITE_ROOT=target/site
port=$(free_port)
DEPLOYTRACK_ADDR="127.0.0.1:$port" "$server" >"$work/server.log" 2>&1 &
server_pid=$!
wait_for_url "http://127.0.0.1:$port/healthz" 60
BASE_URL="http://127.0.0.1:$port" ADMIN_PASSWORD=$DEPLOYTRACK_ADMIN_PASSWORD node end2end/bench/lighthouse.mjs
