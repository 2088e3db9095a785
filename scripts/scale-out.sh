#!/usr/bin/env bash
# The scale-out test: three release servers on one throwaway PostgreSQL behind HAProxy
# (scripts/cluster.sh), then end2end/scale-out/*.spec.ts against them: live updates through the
# balancer, eight writers while one instance (the one behind PgBouncer) is killed with -9, the sign-in throttle and sessions
# across instances. Expects the release build and TEST_DATABASE_URL (a PostgreSQL admin URL:
# `source scripts/pg.sh; pg_start`). Arguments go to Playwright.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
source scripts/cluster.sh

if [ -z "${TEST_DATABASE_URL:-}" ]; then
  echo "scale-out: TEST_DATABASE_URL is not set (source scripts/pg.sh; pg_start)" >&2
  exit 1
fi
database="scale_out_$(date +%s)_$$"
psql -q "$TEST_DATABASE_URL" -c "CREATE DATABASE $database"
cleanup() {
  cluster_stop
  psql -q "$TEST_DATABASE_URL" -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT

export LEPTOS_SITE_ROOT="target/site"
export DEPLOYTRACK_ADMIN_PASSWORD="scale-out-admin-password"
export DEPLOYTRACK_TRUSTED_PROXIES="127.0.0.1"
# The instance the spec kills reaches PostgreSQL through PgBouncer in transaction mode.
export CLUSTER_POOLED_INSTANCE=2
cluster_start 3 "${TEST_DATABASE_URL%/*}/$database"

status=0
(
  cd end2end
  BALANCER_URL=$BALANCER_URL \
  INSTANCE_URLS="$(IFS=,; echo "${INSTANCE_URLS[*]}")" \
  INSTANCE_PID_FILES="$(IFS=,; echo "${INSTANCE_PID_FILES[*]}")" \
  ADMIN_PASSWORD="$DEPLOYTRACK_ADMIN_PASSWORD" \
    npx playwright test --config playwright.scale-out.config.ts "$@"
) || status=$?
if [ $status -eq 0 ]; then
  # The pooled instance really went through PgBouncer in transaction mode.
  pooled=$(cluster_pooled_transactions "$CLUSTER_POOLER_URL" "$database")
  echo "scale-out: PgBouncer (transaction pooling) carried ${pooled:-no} transactions for instance $CLUSTER_POOLED_INSTANCE"
  [ "${pooled:-0}" -gt 100 ] || status=1
fi
[ $status -eq 0 ] || cluster_logs
exit $status
