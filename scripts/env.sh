# Sourced by the other scripts: puts npm's wasm-opt first on PATH (cargo-leptos uses it for release WASM).
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$ROOT/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"

# What a clean clone cannot change is kept here across clones, under a key that names its version
# (the Schemathesis virtual environment, the PgBouncer build, the npm packages).
CACHE_DIR="${DEPLOYTRACK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/deploytrack}"
mkdir -p "$CACHE_DIR"

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
