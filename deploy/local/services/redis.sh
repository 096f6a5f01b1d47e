# Redis 7 from Debian's package. Sourced by ../stack. Append-only file on, so a
# restarted server keeps its counters.

redis_PORT=${ADPULSE_REDIS_PORT:-6379}
redis_LOG="$ADPULSE_STACK_DIR/redis/redis.log"
redis_START_TIMEOUT=20
_REDIS_DIR="$ADPULSE_STACK_DIR/redis"

redis_install() {
  apt_install redis-server
}

redis_start() {
  mkdir -p "$_REDIS_DIR"
  redis-server --port "$redis_PORT" --bind 127.0.0.1 --dir "$_REDIS_DIR" \
    --daemonize yes --pidfile "$_REDIS_DIR/pid" --logfile "$redis_LOG" \
    --appendonly yes --save "" --protected-mode yes
}

redis_ready() {
  [ "$(timeout 3 redis-cli -h 127.0.0.1 -p "$redis_PORT" PING 2>/dev/null)" = PONG ]
}

redis_stop() {
  stop_pid redis 20 redis-server
}
