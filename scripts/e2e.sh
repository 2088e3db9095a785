#!/usr/bin/env bash
# Runs the Playwright suite against the release build on a fresh SQLite database.
# Expects `cargo leptos build --release` to have run. Arguments go to Playwright (e.g. a spec name);
# SERVER_BIN picks another server binary (the UI coverage run uses an instrumented one).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

work=$(mktemp -d /tmp/deploytrack-e2e.XXXXXX)
port=$(free_port)
export DATABASE_URL="sqlite://$work/e2e.db"
export DEPLOYTRACK_ADDR="127.0.0.1:$port"
export LEPTOS_SITE_ROOT="target/site"
export DEPLOYTRACK_ADMIN_PASSWORD="e2e-admin-password"

# A real OpenID provider (npm's oidc-provider) on loopback, for the single sign-on specs.
oidc_port=$(free_port)
export OIDC_PORT=$oidc_port OIDC_GROUPS_FILE="$work/groups.json"
export OIDC_CLIENT_SECRET="e2e-client-secret-$RANDOM$RANDOM"
export OIDC_REDIRECT_URI="http://127.0.0.1:$port/auth/oidc/callback"
echo '{}' >"$OIDC_GROUPS_FILE"
node end2end/sso/provider.mjs >"$work/provider.log" 2>&1 &
provider_pid=$!
export DEPLOYTRACK_OIDC_ISSUER="http://127.0.0.1:$oidc_port"
export DEPLOYTRACK_OIDC_CLIENT_ID=deploytrack DEPLOYTRACK_OIDC_CLIENT_SECRET="$OIDC_CLIENT_SECRET"
export DEPLOYTRACK_OIDC_REDIRECT_URL="$OIDC_REDIRECT_URI" DEPLOYTRACK_OIDC_PROVIDER_NAME="Loopback ID"
export DEPLOYTRACK_OIDC_SCOPES="openid profile groups" DEPLOYTRACK_OIDC_ALLOW_HTTP_LOOPBACK=true
export DEPLOYTRACK_OIDC_ROLES="deploy-admins=admin,deployers=editor,*=viewer"

"${SERVER_BIN:-target/release/deploytrack}" >"$work/server.log" 2>&1 &
server_pid=$!
cleanup() {
  kill "$server_pid" "$provider_pid" 2>/dev/null || true
  wait "$server_pid" "$provider_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
if ! wait_for_url "$DEPLOYTRACK_OIDC_ISSUER/.well-known/openid-configuration" 30; then
  cat "$work/provider.log"
  exit 1
fi

if ! wait_for_url "http://127.0.0.1:$port/healthz" 60; then
  cat "$work/server.log"
  exit 1
fi
status=0
(cd end2end && BASE_URL="http://127.0.0.1:$port" ADMIN_PASSWORD="$DEPLOYTRACK_ADMIN_PASSWORD" npx playwright test "$@") || status=$?
if [ $status -ne 0 ]; then
  echo "---- server log ----"
  tail -50 "$work/server.log"
fi
exit $status
