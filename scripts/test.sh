#!/usr/bin/env bash
# The whole test suite: unit, store contract and REST on SQLite and PostgreSQL (instrumented for
# line coverage), the coverage gate, and the browser tests against the release build. Starts (and
# stops) everything it needs. Prints one line per suite.
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

# Tests run once, instrumented; the report at the end covers them all.
test_run() { cargo llvm-cov --no-report "$@"; }

suite "format (cargo fmt --check)" cargo fmt --all -- --check
cargo llvm-cov clean --workspace >/dev/null 2>&1 || true
suite "app unit tests" test_run -p app --features ssr --lib
suite "server unit tests" test_run -p server --lib
for backend in sqlite postgres; do
  suite "store contract [$backend]" test_run -p server --test store_contract -- "$backend::"
  suite "REST catalog [$backend]" test_run -p server --test rest_catalog -- "$backend::"
  suite "REST access [$backend]" test_run -p server --test rest_access -- "$backend::"
  suite "REST deployments [$backend]" test_run -p server --test rest_deployments -- "$backend::"
  suite "hardening: hostile input and clients [$backend]" test_run -p server --test hardening -- "$backend::"
  suite "pipelines: names, createVersion, Idempotency-Key [$backend]" test_run -p server --test pipelines -- "$backend::"
  suite "hooks: signed GitHub and GitLab deliveries [$backend]" test_run -p server --test hooks -- "$backend::"
  suite "audit trail: every change and security event, one transaction, append-only [$backend]" test_run -p server --test audit -- "$backend::"
  suite "delivery insights on a known history [$backend]" test_run -p server --test insights -- "$backend::"
  suite "webhooks: signed, retried, once across instances, after kill -9 [$backend]" test_run -p server --test webhooks -- "$backend::"
  suite "deploytrack record / current against the server [$backend]" test_run -p server --test cli -- "$backend::"
  suite "live updates across instances (LISTEN/NOTIFY) [$backend]" test_run -p server --test instances -- "$backend::"
  suite "what the browser receives: compression, caching, asset paths [$backend]" test_run -p server --test delivery -- "$backend::"
  suite "kept matrix, pages and time travel equal the history (randomized) [$backend]" test_run -p server --test matrix_exactness -- "$backend::"
done
suite "log hygiene, demo data, bulk seed, the process (no huge pages) [sqlite + postgres]" test_run -p server --test log_hygiene --test demo --test process
suite "kill -9 durability of acknowledged writes [sqlite + postgres]" test_run -p server --test durability
# UI code (pages, components) is covered by the browser tests below, not counted here.
suite "line coverage of server + app ssr code >= 80%" cargo llvm-cov report --summary-only \
  --fail-under-lines 80 --ignore-filename-regex 'app/src/(pages|components)/|app/src/lib.rs|/tests/'
suite "release build (cargo leptos build --release --precompress --split)" cargo leptos build --release --precompress --split
for backend in sqlite postgres; do
  if [ "$backend" = postgres ] && [ -z "${TEST_DATABASE_URL:-}" ]; then
    echo "WARNING: no PostgreSQL; skipping its fuzz run" >&2
    continue
  fi
  suite "fuzz: Schemathesis against the release server [$backend]" scripts/fuzz.sh "$backend"
done
if [ -n "${TEST_DATABASE_URL:-}" ]; then
  suite "scale-out: 3 instances on PostgreSQL behind HAProxy (live updates, kill -9 under 8 writers, throttle, sessions)" \
    scripts/scale-out.sh
else
  echo "WARNING: no PostgreSQL; skipping the scale-out test" >&2
fi
# The browser suite runs once, against the release server rebuilt with coverage instrumentation
# (the same code and WASM; a second, uninstrumented run found nothing this one does not and cost
# minutes of the CI budget).
suite "end-to-end in Chromium (Playwright) on the release build, UI line coverage (pages + components) >= 70%" \
  scripts/ui-coverage.sh
