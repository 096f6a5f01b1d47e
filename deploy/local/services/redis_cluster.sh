# A three-node Redis Cluster (three primaries, no replicas) on loopback ports
# 7001-7003, from Debian's redis-server, for the tests that prove the Redis
# code is cluster-safe. Sourced by ../stack. The first start creates the
# cluster; later starts rejoin it from each node's nodes.conf.

redis_cluster_PORT=${ADPULSE_REDIS_CLUSTER_PORT:-7001}
redis_cluster_LOG="$ADPULSE_STACK_DIR/redis_cluster/node-$redis_cluster_PORT.log"
redis_cluster_START_TIMEOUT=30
_RC_DIR="$ADPULSE_STACK_DIR/redis_cluster"

_rc_ports() { echo "$redis_cluster_PORT" $((redis_cluster_PORT + 1)) $((redis_cluster_PORT + 2)); }

redis_cluster_install() {
  apt_install redis-server redis-tools
}

redis_cluster_start() {
  mkdir -p "$_RC_DIR"
  local port
  for port in $(_rc_ports); do
    mkdir -p "$_RC_DIR/$port"
    redis-server --port "$port" --bind 127.0.0.1 --dir "$_RC_DIR/$port" \
      --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 5000 \
      --daemonize yes --pidfile "$_RC_DIR/$port/pid" --logfile "$_RC_DIR/node-$port.log" \
      --appendonly yes --save "" --protected-mode yes
  done
  for port in $(_rc_ports); do
    for _ in $(seq 1 100); do
      [ "$(redis-cli -p "$port" PING 2>/dev/null)" = PONG ] && break
      sleep 0.1
    done
  done
  cp "$_RC_DIR/$redis_cluster_PORT/pid" "$_RC_DIR/pid" 2>/dev/null || true
  if [ "$(redis-cli -p "$redis_cluster_PORT" CLUSTER INFO | tr -d '\r' | sed -n 's/^cluster_known_nodes://p')" = 1 ]; then
    local nodes=()
    for port in $(_rc_ports); do nodes+=("127.0.0.1:$port"); done
    log "creating the redis cluster on ${nodes[*]}"
    redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >"$_RC_DIR/create.log" 2>&1 ||
      { tail -n 20 "$_RC_DIR/create.log" >&2; die "redis cluster create failed"; }
  fi
}

redis_cluster_ready() {
  local port
  for port in $(_rc_ports); do
    redis-cli -p "$port" CLUSTER INFO 2>/dev/null | tr -d '\r' | grep -qx 'cluster_state:ok' || return 1
  done
}

redis_cluster_stop() {
  local port
  for port in $(_rc_ports); do
    if [ -f "$_RC_DIR/$port/pid" ]; then
      mkdir -p "$ADPULSE_STACK_DIR/redis_cluster_$port"
      mv "$_RC_DIR/$port/pid" "$ADPULSE_STACK_DIR/redis_cluster_$port/pid"
      stop_pid "redis_cluster_$port" 20 redis-server
      rmdir "$ADPULSE_STACK_DIR/redis_cluster_$port" 2>/dev/null || true
    fi
  done
  rm -f "$_RC_DIR/pid"
}
