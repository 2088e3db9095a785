#!/usr/bin/env bash
# The API's OpenAPI document as the tools that read it see it: `openapi-spec-validator` (PyPI)
# must accept it, and a TypeScript client generated from it (`openapi-typescript`, npm) must
# type-check against end2end/api-client/check.ts, which uses the operations by their ids.
# Usage: scripts/openapi-check.sh [server binary]   (default target/release/deploytrack; the
# document comes from its `openapi` command, so no server or database is needed). ~10 s.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

server=${1:-target/release/deploytrack}
VALIDATOR_VERSION=0.9.0
venv=$CACHE_DIR/openapi-spec-validator-$VALIDATOR_VERSION-$(python3 -c 'import sys; print("py%d.%d" % sys.version_info[:2])')
installed=$("$venv/bin/python" -c 'from importlib.metadata import version; print(version("openapi-spec-validator"))' 2>/dev/null || true)
if [ "$installed" != "$VALIDATOR_VERSION" ]; then
  echo "==> installing openapi-spec-validator $VALIDATOR_VERSION into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "openapi-spec-validator==$VALIDATOR_VERSION"
fi

out=end2end/api-client/generated
mkdir -p "$out"
"$server" openapi >"$out/openapi.json"
"$venv/bin/openapi-spec-validator" "$out/openapi.json"
(cd end2end && npx --no-install openapi-typescript api-client/generated/openapi.json \
  -o api-client/generated/openapi.d.ts --silent && npx --no-install tsc -p api-client)
echo "the OpenAPI document validates, and a TypeScript client generated from it type-checks"
