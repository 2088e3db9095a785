#!/usr/bin/env bash
# Line coverage of the UI code (app/src/pages and app/src/components) while the browser suite
# runs: the release server is rebuilt with coverage instrumentation (workspace crates only; the
# release profile, since a debug server renders other hydration markers than the release WASM
# expects) and serves the release site's WASM, so every server-side render and server function the
# Playwright tests cause is counted, together with the app's own unit tests. Browser-only
# closures (event handlers, effects) run in WASM and count as not covered. Fails under
# UI_COVERAGE_MIN percent (default 70). Expects `cargo leptos build --release` to have run; puts
# that uninstrumented server back afterwards (cargo would not notice the swap and rebuild it).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
minimum=${UI_COVERAGE_MIN:-70}
cp target/release/deploytrack target/release/deploytrack.uninstrumented
trap 'mv -f target/release/deploytrack.uninstrumented target/release/deploytrack' EXIT
eval "$(cargo llvm-cov show-env --sh)"
cargo llvm-cov clean --workspace >/dev/null 2>&1 || true
cargo leptos build --release --server-only
cargo test -p app --features ssr --lib >/dev/null
scripts/e2e.sh
# Everything but pages and components is measured by the other coverage gate.
cargo llvm-cov report --release --summary-only --fail-under-lines "$minimum" \
  --ignore-filename-regex '(server/|frontend/|/tests/|app/src/(api|model|ssr)/|app/src/(error|lib)\.rs)'
