#!/usr/bin/env bash
# The whole test suite: unit, store contract and REST on SQLite and PostgreSQL (instrumented for
# line coverage), the coverage gate, the lints, then the release build instrumented for coverage
# once, which the fuzzer, the scale-out test and the browser tests all run against; independent
# steps run side by side (README's table). Starts (and stops) everything it needs, PostgreSQL
# included. Prints one line per suite and ends with
#   tests: N passed, M failed, K skipped
# adding up cargo's and Playwright's own counts (also written to target/test-summary.txt).
set -uo pipefail
cd "$(dirname "$0")/.."
rm -f target/test-summary.txt # never a previous run's line
scripts/setup.sh --browser || exit 1
source scripts/env.sh
source scripts/pg.sh

logs=target/test-logs
rm -rf "$logs" && mkdir -p "$logs"
summary=()
passed=0 failed=0 skipped=0
status=0
background_pids=()
no_postgres=""

finish() {
  # Each background step is a process group of its own: its cargo and rustc go with it.
  for pid in "${background_pids[@]}"; do kill -- -"$pid" 2>/dev/null; done
  pg_stop
  local line="tests: $passed passed, $failed failed, $skipped skipped"
  echo
  echo "==================== test summary ===================="
  printf '%s\n' "${summary[@]}"
  if [ -n "$no_postgres" ]; then
    echo
    echo "WARNING: PostgreSQL could not be started: its half of the suite did NOT run (counted as skipped)."
    echo "         Install PostgreSQL's server (apt-get install postgresql) or set TEST_DATABASE_URL."
  fi
  echo "$line" >target/test-summary.txt
  echo "$line"
}
trap finish EXIT

# record STATUS NAME STARTED: one summary line with the suite's time.
record() {
  summary+=("$(printf '%-4s  %s (%ss)' "$1" "$2" "$((SECONDS - $3))")")
  [ "$1" = FAIL ] && status=1
  return 0
}

# suite NAME COMMAND...: a step that is not counted in cases (a build, a gate); stops the run on
# failure, since what comes after needs it.
suite() {
  local name=$1 started=$SECONDS
  shift
  echo
  echo "==> $name"
  if "$@"; then
    record PASS "$name" "$started"
  else
    failed=$((failed + 1)) # a failed step with no cases of its own counts as one failure
    record FAIL "$name" "$started"
    exit 1
  fi
}

# counted NAME LOG COMMAND...: a Playwright suite, its cases counted from its JSON report
# (LOG.json, PLAYWRIGHT_JSON_OUTPUT_FILE). A suite that ran no case but skipped some is SKIP.
counted() {
  local name=$1 log=$2 started=$SECONDS rc
  shift 2
  echo
  echo "==> $name"
  "$@" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  local counts
  counts=$(python3 - "$log.json" <<'PY'
import json, sys
try:
    stats = json.load(open(sys.argv[1]))["stats"]
    print(stats["expected"] + stats["flaky"], stats["unexpected"], stats["skipped"])
except (OSError, ValueError, KeyError):
    print(0, 0, 0)
PY
)
  read -r p f s <<<"$counts"
  passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
  local result=PASS
  if [ "$rc" -ne 0 ] || [ "$f" -gt 0 ]; then
    result=FAIL
    # A suite that failed before any case ran (a build error) still counts as one failure.
    [ "$f" -gt 0 ] || failed=$((failed + 1))
  elif [ "$p" -eq 0 ]; then
    result=SKIP
  fi
  record "$result" "$name: $p passed, $f failed, $s skipped" "$started"
}

# not_run NAME COUNT: a suite that could not run here; its cases count as skipped.
not_run() {
  skipped=$((skipped + $2))
  summary+=("SKIP  $1: $2 not run")
}

# background NAME LOG COMMAND...: starts a step in the background; `joined` waits for it.
declare -A background_names background_started
background() {
  local name=$1 log=$2
  shift 2
  echo "==> $name (in the background, log in $log)"
  set -m # job control: the step gets a process group of its own
  "$@" >"$log" 2>&1 &
  set +m
  background_pids+=($!)
  background_names[$!]=$name
  background_started[$!]=$SECONDS
  last_background=$!
}
joined() {
  local pid=$1 log=$2
  if wait "$pid"; then
    record PASS "${background_names[$pid]}" "${background_started[$pid]}"
  else
    tail -40 "$log"
    failed=$((failed + 1))
    record FAIL "${background_names[$pid]}" "${background_started[$pid]}"
    exit 1
  fi
}

if ! pg_start; then
  if [ -n "${CI:-}" ]; then
    summary+=("FAIL  PostgreSQL could not be started (required under CI)")
    status=1
    exit 1
  fi
  no_postgres=1
fi

suite "format (cargo fmt --check)" cargo fmt --all -- --check

# The browser's WASM (its own target directory; most of it is one long single-core optimisation)
# builds while the Rust tests compile and run.
background "WASM for the browser (cargo leptos build --release --precompress --split --frontend-only)" \
  "$logs/wasm.log" cargo leptos build --release --precompress --split --frontend-only
wasm_build=$last_background

# The Rust tests: one instrumented debug build of every package and test target (one cargo call,
# so nothing compiles twice with another feature set) ...
cargo llvm-cov clean --profraw-only >/dev/null 2>&1 || true
cargo_tests=(cargo llvm-cov --no-report -p app -p server --features app/ssr)
# (Built by listing the cases: `cargo llvm-cov --no-run` means "report without running".)
suite "build: unit and integration tests, instrumented" "${cargo_tests[@]}" -- --list --format terse

# ... while the release server builds beside them: one build, instrumented for coverage, in a
# target directory of its own (so that `make run` never serves it). The browser tests measure UI
# coverage with it; the fuzzer and the scale-out test run the same binary, their coverage data
# thrown away.
coverage_target=$ROOT/target/coverage
server=$coverage_target/release/deploytrack
build_coverage_server() {
  mkdir -p "$coverage_target"
  # Its intermediate files go where cargo llvm-cov keeps the tests' (never beside a plain build's:
  # cargo does not see the coverage wrapper, and would take them for a plain build's).
  # Incremental, so that a second run after touching a page recompiles only what changed in
  # the app crate (the fuzzer and the browser tests need a release build, not the last 1 % of
  # its speed). For the same reason the project's own crates are optimised at level 1 rather
  # than 3 (their dependencies stay at 3, compiled once and cached): on CI's critical path, it
  # took the longest of the builds.
  {
    echo "export CARGO_TARGET_DIR='$coverage_target'"
    echo "export CARGO_BUILD_BUILD_DIR='$CARGO_BUILD_BUILD_DIR/llvm-cov-target'"
    echo "export CARGO_PROFILE_RELEASE_INCREMENTAL=true"
  } >"$coverage_target/env.sh"
  (source "$coverage_target/env.sh" && cargo llvm-cov show-env --sh) >>"$coverage_target/env.sh" &&
    (source "$coverage_target/env.sh" &&
      cargo llvm-cov clean --profraw-only && cargo leptos build --release --split --server-only \
        --bin-cargo-args=--config=profile.release.package.app.opt-level=1 \
        --bin-cargo-args=--config=profile.release.package.server.opt-level=1)
}
background "build: release server, instrumented for coverage (cargo leptos build --release --split --server-only)" \
  "$logs/coverage-server.log" build_coverage_server
coverage_build=$last_background
# The lints (clippy -D warnings, ssr and hydrate builds) check beside them too, and are done before
# the fuzzer starts (beside the fuzzer they took 60 % of its generated cases).
background "lint: clippy -D warnings for the ssr and hydrate builds" "$logs/lint.log" scripts/lint.sh
lint=$last_background

# Every test binary in one run (both backends side by side in each), counted per suite and backend
# from cargo's own lines. Without PostgreSQL its cases are listed, not run, and count as skipped.
echo
echo "==> unit, store contract, REST and integration suites on SQLite and PostgreSQL"
started=$SECONDS
if [ -z "$no_postgres" ]; then
  "${cargo_tests[@]}" --no-fail-fast 2>&1 | tee "$logs/cargo.log"
  rc=${PIPESTATUS[0]}
  counts=$(scripts/test-counts.py "$logs/cargo.log")
else
  "${cargo_tests[@]}" --no-fail-fast -- --skip postgres 2>&1 | tee "$logs/cargo.log"
  rc=${PIPESTATUS[0]}
  "${cargo_tests[@]}" --tests -- postgres --list >"$logs/postgres-list.log" 2>&1
  counts=$(scripts/test-counts.py "$logs/cargo.log" "$logs/postgres-list.log")
fi
while IFS= read -r line; do summary+=("$line"); done < <(printf '%s\n' "$counts" | sed '$d')
read -r p f s < <(printf '%s\n' "$counts" | tail -1)
passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then failed=$((failed + 1)); fi # it failed outside any case
[ "$rc" -eq 0 ] && [ "$f" -eq 0 ] || status=1
summary+=("$(printf '%-4s  %s (%ss)' "$([ "$rc" -eq 0 ] && echo PASS || echo FAIL)" "the Rust tests as a whole" "$((SECONDS - started))")")

# UI code (pages, components) is covered by the browser tests below, not counted here.
suite "line coverage of server + app ssr code >= 80%" cargo llvm-cov report --summary-only \
  --fail-under-lines 80 --ignore-filename-regex 'app/src/(pages|components)/|app/src/lib.rs|/tests/'

joined "$wasm_build" "$logs/wasm.log"
joined "$coverage_build" "$logs/coverage-server.log"
joined "$lint" "$logs/lint.log"
discarded=$(mktemp -d /tmp/deploytrack-profraw.XXXXXX)
discarding_coverage() { SERVER_BIN=$server LLVM_PROFILE_FILE="$discarded/%p-%m.profraw" "$@"; }

# The document as client generators read it (its own command prints it; ~10 s).
suite "OpenAPI document: openapi-spec-validator accepts it, a TypeScript client generated from it type-checks" \
  discarding_coverage scripts/openapi-check.sh "$server"

# The two fuzz runs at once: each is one server and one single-threaded fuzzer, on its own core.
scripts/fuzz.sh --install >/dev/null || exit 1
if [ -z "$no_postgres" ]; then
  fuzz_backends=(sqlite postgres)
else
  fuzz_backends=(sqlite)
  summary+=("SKIP  fuzz: Schemathesis against the release server [postgres]: not run")
fi
fuzz_started=$SECONDS
fuzz_pids=()
for backend in "${fuzz_backends[@]}"; do
  discarding_coverage scripts/fuzz.sh "$backend" >"$logs/fuzz-$backend.log" 2>&1 &
  fuzz_pids+=($!)
done
for i in "${!fuzz_backends[@]}"; do
  backend=${fuzz_backends[$i]}
  echo
  echo "==> fuzz: Schemathesis against the release server [$backend]"
  if wait "${fuzz_pids[$i]}"; then result=PASS; else result=FAIL; fi
  tail -25 "$logs/fuzz-$backend.log"
  # Schemathesis's generated cases are not counted; a failed run counts as one failure.
  [ $result = PASS ] || failed=$((failed + 1))
  record $result "fuzz: Schemathesis against the release server [$backend]" "$fuzz_started"
done

export PLAYWRIGHT_JSON_OUTPUT_FILE
playwright_report=(--reporter=list,json)
if [ -z "$no_postgres" ]; then
  PLAYWRIGHT_JSON_OUTPUT_FILE=$ROOT/$logs/scale-out.log.json
  counted "scale-out: 3 instances on PostgreSQL behind HAProxy (live updates, kill -9 under 8 writers, throttle, sessions)" \
    "$logs/scale-out.log" discarding_coverage scripts/scale-out.sh "${playwright_report[@]}"
else
  not_run "scale-out: 3 instances on PostgreSQL behind HAProxy" \
    "$(grep -c "^test(" end2end/scale-out/*.spec.ts)"
fi

# The browser suite, and the UI code's line coverage from what it made the server do.
e2e_with_coverage() {
  (source "$coverage_target/env.sh" && SERVER_BIN=$server scripts/e2e.sh "${playwright_report[@]}")
}
PLAYWRIGHT_JSON_OUTPUT_FILE=$ROOT/$logs/e2e.log.json
counted "end-to-end in Chromium (Playwright) on the release build" "$logs/e2e.log" e2e_with_coverage
ui_coverage() {
  # Everything but pages and components is measured by the other coverage gate.
  (source "$coverage_target/env.sh" && cargo llvm-cov report --release --summary-only --fail-under-lines "${UI_COVERAGE_MIN:-70}" \
      --ignore-filename-regex '(server/|frontend/|/tests/|app/src/(api|model|ssr)/|app/src/(error|lib)\.rs)')
}
suite "UI line coverage (pages + components) >= ${UI_COVERAGE_MIN:-70}%" ui_coverage
rm -rf "$discarded"
exit $status
