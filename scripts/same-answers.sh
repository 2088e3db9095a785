#!/usr/bin/env bash
# Proves that a change left the API's answers alone: the JSON of the matrix (whole, paged, at
# past instants), history pages (filtered and followed by cursor), delivery insights and the
# audit trail, fetched from two server binaries on copies of one seeded database, must be
# byte-identical, on SQLite and on PostgreSQL.
#
#   scripts/same-answers.sh BEFORE [AFTER]
#
# BEFORE and AFTER are server binaries or git revisions (a revision is built in a temporary
# worktree, its compiled dependencies shared with this clone's); AFTER defaults to
# target/release/deploytrack (`make run` builds it). Both must read the same schema. About 2
# minutes once both are built (a revision's build: about 5, once).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
source scripts/pg.sh

work=$(mktemp -d /tmp/deploytrack-same.XXXXXX)
pids=()
trees=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for tree in "${trees[@]}"; do git worktree remove --force "$tree" 2>/dev/null || true; done
  pg_stop
  rm -rf "$work"
}
trap cleanup EXIT

# A binary as given, or the server of a revision: built once in a worktree of its own, then
# kept under the cache by commit.
binary_of() {
  local what=$1
  if [ -x "$what" ]; then
    realpath "$what"
    return
  fi
  local commit kept tree
  commit=$(git rev-parse --verify "$what^{commit}")
  kept=$CACHE_DIR/servers/$commit/deploytrack
  if [ ! -x "$kept" ]; then
    tree=$work/tree-$commit
    git worktree add --quiet --detach "$tree" "$commit" >&2
    trees+=("$tree")
    echo "==> building the server of $what" >&2
    # The shared build-dir keeps compiled dependencies; the revision's own crates build apart.
    (cd "$tree" && cargo leptos build --release --split --server-only >&2)
    mkdir -p "$(dirname "$kept")"
    cp "$tree/target/release/deploytrack" "$kept"
  fi
  echo "$kept"
}
before=$(binary_of "${1:?usage: scripts/same-answers.sh BEFORE [AFTER]}")
after=$(binary_of "${2:-target/release/deploytrack}")

export DEPLOYTRACK_ADMIN_PASSWORD="same-answers-password" RUST_LOG=warn LEPTOS_SITE_ROOT=target/site

# serve BINARY DATABASE_URL: starts it on a free port, sets $base and $server_pid.
serve() {
  local port
  port=$(free_port)
  base="http://127.0.0.1:$port"
  DATABASE_URL=$2 DEPLOYTRACK_ADDR=127.0.0.1:$port "$1" >>"$work/server.log" 2>&1 &
  server_pid=$!
  pids+=("$server_pid")
  wait_for_url "$base/healthz" 60 || { tail -20 "$work/server.log"; exit 1; }
}
stop() { kill "$server_pid" && wait "$server_pid" 2>/dev/null || true; }
api() { curl -fsS -H "Authorization: Bearer $token" -H 'content-type: application/json' "$@"; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

# seed URL: a history, then changes that leave audit entries and retractions; sets $token.
seed() {
  DATABASE_URL=$1 "$after" seed --applications 40 --environments 6 --deployments 20000 \
    --versions 20 --years 2 >/dev/null
  serve "$after" "$1"
  curl -fsS -c "$work/cookies" -H 'content-type: application/json' \
    -d "{\"username\":\"admin\",\"password\":\"$DEPLOYTRACK_ADMIN_PASSWORD\"}" "$base/api/auth/login" >/dev/null
  token=$(curl -fsS -b "$work/cookies" -H 'content-type: application/json' -d '{"name":"same"}' \
    "$base/api/tokens" | field '["token"]')
  local id
  for id in $(api "$base/api/deployments?limit=3" |
    python3 -c 'import json, sys; [print(item["id"]) for item in json.load(sys.stdin)["items"]]'); do
    api -X DELETE -d '{"reason":"wrong build"}' "$base/api/deployments/$id" >/dev/null
  done
  api -d '{"application":"service-0000","environment":"ENV-00","version":"9.9.9","createVersion":true,"deploymentDate":"2026-01-02T03:04:05Z"}' \
    "$base/api/deployments" >/dev/null
  stop
}

# answers BINARY URL DIR: every compared answer of the server on that database, one file each.
answers() {
  local dir=$3 app env n=0 cursor
  serve "$1" "$2"
  mkdir -p "$dir"
  app=$(api "$base/api/applications" | field '[3]["id"]')
  env=$(api "$base/api/environments" | field '[-1]["id"]')
  get() { n=$((n + 1)); api "$base$1" >"$dir/$(printf %02d $n).json"; echo "$1" >>"$dir/urls"; }
  get "/api/deployments/current"
  get "/api/deployments/current?limit=7"
  for at in 2025-03-01T00:00:00Z 2026-01-02T03:04:05Z 2024-12-31T23:59:59.999999Z; do
    get "/api/deployments/current?at=$at"
    get "/api/applications/$app/deployments/current?at=$at"
  done
  get "/api/environments/$env/deployments/current"
  cursor=""
  for page in 1 2 3; do
    get "/api/deployments?limit=500${cursor:+&cursor=$cursor}"
    cursor=$(field '["nextCursor"] or ""' <"$dir/$(printf %02d $n).json")
  done
  get "/api/deployments?environmentId=$env&limit=200"
  get "/api/deployments?applicationId=$app&includeDeleted=true&limit=200"
  get "/api/deployments?q=1.1&deployedBy=alice&limit=200"
  get "/api/deployments?dateFrom=2025-06-01T00:00:00Z&dateTo=2025-07-01T00:00:00Z&limit=500"
  get "/api/insights?from=2025-01-01T00:00:00Z&to=2025-12-01T00:00:00Z"
  get "/api/insights?from=2025-01-01T00:00:00Z&to=2025-12-01T00:00:00Z&applicationId=$app"
  get "/api/insights?from=2025-06-01T00:00:00Z&to=2025-09-01T00:00:00Z&environmentId=$env"
  get "/api/audit?limit=500"
  stop
}

compare() {
  local backend=$1
  if diff -r "$work/$backend-before" "$work/$backend-after" >"$work/$backend.diff"; then
    echo "PASS  $backend: $(wc -l <"$work/$backend-before/urls") answers, $(cat "$work/$backend-before"/*.json | wc -c) bytes, identical"
  else
    echo "FAIL  $backend: the answers differ"
    head -c 2000 "$work/$backend.diff"
    return 1
  fi
}

status=0
echo "==> SQLite"
seed "sqlite://$work/seeded.db"
for copy in before after; do # with its write-ahead log, which may hold the last changes
  for part in "" -wal -shm; do
    [ -e "$work/seeded.db$part" ] && cp "$work/seeded.db$part" "$work/$copy.db$part"
  done
done
answers "$before" "sqlite://$work/before.db" "$work/sqlite-before"
answers "$after" "sqlite://$work/after.db" "$work/sqlite-after"
compare sqlite || status=1

echo "==> PostgreSQL"
pg_start >/dev/null
root=${TEST_DATABASE_URL%/*}
psql -q "$TEST_DATABASE_URL" -c "CREATE DATABASE seeded"
seed "$root/seeded"
psql -q "$TEST_DATABASE_URL" -c "CREATE DATABASE before TEMPLATE seeded" -c "CREATE DATABASE after TEMPLATE seeded"
answers "$before" "$root/before" "$work/postgres-before"
answers "$after" "$root/after" "$work/postgres-after"
compare postgres || status=1
exit $status
