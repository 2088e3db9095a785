#!/usr/bin/env bash
# clippy with -D warnings for both the server (ssr) and browser (hydrate) builds.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
cargo clippy -p app -p server --features app/ssr --all-targets -- -D warnings
cargo clippy -p app -p frontend --features app/hydrate --target wasm32-unknown-unknown -- -D warnings
