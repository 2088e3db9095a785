#!/usr/bin/env bash
# Compares two server binaries on one seeded database, alternating them (A, B, A, B, …) so that
# whatever else the machine is doing falls on both. For each run it prints the first time-travel
# request after a start, the matrix and the history's first page (1 client), time travel at
# random instants (1 client), recording a year back into one pair (8 clients), insights over
# three years (1 client, then 8), and the server's peak RSS. The same binary twice measures one
# build on a database too large for `make bench` to seed in a session (10M).
#
#   scripts/bench-ab.sh A_BINARY B_BINARY DATABASE_URL
#
# The database must have been seeded by `deploytrack seed` with DEPLOYTRACK_ADMIN_PASSWORD
# "bench-admin-password", as scripts/bench.sh does (BENCH_WORK=dir keeps its SQLite files).
# AB_ROUNDS (default 2) sets the number of runs per binary; AB_SECONDS (default 10) each
# measurement's length. AB_BEFORE_A is a shell command run before each start of A (e.g. to
# restore planner statistics an older binary expects). Recording adds rows: both binaries add as
# many, in turn.
set -euo pipefail
cd "$(dirname "$0")/.."
# Builds nothing: another clone's build in the shared build-dir is left alone.
HELPERS_ONLY=1 source scripts/env.sh

[ $# -eq 3 ] || { sed -n 2,15p "$0" >&2; exit 2; }
binary_a=$(realpath "$1") binary_b=$(realpath "$2")
export DATABASE_URL=$3 DEPLOYTRACK_ADMIN_PASSWORD=bench-admin-password
ROUNDS=${AB_ROUNDS:-2}
SECONDS_PER_RUN=${AB_SECONDS:-10}
command -v wrk >/dev/null || { echo "installing wrk"; apt-get install -y wrk >/dev/null; }
work=$(mktemp -d /tmp/deploytrack-ab.XXXXXX)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

start() { # binary
  local port
  port=$(free_port)
  DEPLOYTRACK_ADDR="127.0.0.1:$port" "$1" >"$work/server.log" 2>&1 &
  server_pid=$!
  base="http://127.0.0.1:$port"
  wait_for_url "$base/healthz" 120
}

stop() {
  kill "$server_pid"
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

# "p50 req/s" of one wrk run, or "failed" and wrk's complaint.
run() { # clients url [lua]
  wrk -t"$(($1 < 2 ? $1 : 2))" -c"$1" -d"${SECONDS_PER_RUN}s" --timeout 60s --latency \
    -H "Authorization: Bearer $TOKEN" ${3:+-s "$3"} "$base$2" | awk '
    $1=="50%" {p50=$2} $1=="Requests/sec:" {rps=$2} /Non-2xx|Socket errors/ {bad=$0}
    END { if (bad != "" || rps + 0 == 0) printf "failed (%s)", (bad != "" ? bad : "no answer within the run"); else printf "%s %s/s", p50, rps }'
}

# A token, and the pair recording writes into (from the first binary's answers).
[ -z "${AB_BEFORE_A:-}" ] || bash -c "$AB_BEFORE_A"
start "$binary_a"
curl -fsS -c "$work/cookies" -H 'content-type: application/json' \
  -d "{\"username\":\"admin\",\"password\":\"$DEPLOYTRACK_ADMIN_PASSWORD\"}" "$base/api/auth/login" >/dev/null
TOKEN=$(curl -fsS -b "$work/cookies" -H 'content-type: application/json' -d '{"name":"bench-ab"}' \
  "$base/api/tokens" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
first_id() { curl -fsS -H "Authorization: Bearer $TOKEN" "$base$1" | python3 -c "import json,sys; print(json.load(sys.stdin)[$2]['id'])"; }
app=$(first_id /api/applications 0)
env=$(first_id /api/environments -1)
version=$(first_id "/api/applications/$app/versions" 0)
stop
year_ago=$(date -u -d '1 year ago' +%Y-%m-%dT%H:%M:%SZ)
three_years_ago=$(date -u -d '1090 days ago' +%Y-%m-%dT%H:%M:%SZ)
cat >"$work/record.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"applicationId":"$app","versionId":"$version","environmentId":"$env","deploymentDate":"$year_ago"}'
LUA

echo "| run | binary | first time travel | matrix, 1 client (p50, rate) | history first page, 1 client | time travel, 1 client | recording, 8 clients | insights 3 years, 1 client | insights 3 years, 8 clients | peak RSS |"
echo "|---|---|---|---|---|---|---|---|---|---|"
run_number=0
for round in $(seq "$ROUNDS"); do
  for side in A B; do
    if [ "$side" = A ]; then
      binary=$binary_a
      [ -z "${AB_BEFORE_A:-}" ] || bash -c "$AB_BEFORE_A"
    else
      binary=$binary_b
    fi
    start "$binary"
    # An instant no earlier run recorded into (recording goes a year back): a few days before it.
    run_number=$((run_number + 1))
    fresh_instant=$(date -u -d "$((365 + 3 * run_number)) days ago" +%Y-%m-%dT%H:%M:%SZ)
    first=$(curl -fsS -o /dev/null -w '%{time_total}' -H "Authorization: Bearer $TOKEN" \
      "$base/api/deployments/current?at=$fresh_instant")
    matrix=$(run 1 /api/deployments/current)
    history=$(run 1 /api/deployments)
    travel=$(run 1 /api/deployments/current benches/random-at.lua)
    recording=$(run 8 /api/deployments "$work/record.lua")
    insights_one=$(run 1 "/api/insights?from=$three_years_ago")
    insights_eight=$(run 8 "/api/insights?from=$three_years_ago")
    peak=$(awk '/VmHWM/ {printf "%.0f MB", $2 / 1024}' "/proc/$server_pid/status")
    stop
    echo "| $round | $side | ${first}s | $matrix | $history | $travel | $recording | $insights_one | $insights_eight | $peak |"
  done
done
