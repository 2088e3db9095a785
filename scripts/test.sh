#!/usr/bin/env bash
# The whole test suite: unit, store contract and REST on SQLite and PostgreSQL, and the browser
# tests against the release build. Starts (and stops) everything it needs. Prints one line per suite.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --browser || exit 1
source scripts/env.sh
source scripts/pg.sh

summary=()
finish() {
  pg_stop
  echo
  echo "==================== test summary ===================="
  printf '%s\n' "${summary[@]}"
}
trap finish EXIT

# suite NAME COMMAND...: runs one suite, records PASS/FAIL with its time, stops at the first failure.
suite() {
  local name=$1 started=$SECONDS
  shift
  echo
  echo "==> $name"
  if "$@"; then
    summary+=("PASS  $name ($((SECONDS - started))s)")
  else
    summary+=("FAIL  $name ($((SECONDS - started))s)")
    exit 1
  fi
}

if ! pg_start; then
  if [ -n "${CI:-}" ]; then
    summary+=("FAIL  PostgreSQL could not be started (required under CI)")
    exit 1
  fi
  echo "WARNING: PostgreSQL could not be started; its half of the suite will be skipped" >&2
fi

suite "format (cargo fmt --check)" cargo fmt --all -- --check
suite "app unit tests" cargo test -p app --features ssr --lib
suite "server unit tests" cargo test -p server --lib
for backend in sqlite postgres; do
  suite "store contract [$backend]" cargo test -p server --test store_contract -- "$backend::"
  suite "REST catalog [$backend]" cargo test -p server --test rest_catalog -- "$backend::"
  suite "REST access [$backend]" cargo test -p server --test rest_access -- "$backend::"
  suite "REST deployments [$backend]" cargo test -p server --test rest_deployments -- "$backend::"
done
suite "log hygiene [sqlite + postgres]" cargo test -p server --test log_hygiene
suite "release build (cargo leptos build --release)" cargo leptos build --release
suite "end-to-end in Chromium (Playwright)" scripts/e2e.sh
