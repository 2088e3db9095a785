#!/usr/bin/env bash
# Load benchmark: seeds each backend at two sizes, starts the release server on 127.0.0.1, drives
# it with wrk for a bounded time per endpoint, and prints one table per backend and size.
#
#   scripts/bench.sh                 # full: 10,000 and 1,000,000 deployments (~20 min)
#   BENCH_SIZES="2000" BENCH_SECONDS=1 scripts/bench.sh   # smoke (seconds), as CI runs it
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
source scripts/pg.sh

SIZES=${BENCH_SIZES:-"10000 1000000"}
SECONDS_PER_RUN=${BENCH_SECONDS:-5}
APPS=${BENCH_APPLICATIONS:-500}
ENVS=${BENCH_ENVIRONMENTS:-15}
OUT=${BENCH_OUT:-target/bench}
BACKENDS=${BENCH_BACKENDS:-"sqlite postgres"}
mkdir -p "$OUT"
command -v wrk >/dev/null || { echo "installing wrk"; apt-get install -y wrk >/dev/null; }
[ -x target/release/server ] || cargo leptos build --release

work=$(mktemp -d /tmp/deploytrack-bench.XXXXXX)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  pg_stop
  rm -rf "$work"
}
trap cleanup EXIT
if [[ " $BACKENDS " == *" postgres "* ]]; then pg_start; fi

export DEPLOYTRACK_ADMIN_PASSWORD="bench-admin-password"
export LEPTOS_SITE_ROOT=target/site

# wrk with latency percentiles; prints "p50_ms p99_ms req_per_s".
measure() {
  local url=$1 script=${2:-}
  local args=(-t2 -c8 -d"${SECONDS_PER_RUN}s" --latency -H "Authorization: Bearer $TOKEN")
  [ -n "$script" ] && args+=(-s "$script")
  wrk "${args[@]}" "$url" | awk '
    function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
    $1=="50%" {p50=ms($2)} $1=="99%" {p99=ms($2)} $1=="Requests/sec:" {rps=$2}
    END { printf "%.2f %.2f %.0f\n", p50, p99, rps }'
}

row() { # name url [lua]
  read -r p50 p99 rps < <(measure "$2" "${3:-}")
  printf '| %s | %s | %s | %s |\n' "$1" "$p50" "$p99" "$rps" | tee -a "$REPORT"
}

for backend in $BACKENDS; do
  for size in $SIZES; do
    if [ "$backend" = sqlite ]; then
      export DATABASE_URL="sqlite://$work/bench-$size.db"
    else
      db="bench_$size"
      psql "$TEST_DATABASE_URL" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
      export DATABASE_URL="${TEST_DATABASE_URL%/*}/$db"
    fi
    echo "==> seeding $backend with $size deployments"
    seed_line=$(target/release/server seed --applications "$APPS" --environments "$ENVS" --deployments "$size" 2>/dev/null | tail -1)
    echo "$seed_line"
    port=$(free_port)
    DEPLOYTRACK_ADDR="127.0.0.1:$port" target/release/server >"$work/server.log" 2>&1 &
    server_pid=$!
    wait_for_url "http://127.0.0.1:$port/healthz" 60
    base="http://127.0.0.1:$port"
    login=$(curl -fsS -c "$work/cookies" -H 'content-type: application/json' \
      -d "{\"username\":\"admin\",\"password\":\"$DEPLOYTRACK_ADMIN_PASSWORD\"}" "$base/api/auth/login")
    TOKEN=$(curl -fsS -b "$work/cookies" -H 'content-type: application/json' -d '{"name":"bench"}' "$base/api/tokens" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
    app=$(curl -fsS -H "Authorization: Bearer $TOKEN" "$base/api/applications" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
    env=$(curl -fsS -H "Authorization: Bearer $TOKEN" "$base/api/environments" | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["id"])')
    version=$(curl -fsS -H "Authorization: Bearer $TOKEN" "$base/api/applications/$app/versions" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
    year_ago=$(date -u -d '1 year ago' +%Y-%m-%dT%H:%M:%SZ)
    # A cursor deep in history: walk pages of 500 until ~100,000 rows (or the end).
    deep_cursor=""
    python3 - "$base" "$TOKEN" "$work/deep" <<'PY'
import json, sys, urllib.request
base, token, out = sys.argv[1:4]
cursor, seen = None, 0
while seen < 100_000:
    url = f"{base}/api/deployments?limit=500" + (f"&cursor={cursor}" if cursor else "")
    page = json.load(urllib.request.urlopen(urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})))
    seen += len(page["items"])
    if not page["nextCursor"]:
        break
    cursor = page["nextCursor"]
open(out, "w").write(cursor or "")
PY
    deep_cursor=$(cat "$work/deep")
    cat >"$work/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"applicationId":"$app","versionId":"$version","environmentId":"$env","deploymentDate":"$year_ago"}'
LUA
    REPORT="$OUT/$backend-$size.md"
    {
      echo "### $backend, $size deployments ($APPS applications × $ENVS environments)"
      echo
      echo "$seed_line"
      echo
      echo "| endpoint | p50 ms | p99 ms | req/s |"
      echo "|---|---|---|---|"
    } >"$REPORT"
    row "current-state matrix \`/api/deployments/current\`" "$base/api/deployments/current"
    row "one application's current state" "$base/api/applications/$app/deployments/current"
    row "one environment's current state" "$base/api/environments/$env/deployments/current"
    row "time-travel matrix \`?at=\` a year ago" "$base/api/deployments/current?at=$year_ago"
    row "history, first page (50)" "$base/api/deployments"
    row "history, first page filtered by environment" "$base/api/deployments?environmentId=$env"
    if [ -n "$deep_cursor" ]; then
      row "history, page ~100,000 rows deep" "$base/api/deployments?cursor=$deep_cursor"
    fi
    row "dashboard page (server-side render)" "$base/"
    row "\`POST /api/deployments\`, 8 clients" "$base/api/deployments" "$work/post.lua"
    rss=$(awk '/VmHWM/ {print $2}' "/proc/$server_pid/status")
    echo "" >>"$REPORT"
    echo "Server peak RSS: $((rss / 1024)) MB" | tee -a "$REPORT"
    if [ "$backend" = postgres ]; then
      naive=$(psql "$DATABASE_URL" -qAt -c '\timing on' -c "SELECT count(*) FROM (SELECT DISTINCT ON (application_id, environment_id) * FROM deployment ORDER BY application_id, environment_id, deployment_date DESC) s" | awk '/Time:/ {print $2}')
      echo "Naive DISTINCT ON over the whole table (the story's query, all pairs): ${naive} ms" | tee -a "$REPORT"
    fi
    kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
  done
done
wasm=target/site/pkg/deploytrack.wasm
echo "Release WASM: $(stat -c %s $wasm) bytes raw, $(gzip -c $wasm | wc -c) bytes gzip" | tee "$OUT/wasm.md"
cat "$OUT"/*.md
