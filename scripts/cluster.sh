# Sourced by the scale-out test and the instances benchmark: N release servers on one PostgreSQL
# database, HAProxy (Debian's) in front with round robin and health checks on /healthz, the way
# README's "Several instances" section runs them. Each server runs under a restart loop, as
# systemd's Restart=always would, so a test can kill -9 one and watch it come back.
#
#   cluster_start N DATABASE_URL   # sets BALANCER_URL, INSTANCE_URLS[], INSTANCE_PID_FILES[]
#   cluster_stop                   # stops everything cluster_start started
#
# With CLUSTER_POOLED_INSTANCE=K, instance K reaches PostgreSQL through PgBouncer in transaction
# mode (built once per machine by scripts/build-pgbouncer.sh) and LISTENs and migrates over the
# direct URL (DEPLOYTRACK_LISTEN_URL), as README's "Several instances" section describes.
#
# Needs the release build and haproxy; the caller exports the servers' other settings.

CLUSTER_WORK=""
cluster_supervisors=()
cluster_haproxy_pid=""

cluster_pgbouncer_pid_file=""

# Starts PgBouncer (transaction pooling) in front of the PostgreSQL of URL $1; prints its URL.
cluster_start_pgbouncer() {
  local url=$1 bin port
  bin=$(scripts/build-pgbouncer.sh) || return 1
  local server=${url#*@}
  server=${server%%/*}
  port=$(free_port)
  mkdir -p "$CLUSTER_WORK/pgbouncer"
  echo '"postgres" ""' >"$CLUSTER_WORK/pgbouncer/users.txt"
  cat >"$CLUSTER_WORK/pgbouncer/pgbouncer.ini" <<INI
[databases]
* = host=${server%:*} port=${server##*:}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $CLUSTER_WORK/pgbouncer/users.txt
admin_users = postgres
pool_mode = transaction
; sqlx names its prepared statements per connection; PgBouncer 1.21+ maps them onto whichever
; server connection a transaction gets.
max_prepared_statements = 200
default_pool_size = 8
max_client_conn = 200
logfile = $CLUSTER_WORK/pgbouncer/pgbouncer.log
pidfile = $CLUSTER_WORK/pgbouncer/pgbouncer.pid
INI
  # Like PostgreSQL, PgBouncer refuses to run as root; the postgres user may not reach the cache
  # (under root's home), so it runs a copy.
  cp "$bin" "$CLUSTER_WORK/pgbouncer/pgbouncer"
  bin=$CLUSTER_WORK/pgbouncer/pgbouncer
  if [ "$(id -u)" = 0 ]; then
    chown -R postgres "$CLUSTER_WORK/pgbouncer"
    chmod o+x "$CLUSTER_WORK"
    runuser -u postgres -- "$bin" -d "$CLUSTER_WORK/pgbouncer/pgbouncer.ini" >&2
  else
    "$bin" -d "$CLUSTER_WORK/pgbouncer/pgbouncer.ini" >&2
  fi
  echo "${url%%@*}@127.0.0.1:$port/${url##*/}"
}

# Transactions PgBouncer has carried for database $2, from its admin console at URL $1.
cluster_pooled_transactions() {
  psql -At "${1%/*}/pgbouncer" -c "SHOW STATS" | awk -F'|' -v db="$2" '$1 == db {print $2}'
}

cluster_start() {
  local count=$1 n port pid_file database_url listen_url pooled_url=""
  command -v haproxy >/dev/null || { echo "haproxy is not installed (scripts/setup.sh --browser installs it)" >&2; return 1; }
  CLUSTER_WORK=$(mktemp -d /tmp/deploytrack-cluster.XXXXXX)
  if [ -n "${CLUSTER_POOLED_INSTANCE:-}" ]; then
    pooled_url=$(cluster_start_pgbouncer "$2") || return 1
    CLUSTER_POOLER_URL=$pooled_url
    # (Set here: the function above ran in a subshell.)
    cluster_pgbouncer_pid_file="$CLUSTER_WORK/pgbouncer/pgbouncer.pid"
  fi
  INSTANCE_URLS=()
  INSTANCE_PID_FILES=()
  cluster_supervisors=()
  # The first instance migrates an empty database; the others start once it answers.
  for ((n = 1; n <= count; n++)); do
    port=$(free_port)
    pid_file="$CLUSTER_WORK/instance-$n.pid"
    database_url=$2
    listen_url=$2
    if [ "$n" = "${CLUSTER_POOLED_INSTANCE:-}" ]; then database_url=$pooled_url; fi
    (
      while [ ! -f "$CLUSTER_WORK/stop" ]; do
        DATABASE_URL=$database_url DEPLOYTRACK_LISTEN_URL=$listen_url DEPLOYTRACK_ADDR="127.0.0.1:$port" \
          "${SERVER_BIN:-target/release/deploytrack}" >>"$CLUSTER_WORK/instance-$n.log" 2>&1 &
        echo $! >"$pid_file"
        wait $! || true
        sleep 0.2
      done
    ) &
    cluster_supervisors+=($!)
    INSTANCE_URLS+=("http://127.0.0.1:$port")
    INSTANCE_PID_FILES+=("$pid_file")
    if ! wait_for_url "http://127.0.0.1:$port/healthz" 60; then
      tail -30 "$CLUSTER_WORK/instance-$n.log" >&2
      return 1
    fi
  done

  local balancer_port
  balancer_port=$(free_port)
  {
    cat <<CFG
global
    maxconn 4096

defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    # Live-update streams stay open for as long as a page does.
    timeout tunnel 1h
    # A refused connection (an instance that is down) is retried on another one.
    retries 3
    option redispatch 1
    option forwardfor

frontend deploytrack
    bind 127.0.0.1:$balancer_port
    default_backend instances

backend instances
    balance roundrobin
    option httpchk GET /healthz
    http-check expect status 200
CFG
    for ((n = 0; n < count; n++)); do
      echo "    server instance$((n + 1)) ${INSTANCE_URLS[$n]#http://} check inter 500ms fall 2 rise 2"
    done
  } >"$CLUSTER_WORK/haproxy.cfg"
  haproxy -f "$CLUSTER_WORK/haproxy.cfg" -db >"$CLUSTER_WORK/haproxy.log" 2>&1 &
  cluster_haproxy_pid=$!
  BALANCER_URL="http://127.0.0.1:$balancer_port"
  wait_for_url "$BALANCER_URL/healthz" 30
}

# The last lines of each instance's log and HAProxy's, for a failed run.
cluster_logs() {
  local log
  for log in "$CLUSTER_WORK"/instance-*.log "$CLUSTER_WORK"/haproxy.log "$CLUSTER_WORK"/pgbouncer/*.log; do
    [ -f "$log" ] || continue
    echo "---- $(basename "$log") ----"
    tail -20 "$log"
  done
}

cluster_stop() {
  [ -n "$CLUSTER_WORK" ] && [ -d "$CLUSTER_WORK" ] || return 0
  touch "$CLUSTER_WORK/stop"
  local pid_file pid
  for pid_file in "${INSTANCE_PID_FILES[@]}"; do
    [ -f "$pid_file" ] && kill "$(cat "$pid_file")" 2>/dev/null || true
  done
  for pid in "${cluster_supervisors[@]}" "$cluster_haproxy_pid"; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  done
  for pid in "${cluster_supervisors[@]}" "$cluster_haproxy_pid"; do
    [ -n "$pid" ] && wait "$pid" 2>/dev/null || true
  done
  if [ -n "$cluster_pgbouncer_pid_file" ] && [ -f "$cluster_pgbouncer_pid_file" ]; then
    kill "$(cat "$cluster_pgbouncer_pid_file")" 2>/dev/null || true
  fi
  cluster_pgbouncer_pid_file=""
  rm -rf "$CLUSTER_WORK"
  CLUSTER_WORK=""
}
