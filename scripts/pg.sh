# Sourced by the test command: a throwaway PostgreSQL server for the test run.
# pg_start sets TEST_DATABASE_URL (unless it is already set); pg_stop removes the server and its data.

as_postgres() {
  # PostgreSQL refuses to run as root.
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_start() {
  if [ -n "${TEST_DATABASE_URL:-}" ]; then
    echo "==> using the PostgreSQL at TEST_DATABASE_URL"
    return 0
  fi
  PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  if [ -z "$PG_BIN" ]; then
    echo "PostgreSQL server binaries not found (apt-get install postgresql)" >&2
    return 1
  fi
  PG_DIR=$(mktemp -d /tmp/deploytrack-pg.XXXXXX)
  [ "$(id -u)" = 0 ] && chown postgres "$PG_DIR"
  local port
  port=$(free_port)
  as_postgres "$PG_BIN/initdb" -D "$PG_DIR/data" -A trust -U postgres --no-sync >"$PG_DIR/initdb.log" 2>&1
  as_postgres "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w \
    -o "-p $port -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
    start >/dev/null
  export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
  echo "==> throwaway PostgreSQL on 127.0.0.1:$port"
}

pg_stop() {
  if [ -n "${PG_DIR:-}" ] && [ -d "$PG_DIR/data" ]; then
    as_postgres "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
  fi
}
