#!/usr/bin/env bash
# Installs what building and testing need, skipping each tool already at the right version.
# Usage: scripts/setup.sh [--browser]   (--browser also installs Debian's Chromium for the e2e tests)
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_LEPTOS_VERSION=0.3.10
WASM_BINDGEN_VERSION=0.2.130 # must equal the wasm-bindgen crate pinned in Cargo.toml
CARGO_LLVM_COV_VERSION=0.9.1

say() { printf '==> %s\n' "$*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
  say "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 15 minutes, once)"
  cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked
fi

# cargo-leptos runs the wasm-bindgen on PATH; without it, it tries a download that fails here.
# (--locked fails for this version: a locked dependency is no longer in the registry.)
if ! wasm-bindgen --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 3 minutes, once)"
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

if [ "${1:-}" = "--browser" ]; then # the test command also measures coverage
  if ! rustup component list --installed | grep -q '^llvm-tools'; then
    say "adding the llvm-tools-preview component (coverage)"
    rustup component add llvm-tools-preview
  fi
  if ! cargo llvm-cov --version 2>/dev/null | grep -q "$CARGO_LLVM_COV_VERSION"; then
    say "installing cargo-llvm-cov $CARGO_LLVM_COV_VERSION (about 1 minute, once)"
    cargo install cargo-llvm-cov --version "$CARGO_LLVM_COV_VERSION" --locked
  fi
fi

# npm gives wasm-opt (binaryen; never Debian's older one, which breaks hydration) and Playwright.
# The installed tree is kept outside the clone under its lock file's digest, and copied into a
# new clone as hard links (a fresh copy when the cache is on another file system).
source scripts/env.sh # CACHE_DIR
npm_key=$(sha256sum end2end/package-lock.json | cut -c1-16)
npm_cached=$CACHE_DIR/node_modules-$npm_key
if [ "$(cat end2end/node_modules/.deploytrack-lock 2>/dev/null)" != "$npm_key" ]; then
  rm -rf end2end/node_modules
  if [ -f "$npm_cached/.deploytrack-lock" ]; then
    say "npm packages in end2end/ from the cache ($npm_cached)"
    cp -al "$npm_cached" end2end/node_modules 2>/dev/null || cp -a "$npm_cached" end2end/node_modules
  else
    say "installing npm packages in end2end/"
    (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
    echo "$npm_key" >end2end/node_modules/.deploytrack-lock
    rm -rf "$npm_cached.partial"
    cp -a end2end/node_modules "$npm_cached.partial" && mv "$npm_cached.partial" "$npm_cached"
  fi
fi

if [ "${1:-}" = "--browser" ] && ! command -v chromium >/dev/null 2>&1; then
  say "installing Debian's chromium for the browser tests"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get install -y chromium || { $SUDO apt-get update && $SUDO apt-get install -y chromium; }
fi

# rsvg-convert (Debian's librsvg2-bin) renders the status badges in their test.
if [ "${1:-}" = "--browser" ] && ! command -v rsvg-convert >/dev/null 2>&1; then
  say "installing Debian's rsvg-convert for the badge tests"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get install -y librsvg2-bin || { $SUDO apt-get update && $SUDO apt-get install -y librsvg2-bin; }
fi

# HAProxy (Debian's) fronts three instances in the scale-out test.
if [ "${1:-}" = "--browser" ] && ! command -v haproxy >/dev/null 2>&1; then
  say "installing Debian's haproxy for the scale-out test"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get install -y haproxy || { $SUDO apt-get update && $SUDO apt-get install -y haproxy; }
fi
