# Cassandra 5.0, one node on loopback, run straight from the Maven Central jars
# (org.apache.cassandra:cassandra-all and its runtime dependencies): no release
# tarball, no bin/cassandra. Templates live in deploy/local/cassandra/.
# Sourced by ../stack; not run alone.
#
# Settings (environment):
#   ADPULSE_CQL_PORT                 CQL native port (9042)
#   ADPULSE_CASSANDRA_VERSION        cassandra-all version on Maven Central (5.0.9)
#   ADPULSE_CASSANDRA_STORAGE_PORT   internode port, loopback only (7000)
#   ADPULSE_CASSANDRA_JMX_PORT       local JMX for nodetool, loopback only (7199)
#   ADPULSE_CASSANDRA_HEAP           max heap (1G); the heap starts at 256M and grows
#
# By hand (from the repo root, default stack dir):
#   python3 deploy/local/cassandra/cql.py -H "SELECT * FROM system.local"
#   java -cp "$ADPULSE_STACK_DIR/cassandra/lib/*" org.apache.cassandra.tools.NodeTool -p 7199 status

cassandra_VERSION=${ADPULSE_CASSANDRA_VERSION:-5.0.9}
cassandra_PORT=${ADPULSE_CQL_PORT:-9042}
cassandra_STORAGE_PORT=${ADPULSE_CASSANDRA_STORAGE_PORT:-7000}
cassandra_JMX_PORT=${ADPULSE_CASSANDRA_JMX_PORT:-7199}
cassandra_HEAP=${ADPULSE_CASSANDRA_HEAP:-1G}
cassandra_DIR="$ADPULSE_STACK_DIR/cassandra"
cassandra_LOG="$ADPULSE_STACK_DIR/cassandra/cassandra.log"
cassandra_START_TIMEOUT=180
cassandra_CONF_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../cassandra" && pwd)

# cassandra_install: the jars (refetched when the version or the pom changes), java, python3.
cassandra_install() {
  command -v java >/dev/null 2>&1 || apt_install openjdk-17-jre-headless
  command -v mvn >/dev/null 2>&1 || apt_install maven
  command -v python3 >/dev/null 2>&1 || apt_install python3
  local lib="$cassandra_DIR/lib" stamp
  stamp="$cassandra_VERSION $(sha256sum "$cassandra_CONF_SRC/pom.xml" | cut -c1-16)"
  if [ -f "$lib/.stamp" ] && [ "$(cat "$lib/.stamp")" = "$stamp" ]; then return 0; fi
  log "cassandra: fetching cassandra-all $cassandra_VERSION and its dependencies from Maven Central"
  mkdir -p "$cassandra_DIR"
  rm -rf "$lib.tmp"
  mvn -B -q -f "$cassandra_CONF_SRC/pom.xml" dependency:copy-dependencies \
    -Dcassandra.version="$cassandra_VERSION" -DincludeScope=runtime \
    -DoutputDirectory="$lib.tmp" >"$cassandra_DIR/mvn.log" 2>&1 \
    || { tail -n 30 "$cassandra_DIR/mvn.log" >&2; die "cassandra: mvn dependency:copy-dependencies failed (log: $cassandra_DIR/mvn.log)"; }
  ls "$lib.tmp"/cassandra-all-"$cassandra_VERSION".jar >/dev/null 2>&1 || die "cassandra: cassandra-all-$cassandra_VERSION.jar missing after fetch"
  echo "$stamp" >"$lib.tmp/.stamp"
  rm -rf "$lib"; mv "$lib.tmp" "$lib"
}

# cassandra_start: renders cassandra.yaml into the stack dir and starts the node in the background.
cassandra_start() {
  if pid_alive cassandra CassandraDaemon; then log "cassandra: already started (pid $(cat "$cassandra_DIR/pid")), still booting"; return 0; fi
  rm -f "$cassandra_DIR/pid"
  local d=$cassandra_DIR jamm opts=()
  mkdir -p "$d"/{conf,data,commitlog,saved_caches,hints,cdc_raw,triggers}
  sed -e "s|@DIR@|$d|g" -e "s|@CQL_PORT@|$cassandra_PORT|g" -e "s|@STORAGE_PORT@|$cassandra_STORAGE_PORT|g" \
    "$cassandra_CONF_SRC/cassandra.yaml.in" >"$d/conf/cassandra.yaml"
  cp "$cassandra_CONF_SRC/logback.xml" "$d/conf/logback.xml"
  jamm=$(ls "$d"/lib/jamm-*.jar 2>/dev/null | head -n 1)
  [ -n "$jamm" ] || die "cassandra: jamm jar not found in $d/lib (run install)"
  mapfile -t opts < <(grep -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' "$cassandra_CONF_SRC/jvm.options")
  opts+=(
    "-Xms256M" "-Xmx$cassandra_HEAP"
    "-javaagent:$jamm"
    "-XX:ErrorFile=$d/hs_err_%p.log"
    "-Dcassandra.config=file://$d/conf/cassandra.yaml"
    "-Dlogback.configurationFile=file://$d/conf/logback.xml"
    "-Dcassandra.storagedir=$d"
    "-Dcassandra.logdir=$d"
    "-Dcassandra.triggers_dir=$d/triggers"
    "-Dcassandra.jmx.local.port=$cassandra_JMX_PORT"
  )
  # bin/cassandra preloads jemalloc when the system has it; do the same, else silence the check.
  local jemalloc="" env_pre=() f
  for f in /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 /usr/lib/aarch64-linux-gnu/libjemalloc.so.2 /usr/lib64/libjemalloc.so.2; do
    [ -f "$f" ] && { jemalloc=$f; break; }
  done
  if [ -n "$jemalloc" ]; then
    env_pre=(env "LD_PRELOAD=$jemalloc"); opts+=("-Dcassandra.libjemalloc=$jemalloc")
  else
    opts+=("-Dcassandra.libjemalloc=-")
  fi
  # Cassandra always calls mlockall(MCL_CURRENT); as root (CI) that succeeds and pins
  # every page mapped at that moment (~0.5 GiB more RSS on this shared machine). Drop
  # CAP_IPC_LOCK so it fails softly (one WARN line), as it does for any non-root user.
  if [ "$(id -u)" -eq 0 ] && setpriv --bounding-set -ipc_lock true >/dev/null 2>&1; then
    env_pre=(setpriv --bounding-set -ipc_lock "${env_pre[@]}")
  fi
  [ -f "$cassandra_LOG" ] && mv -f "$cassandra_LOG" "$cassandra_LOG.1"
  log "cassandra: starting $cassandra_VERSION on 127.0.0.1:$cassandra_PORT"
  # The main class is started directly: the root check lives only in bin/cassandra, so CI's root is fine.
  (cd "$d" && exec setsid nohup "${env_pre[@]}" java "${opts[@]}" -cp "$d/lib/*" \
     org.apache.cassandra.service.CassandraDaemon >"$cassandra_LOG" 2>&1 </dev/null) &
  echo $! >"$d/pid"
}

# cassandra_ready: a real CQL query over the native protocol (stdlib-only Python client).
cassandra_ready() {
  timeout 6 python3 "$cassandra_CONF_SRC/cql.py" -q --expect-rows -t 4 -p "$cassandra_PORT" \
    "SELECT release_version FROM system.local" >/dev/null 2>&1
}

# cassandra_stop: TERM runs Cassandra's shutdown hook (drain: flush memtables, close the commit log).
cassandra_stop() {
  stop_pid cassandra 60 CassandraDaemon
}
