#!/usr/bin/env bash
# Property-based fuzzing of the REST API from its own OpenAPI document (Schemathesis, from PyPI, in
# a virtual environment kept outside the clone), against the release server on one backend. Fails on any
# 5xx and on any response the document does not describe; prints the request count and the
# server errors the server itself counted (/metrics).
# Usage: scripts/fuzz.sh sqlite|postgres   (postgres needs TEST_DATABASE_URL, as make test sets it)
# FUZZ_SECONDS (default 90) bounds the generated phase per backend; SERVER_BIN picks another
# server binary (the test command passes its instrumented one). `scripts/fuzz.sh --install` only
# makes the virtual environment (so that two runs at once do not both make it).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

backend=${1:?usage: scripts/fuzz.sh sqlite|postgres|--install}
SCHEMATHESIS_VERSION=4.32.5
venv=$CACHE_DIR/schemathesis-$SCHEMATHESIS_VERSION-$(python3 -c 'import sys; print("py%d.%d" % sys.version_info[:2])')
if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  echo "==> installing Schemathesis $SCHEMATHESIS_VERSION into $venv"
  # An interrupted install fails the version check above and is made again from nothing.
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi
[ "$backend" = --install ] && exit 0

work=$(mktemp -d /tmp/deploytrack-fuzz.XXXXXX)
database=""
case $backend in
  sqlite) url="sqlite://$work/fuzz.db" ;;
  postgres)
    : "${TEST_DATABASE_URL:?TEST_DATABASE_URL is not set}"
    database="dt_fuzz_$$"
    psql -q "$TEST_DATABASE_URL" -c "CREATE DATABASE $database"
    url="${TEST_DATABASE_URL%/*}/$database"
    ;;
  *) echo "unknown backend $backend" >&2; exit 2 ;;
esac

port=$(free_port)
base="http://127.0.0.1:$port"
password="fuzz-admin-password"
DATABASE_URL=$url DEPLOYTRACK_ADDR=127.0.0.1:$port DEPLOYTRACK_ADMIN_PASSWORD=$password \
  LEPTOS_SITE_ROOT=target/site RUST_LOG=warn "${SERVER_BIN:-target/release/deploytrack}" >"$work/server.log" 2>&1 &
server_pid=$!
cleanup() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  [ -n "$database" ] && psql -q "$TEST_DATABASE_URL" -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" || true
  rm -rf "$work"
}
trap cleanup EXIT
wait_for_url "$base/healthz" 60 || { cat "$work/server.log"; exit 1; }

# A token for the fuzzer, and a small catalogue so that list endpoints return real rows.
curl -fsS -c "$work/cookies" -H 'content-type: application/json' \
  -d "{\"username\":\"admin\",\"password\":\"$password\"}" "$base/api/auth/login" >/dev/null
token=$(curl -fsS -b "$work/cookies" -H 'content-type: application/json' -d '{"name":"fuzz"}' \
  "$base/api/tokens" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
api() { curl -fsS -H "Authorization: Bearer $token" -H 'content-type: application/json' "$@"; }
id_of() { python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'; }
app_id=$(api -d '{"name":"Fuzzed"}' "$base/api/applications" | id_of)
version_id=$(api -d '{"versionIdentifier":"1.0.0"}' "$base/api/applications/$app_id/versions" | id_of)
env_id=$(api -d '{"name":"PROD","isProduction":true}' "$base/api/environments" | id_of)
api -d "{\"applicationId\":\"$app_id\",\"versionId\":\"$version_id\",\"environmentId\":\"$env_id\",\"deploymentDate\":\"2026-01-01T00:00:00Z\"}" \
  "$base/api/deployments" >/dev/null

# The live feed never ends by design; signing out would end the fuzzer's own session.
# One worker: with two threads, CPython 3.11's ast.parse (Hypothesis describes its lambdas with
# it) sometimes fails inside the fuzzer itself ("AST constructor recursion depth mismatch").
status=0
"$venv/bin/schemathesis" run "$base/api/openapi.json" \
  --header "Authorization: Bearer $token" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --exclude-path /api/events --exclude-path /api/auth/logout \
  --max-time "${FUZZ_SECONDS:-90}" --request-timeout 20 --workers 1 \
  --seed 20261201 --no-color || status=$?

# What the server counted, independent of the fuzzer's own report.
metrics=$(curl -fsS -H "Authorization: Bearer $token" "$base/metrics")
read -r requests server_errors < <(printf '%s\n' "$metrics" | python3 -c '
import re, sys
total = errors = 0
for line in sys.stdin:
    m = re.match(r"deploytrack_http_requests_total\{(.*)\} (\d+)", line)
    if m:
        total += int(m.group(2))
        if re.search(r"status=\"5\d\d\"", m.group(1)):
            errors += int(m.group(2))
print(total, errors)')
echo "fuzz [$backend]: $requests requests answered, $server_errors server errors (5xx)"
if grep -E ' ERROR ' "$work/server.log" | head -20; then
  echo "the server logged errors (above)"
  status=1
fi
[ "$server_errors" = 0 ] || status=1
exit $status
