# Sourced by the scale-out test and the instances benchmark: N release servers on one PostgreSQL
# database, HAProxy (Debian's) in front with round robin and health checks on /healthz, the way
# README's "Several instances" section runs them. Each server runs under a restart loop, as
# systemd's Restart=always would, so a test can kill -9 one and watch it come back.
#
#   cluster_start N DATABASE_URL   # sets BALANCER_URL, INSTANCE_URLS[], INSTANCE_PID_FILES[]
#   cluster_stop                   # stops everything cluster_start started
#
# Needs the release build and haproxy; the caller exports the servers' other settings.

CLUSTER_WORK=""
cluster_supervisors=()
cluster_haproxy_pid=""

cluster_start() {
  local count=$1 n port pid_file
  command -v haproxy >/dev/null || { echo "haproxy is not installed (scripts/setup.sh --browser installs it)" >&2; return 1; }
  CLUSTER_WORK=$(mktemp -d /tmp/deploytrack-cluster.XXXXXX)
  INSTANCE_URLS=()
  INSTANCE_PID_FILES=()
  cluster_supervisors=()
  # The first instance migrates an empty database; the others start once it answers.
  for ((n = 1; n <= count; n++)); do
    port=$(free_port)
    pid_file="$CLUSTER_WORK/instance-$n.pid"
    (
      while [ ! -f "$CLUSTER_WORK/stop" ]; do
        DATABASE_URL=$2 DEPLOYTRACK_ADDR="127.0.0.1:$port" "${SERVER_BIN:-target/release/deploytrack}" \
          >>"$CLUSTER_WORK/instance-$n.log" 2>&1 &
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
  for log in "$CLUSTER_WORK"/instance-*.log "$CLUSTER_WORK/haproxy.log"; do
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
  rm -rf "$CLUSTER_WORK"
  CLUSTER_WORK=""
}
