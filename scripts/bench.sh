#!/usr/bin/env bash
# Load benchmark: seeds each backend at two sizes, starts the release server on 127.0.0.1, drives
# it with wrk for a bounded time per endpoint, and prints one table per backend and size.
#
#   scripts/bench.sh                 # full: 10,000, 1,000,000 and 10,000,000 deployments (seeding
#                                    # 10M takes ~30 min on SQLite; ~2 h in all), then the
#                                    # dashboard in Chromium (scripts/bench-browser.sh) and
#                                    # Lighthouse on five pages (scripts/bench-lighthouse.sh)
#   make bench-smoke                 # 2,000 deployments, 1 s per run: what CI runs
#
# Every endpoint is driven twice: by one client (its latency, no queueing) and by 8 concurrent
# clients (throughput; on 2 cores their latency includes waiting for a core). The script fails
# when a run got no answers or any non-2xx answer, so the smoke run catches a broken benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
source scripts/pg.sh

SIZES=${BENCH_SIZES:-"10000 1000000 10000000"}
SECONDS_PER_RUN=${BENCH_SECONDS:-5}
APPS=${BENCH_APPLICATIONS:-500}
ENVS=${BENCH_ENVIRONMENTS:-15}
OUT=${BENCH_OUT:-target/bench}
BACKENDS=${BENCH_BACKENDS:-"sqlite postgres"}
# Versions of 100 commits each sent for the "what changed" row (2,000: 200,000 commits).
CHANGE_VERSIONS=${BENCH_CHANGE_VERSIONS:-2000}
# Freezes made for the deploy-policy rows, and a ninth as many locks.
FREEZES=${BENCH_FREEZES:-900}
LOCKS=$((FREEZES / 9))
mkdir -p "$OUT"
command -v wrk >/dev/null || { echo "installing wrk"; apt-get install -y wrk >/dev/null; }
# SERVER_BIN runs another server binary (CI's smoke run passes the test command's build).
server=${SERVER_BIN:-target/release/deploytrack}
[ -n "${SERVER_BIN:-}" ] || [ -x "$server" ] || cargo leptos build --release --precompress --split

# BENCH_WORK=dir keeps the seeded SQLite files there afterwards (a 10M one takes most of an hour
# to seed, and is worth measuring again by hand); by default they go with a temporary directory.
work=${BENCH_WORK:-$(mktemp -d /tmp/deploytrack-bench.XXXXXX)}
mkdir -p "$work"
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  pg_stop
  [ -n "${BENCH_WORK:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
if [[ " $BACKENDS " == *" postgres "* ]]; then pg_start; fi

export DEPLOYTRACK_ADMIN_PASSWORD="bench-admin-password"
export LEPTOS_SITE_ROOT=target/site

# wrk with latency percentiles; prints "p50_ms p99_ms req_per_s", or fails on errors.
# EXTRA_HEADER (e.g. "Accept-Encoding: gzip") is sent with every request when set.
measure() {
  local connections=$1 url=$2 script=${3:-}
  local threads=$((connections < 2 ? connections : 2))
  local args=(-t"$threads" -c"$connections" -d"${SECONDS_PER_RUN}s" --timeout 10s --latency
    -H "Authorization: Bearer $TOKEN")
  [ -n "${EXTRA_HEADER:-}" ] && args+=(-H "$EXTRA_HEADER")
  [ -n "$script" ] && args+=(-s "$script")
  wrk "${args[@]}" "$url" | awk '
    function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
    $1=="50%" {p50=ms($2)} $1=="99%" {p99=ms($2)} $1=="Requests/sec:" {rps=$2}
    /Non-2xx/ || /Socket errors/ {bad=$0}
    END { if (bad != "" || rps + 0 == 0) { print "wrk: " (bad != "" ? bad : "no answers") > "/dev/stderr"; exit 1 }
          printf "%.2f %.2f %.0f\n", p50, p99, rps }'
}

# BENCH_EIGHT=0 leaves out the 8-client runs (the smoke run: it checks that every endpoint
# answers, and halves its time); their columns then read "-".
row() { # name url [lua]
  local one eight="- - -"
  one=$(measure 1 "$2" "${3:-}") || { echo "bench: $1 failed with 1 client" >&2; exit 1; }
  if [ "${BENCH_EIGHT:-1}" != 0 ]; then
    eight=$(measure 8 "$2" "${3:-}") || { echo "bench: $1 failed with 8 clients" >&2; exit 1; }
  fi
  read -r p50 p99 rps <<<"$one"
  read -r p50c p99c rpsc <<<"$eight"
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$p50" "$p99" "$rps" "$p50c" "$p99c" "$rpsc" |
    tee -a "$REPORT"
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
    seed_out=$("$server" seed --applications "$APPS" --environments "$ENVS" --deployments "$size" 2>/dev/null)
    seed_line=$(grep '^seeded' <<<"$seed_out")
    checkpoint_line=$(grep 'checkpoints' <<<"$seed_out")
    echo "$seed_line; $checkpoint_line"
    port=$(free_port)
    DEPLOYTRACK_ADDR="127.0.0.1:$port" "$server" >"$work/server.log" 2>&1 &
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
      echo "$seed_line; $checkpoint_line"
      echo
      echo "| endpoint | 1 client: p50 ms | p99 ms | req/s | 8 clients: p50 ms | p99 ms | req/s |"
      echo "|---|---|---|---|---|---|---|"
    } >"$REPORT"
    row "current-state matrix \`/api/deployments/current\`" "$base/api/deployments/current"
    row "one application's current state" "$base/api/applications/$app/deployments/current"
    row "one environment's current state" "$base/api/environments/$env/deployments/current"
    # The server has just started: its first time-travel answer reads nothing ahead (the
    # checkpoints are in the database), timed apart to show it.
    first_use=$(curl -fsS -o /dev/null -w '%{time_total}' -H "Authorization: Bearer $TOKEN" \
      "$base/api/deployments/current?at=$year_ago")
    row "time-travel matrix \`?at=\` a year ago" "$base/api/deployments/current?at=$year_ago"
    # A new instant every request (the row above asks the same one again and again).
    row "time-travel matrix at a random instant of the last two years" "$base/api/deployments/current" benches/random-at.lua
    # How big those answers are: at 10k many pairs have no deployment yet at an instant of two
    # years ago, at 1M nearly all have one, so the answers differ in size, not only the history.
    cells_per_answer=$(python3 - "$base" "$TOKEN" <<'PY'
import json, random, sys, time, urllib.request
base, token = sys.argv[1:3]
rng, now, cells = random.Random(42), time.time(), []
for _ in range(50):
    at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - rng.randint(1, 2 * 365 * 86400)))
    request = urllib.request.Request(f"{base}/api/deployments/current?at={at}", headers={"Authorization": f"Bearer {token}"})
    cells.append(len(json.load(urllib.request.urlopen(request))))
print(round(sum(cells) / len(cells)))
PY
)
    row "one page of the matrix (\`?limit=50\`, 50 applications)" "$base/api/deployments/current?limit=50"
    row "one page of the time-travel matrix (\`?limit=50&at=\` a year ago)" "$base/api/deployments/current?limit=50&at=$year_ago"
    row "history, first page (50)" "$base/api/deployments"
    row "history, first page filtered by environment" "$base/api/deployments?environmentId=$env"
    if [ -n "$deep_cursor" ]; then
      row "history, page ~100,000 rows deep" "$base/api/deployments?cursor=$deep_cursor"
    fi
    row "delivery insights, production, last 90 days (\`/api/insights\`)" "$base/api/insights"
    row "delivery insights, production, a year (\`/api/insights?from=\`)" "$base/api/insights?from=$year_ago"
    row "dashboard page (server-side render)" "$base/"
    row "dashboard page as it was a year ago (\`/?at=\`)" "$base/?at=$year_ago"
    EXTRA_HEADER="Accept-Encoding: gzip, deflate, br, zstd" row "dashboard page, compressed as Chromium asks (zstd)" "$base/"
    row "\`POST /api/deployments\` (record)" "$base/api/deployments" "$work/post.lua"
    # The kept matrix while one client records continuously (each record is the newest in its
    # pair, so every one changes the matrix). Only the 1-client reader columns are meaningful.
    cat >"$work/post-now.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"applicationId":"$app","versionId":"$version","environmentId":"$env","deploymentDate":"$(date -u +%Y-%m-%dT%H:%M:%SZ)"}'
LUA
    wrk -t1 -c1 -d"$((SECONDS_PER_RUN * 2 + 2))s" -H "Authorization: Bearer $TOKEN" -s "$work/post-now.lua" \
      "$base/api/deployments" >"$work/writer.txt" &
    writer_pid=$!
    row "current-state matrix while one client records continuously" "$base/api/deployments/current"
    wait "$writer_pid"
    grep -q "Non-2xx" "$work/writer.txt" && { echo "bench: the background writer got errors" >&2; cat "$work/writer.txt" >&2; exit 1; }
    # The deploy policy (issue 35): 900 freezes (weekly, daily and one-off, spread over the
    # environments) and 100 locks, then the check and the dashboard again. (The smoke run makes
    # 45 and 5: creating 900 through the API was a quarter of its time.)
    python3 - "$base" "$TOKEN" "$FREEZES" "$LOCKS" <<'PY'
import json, random, sys, urllib.request
from datetime import datetime, timedelta, timezone
base, token = sys.argv[1:3]
freezes, locks = int(sys.argv[3]), int(sys.argv[4])
def call(method, path, body=None):
    request = urllib.request.Request(f"{base}{path}", method=method, data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(request))
rng = random.Random(35)
environments = [e["id"] for e in call("GET", "/api/environments")]
applications = [a["id"] for a in call("GET", "/api/applications")]
now = datetime.now(timezone.utc)
for i in range(freezes):
    scope = {"environmentIds": [rng.choice(environments)]}
    if i % 3 == 0:
        start = now + timedelta(days=rng.randint(-30, 60))
        body = {"startsAt": start.isoformat(), "endsAt": (start + timedelta(hours=rng.randint(1, 72))).isoformat()}
    elif i % 3 == 1:
        body = {"rrule": f"FREQ=WEEKLY;BYDAY={rng.choice(['MO','TU','WE','TH','FR'])};BYHOUR={rng.randint(0, 23)}",
                "duration": "PT8H", "timeZone": rng.choice(["Europe/Berlin", "America/New_York", "Asia/Kolkata"]),
                "startsAt": (now - timedelta(days=365)).isoformat()}
    else:
        body = {"rrule": f"FREQ=DAILY;BYHOUR={rng.randint(0, 23)}", "duration": "PT1H", "timeZone": "UTC",
                "startsAt": (now - timedelta(days=365)).isoformat()}
    call("POST", "/api/freezes", {"name": f"bench freeze {i}", **scope, **body})
pairs = rng.sample([(e, a) for e in environments for a in applications], locks)
for environment, application in pairs:
    call("POST", "/api/locks", {"environmentId": environment, "applicationId": application, "reason": "bench"})
call("PUT", f"/api/environments/{environments[-1]}/promotion-rule", {"requires": [{"environmentId": environments[0], "minSoak": "PT24H"}]})
PY
    row "deploy check ($FREEZES freezes, $LOCKS locks, a promotion rule)" "$base/api/deploy-check?application=$app&version=$version&environment=$env"
    row "dashboard page with $FREEZES freezes and $LOCKS locks" "$base/"
    # What changed (issue 36): 200,000 commits for one application, sent as 2,000 versions of 100
    # commits (each list since the version before), and the two environments before production
    # running versions two apart: the answer walks 200 releases from each side, lists 200 commits.
    changes_started=$(date +%s)
    read -r changes_app stage_env prod_env < <(python3 - "$base" "$TOKEN" "$CHANGE_VERSIONS" <<'PY'
import json, sys, urllib.request
from datetime import datetime, timezone
base, token, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
def call(method, path, body=None):
    request = urllib.request.Request(f"{base}{path}", method=method, data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(request))
application = call("POST", "/api/applications", {"name": "bench changes", "repository": "acme/bench-changes"})
environments = sorted(call("GET", "/api/environments"), key=lambda e: e["position"])
stage, prod = environments[-2], environments[-1]
sha = lambda n: f"{n:040x}"
versions = []
for v in range(count):
    head = (v + 1) * 100
    version = call("POST", f"/api/applications/{application['id']}/versions", {"versionIdentifier": f"1.{v}", "commitSha": sha(head)})
    commits = [{"sha": sha(n), "title": f"BENCH-{n} change {n}", "author": "bench", "authoredAt": "2026-01-01T00:00:00Z"}
               for n in range(head, head - 100, -1)]
    call("POST", f"/api/versions/{version['id']}/commits", {"since": sha(head - 100), "commits": commits} if v else {"commits": commits})
    versions.append(version)
now = datetime.now(timezone.utc).isoformat()
for version, environment in [(versions[-3], prod), (versions[-1], stage)]:
    call("POST", "/api/deployments", {"applicationId": application["id"], "versionId": version["id"],
                                      "environmentId": environment["id"], "deploymentDate": now})
print(application["id"], stage["id"], prod["id"])
PY
)
    changes_seed_seconds=$(($(date +%s) - changes_started))
    row "changes between the two environments before production ($((CHANGE_VERSIONS * 100)) commits stored, 200 listed)" \
      "$base/api/changes?application=$changes_app&fromEnvironment=$prod_env&toEnvironment=$stage_env"
    # Teams and drift (issue 38): ten teams of 50 applications, and the last environment promising
    # to be at most 14 days and 3 versions behind the one before it.
    drift_started=$(date +%s)
    python3 - "$base" "$TOKEN" <<'PY'
import json, sys, urllib.request
base, token = sys.argv[1:3]
def call(method, path, body=None):
    request = urllib.request.Request(f"{base}{path}", method=method, data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(request))
teams = [call("POST", "/api/teams", {"name": f"team-{n}"})["name"] for n in range(10)]
for i, application in enumerate(call("GET", "/api/applications")):
    call("PATCH", f"/api/applications/{application['id']}", {"team": teams[i % len(teams)]})
environments = call("GET", "/api/environments")
call("PUT", f"/api/environments/{environments[-1]['id']}/drift-policy",
     {"comparedTo": environments[-2]["id"], "maxLag": "P14D", "maxVersionsBehind": 3})
PY
    drift_seconds=$(($(date +%s) - drift_started))
    # The 500 changes above each wake the drift watcher: let it settle before measuring, and
    # measure the unfiltered dashboard first so neither row is charged for the settling.
    sleep 5
    breaches=$(curl -fsS -H "Authorization: Bearer $TOKEN" "$base/api/drift" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))')
    row "dashboard page, every application (for comparison, teams set)" "$base/"
    row "dashboard page filtered by team (\`/?team=\`, 50 of $APPS applications)" "$base/?team=team-0"
    row "drift breaches \`/api/drift\` ($breaches open)" "$base/api/drift"
    row "one team's drift breaches \`/api/drift?team=\`" "$base/api/drift?team=team-0"
    rss=$(awk '/VmHWM/ {print $2}' "/proc/$server_pid/status")
    echo "" >>"$REPORT"
    echo "Server peak RSS: $((rss / 1024)) MB" | tee -a "$REPORT"
    echo "First time-travel request after the server started (a year ago): ${first_use} s" |
      tee -a "$REPORT"
    if [ "$backend" = sqlite ]; then
      checkpoint_sql="SELECT COUNT(*), COALESCE(SUM(length(cells)), 0) FROM matrix_checkpoint"
      read -r checkpoints checkpoint_bytes < <(python3 -c 'import sqlite3, sys; print(*sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone())' "$work/bench-$size.db" "$checkpoint_sql")
    else
      read -r checkpoints checkpoint_bytes < <(psql "$DATABASE_URL" -qAt -F ' ' -c "SELECT COUNT(*), COALESCE(SUM(octet_length(cells)), 0) FROM matrix_checkpoint")
    fi
    echo "Time-travel checkpoints in the database: $checkpoints, $((checkpoint_bytes / 1048576)) MB" | tee -a "$REPORT"
    echo "Teams and a drift policy set, the breaches worked out and stored, in ${drift_seconds} s ($breaches breaches)" |
      tee -a "$REPORT"
    echo "What changed: $((CHANGE_VERSIONS * 100)) commits in $CHANGE_VERSIONS versions sent through the API in ${changes_seed_seconds} s" |
      tee -a "$REPORT"
    random_p50=$(awk -F'|' '/time-travel matrix at a random instant/ {gsub(/ /, "", $3); print $3; exit}' "$REPORT")
    echo "Time travel at a random instant answers ${cells_per_answer} cells on average (50 instants sampled," \
      "of $((APPS * ENVS)) pairs): $(awk -v t="$random_p50" -v c="$cells_per_answer" 'BEGIN {printf "%.2f", t * 1000 / c}') µs per cell at the 1-client p50" |
      tee -a "$REPORT"
    if [ "$backend" = postgres ]; then
      # Best of three, so the baseline is not charged for a cold cache.
      naive_query="SELECT count(*) FROM (SELECT DISTINCT ON (application_id, environment_id) * FROM deployment ORDER BY application_id, environment_id, deployment_date DESC) s"
      naive=$(psql "$DATABASE_URL" -qAt -c '\timing on' -c "$naive_query" -c "$naive_query" -c "$naive_query" |
        awk '/Time:/ {t=$2+0; if (best == "" || t < best) best=t} END {printf "%.1f", best}')
      matrix_p50=$(awk -F'|' 'NR>1 && /current-state matrix/ {gsub(/ /, "", $3); print $3; exit}' "$REPORT")
      echo "Naive DISTINCT ON over the whole table (the story's query, in psql, best of 3): ${naive} ms;" \
        "the matrix endpoint's 1-client p50 (HTTP and JSON included) is $(awk -v n="$naive" -v m="$matrix_p50" 'BEGIN {if (n >= m) printf "%.1f× faster", n / m; else printf "%.1f× slower", m / n}')" |
        tee -a "$REPORT"
    fi
    kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
  done
done
scripts/wasm-sizes.py target/site/pkg | tee "$OUT/wasm.md"
# What the browser receives (bytes on the wire, HTML size, time to hydrated), on the same shape at
# the first size, then Lighthouse; BENCH_BROWSER=0 leaves both out.
if [ "${BENCH_BROWSER:-1}" != 0 ]; then
  echo "==> the dashboard in Chromium"
  {
    echo "### the dashboard in Chromium (scripts/bench-browser.sh)"
    echo
    BENCH_APPLICATIONS=$APPS BENCH_ENVIRONMENTS=$ENVS BENCH_DEPLOYMENTS=${SIZES%% *} \
      scripts/bench-browser.sh
    echo
  } >"$OUT/browser.md"
  # Lighthouse on the demo data: five pages, mobile and desktop presets (about 2 minutes).
  echo "==> Lighthouse"
  {
    echo "### Lighthouse 12.2.3, demo data (scripts/bench-lighthouse.sh)"
    echo
    scripts/bench-lighthouse.sh
    echo
  } >"$OUT/lighthouse.md"
fi
cat "$OUT"/*.md
