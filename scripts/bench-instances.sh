#!/usr/bin/env bash
# How many instances one PostgreSQL carries: requests/s through HAProxy with 1, 2 and 3 release
# servers on one database (scripts/cluster.sh), 16 concurrent wrk clients per endpoint, and one
# server without the balancer for comparison. Everything shares this machine's cores.
#
#   scripts/bench-instances.sh      # 10,000 deployments, 5 s per run (~3 min); make bench-instances
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
source scripts/pg.sh
source scripts/cluster.sh

SIZE=${BENCH_SIZE:-10000}
SECONDS_PER_RUN=${BENCH_SECONDS:-5}
CONNECTIONS=${BENCH_CONNECTIONS:-16}
OUT=${BENCH_OUT:-target/bench}
mkdir -p "$OUT"
command -v wrk >/dev/null || { echo "installing wrk"; apt-get install -y wrk >/dev/null; }
[ -x target/release/deploytrack ] || cargo leptos build --release --precompress --split

work=$(mktemp -d /tmp/deploytrack-bench-instances.XXXXXX)
cleanup() {
  cluster_stop
  pg_stop
  rm -rf "$work"
}
trap cleanup EXIT
pg_start
export DEPLOYTRACK_ADMIN_PASSWORD="bench-admin-password"
export LEPTOS_SITE_ROOT=target/site
export DEPLOYTRACK_TRUSTED_PROXIES=127.0.0.1
psql "$TEST_DATABASE_URL" -qc "CREATE DATABASE bench_instances"
database_url="${TEST_DATABASE_URL%/*}/bench_instances"
echo "==> seeding PostgreSQL with $SIZE deployments (500 applications × 15 environments)"
DATABASE_URL=$database_url target/release/deploytrack seed --applications 500 --environments 15 \
  --deployments "$SIZE" 2>/dev/null | tail -1

# requests/s of one wrk run, or fails on errors.
rate() {
  local url=$1 script=${2:-}
  local args=(-t2 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --timeout 10s -H "Authorization: Bearer $TOKEN")
  [ -n "$script" ] && args+=(-s "$script")
  wrk "${args[@]}" "$url" | awk '
    $1=="Requests/sec:" {rps=$2} /Non-2xx/ || /Socket errors/ {bad=$0}
    END { if (bad != "" || rps + 0 == 0) { print "wrk: " (bad != "" ? bad : "no answers") > "/dev/stderr"; exit 1 }
          printf "%.0f\n", rps }'
}

# One table row for the servers behind $1.
measure() {
  local label=$1 base=$2 app env version
  TOKEN=$(curl -fsS -c "$work/cookies" -H 'content-type: application/json' \
      -d "{\"username\":\"admin\",\"password\":\"$DEPLOYTRACK_ADMIN_PASSWORD\"}" "$base/api/auth/login" >/dev/null &&
    curl -fsS -b "$work/cookies" -H 'content-type: application/json' -d '{"name":"bench"}' "$base/api/tokens" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
  app=$(curl -fsS -H "Authorization: Bearer $TOKEN" "$base/api/applications" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
  env=$(curl -fsS -H "Authorization: Bearer $TOKEN" "$base/api/environments" | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["id"])')
  version=$(curl -fsS -H "Authorization: Bearer $TOKEN" "$base/api/applications/$app/versions" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
  cat >"$work/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"applicationId":"$app","versionId":"$version","environmentId":"$env","deploymentDate":"$(date -u -d '1 year ago' +%Y-%m-%dT%H:%M:%SZ)"}'
LUA
  printf '| %s | %s | %s | %s | %s |\n' "$label" \
    "$(rate "$base/api/deployments/current")" "$(rate "$base/api/deployments?environmentId=$env")" \
    "$(rate "$base/")" "$(rate "$base/api/deployments" "$work/post.lua")" | tee -a "$REPORT"
}

REPORT="$OUT/instances.md"
{
  echo "### PostgreSQL, $SIZE deployments, $CONNECTIONS clients: requests/s by number of instances"
  echo
  echo "| servers | matrix \`/api/deployments/current\` | history page (one environment) | dashboard page | \`POST /api/deployments\` |"
  echo "|---|---|---|---|---|"
} >"$REPORT"
for count in 1 2 3; do
  cluster_start "$count" "$database_url"
  [ "$count" = 1 ] && measure "1, direct (no balancer)" "${INSTANCE_URLS[0]}"
  measure "$count behind HAProxy" "$BALANCER_URL"
  cluster_stop
done
echo
cat "$REPORT"
