# Sourced by the other scripts: puts npm's wasm-opt first on PATH (cargo-leptos uses it for release WASM).
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$ROOT/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"

# What a clean clone cannot change is kept here across clones, under a key that names its version
# (the Schemathesis virtual environment, the PgBouncer build, the npm packages).
CACHE_DIR="${DEPLOYTRACK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/deploytrack}"
mkdir -p "$CACHE_DIR"

# cargo's intermediate files (every compiled dependency) are kept there too, in cargo's build-dir,
# so a new clone compiles only the project's own crates; final artifacts (target/release,
# target/site, …) stay in the clone. Cargo's fingerprints decide what is fresh, as in any target
# directory; instrumented builds keep theirs apart (build-dir/llvm-cov-target, see test.sh).
BUILD_DIR="$CACHE_DIR/build"
export CARGO_BUILD_BUILD_DIR="${CARGO_BUILD_BUILD_DIR:-$BUILD_DIR}"

# The build-dir holds one clone's own crates at a time: when another clone builds, the previous
# one's are removed first (they would only take disk, and coverage reports scan the build-dir for
# test binaries). The crates of registry packages stay.
forget_other_clones() {
  local owner="$BUILD_DIR/.clone" names
  [ "$(cat "$owner" 2>/dev/null)" = "$ROOT" ] && return 0
  names="app|server|frontend|deploytrack|$(cd "$ROOT/server/tests" && ls -- *.rs | sed 's/\.rs$//' | paste -sd'|')"
  if [ -d "$BUILD_DIR" ]; then
    find "$BUILD_DIR" -regextype posix-extended \
      -regex ".*/(\.fingerprint|deps|build|incremental)/(lib)?($names)-[0-9a-f]{16}[^/]*" \
      -prune -exec rm -rf {} +
  fi
  mkdir -p "$BUILD_DIR"
  echo "$ROOT" >"$owner"
}

# A free TCP port on 127.0.0.1.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Waits until $1 answers with 2xx, for at most $2 seconds.
wait_for_url() {
  local url=$1 limit=${2:-60} i
  for ((i = 0; i < limit * 4; i++)); do
    if curl -fsS -o /dev/null "$url" 2>/dev/null; then return 0; fi
    sleep 0.25
  done
  echo "timed out waiting for $url" >&2
  return 1
}
# A script that builds nothing (it sets HELPERS_ONLY=1 before sourcing) leaves the build-dir to
# whichever clone is building in it.
[ -n "${HELPERS_ONLY:-}" ] || forget_other_clones
