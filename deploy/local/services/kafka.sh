# Kafka 4.x: one KRaft node (combined broker + controller) on 127.0.0.1, run straight
# from Maven Central jars (deploy/local/kafka/pom.xml), no release tarball.
# Sourced by ../stack; not run alone. Files under $ADPULSE_STACK_DIR/kafka:
#   lib/<version>/      the broker's class path (mvn dependency:copy-dependencies)
#   data/               KRaft metadata + topic data (formatted on first start)
#   server.properties   generated from deploy/local/kafka/server.properties on each start
#   kafka.log, pid
#
# Environment: ADPULSE_KAFKA_PORT (9092), ADPULSE_KAFKA_CONTROLLER_PORT (port + 1),
# ADPULSE_KAFKA_VERSION (the pom's kafka.version), ADPULSE_KAFKA_HEAP (512m),
# ADPULSE_KAFKA_JAVA_OPTS (extra JVM flags), ADPULSE_KAFKA_START_TIMEOUT (90).

kafka_CONF=$(cd "$(dirname "${BASH_SOURCE[0]}")/../kafka" && pwd)
kafka_PORT=${ADPULSE_KAFKA_PORT:-9092}
kafka_CONTROLLER_PORT=${ADPULSE_KAFKA_CONTROLLER_PORT:-$((kafka_PORT + 1))}
kafka_VERSION=${ADPULSE_KAFKA_VERSION:-$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$kafka_CONF/pom.xml")}
kafka_DIR="$ADPULSE_STACK_DIR/kafka"
kafka_LIB="$kafka_DIR/lib/$kafka_VERSION"
kafka_LOG="$kafka_DIR/kafka.log"
kafka_START_TIMEOUT=${ADPULSE_KAFKA_START_TIMEOUT:-90}
kafka_HEALTH_TOPIC=adpulse.health
# The JVM with Kafka's class path and the committed log4j2 config (all logging to stdout).
kafka_JAVA=(java -cp "$kafka_LIB/*" "-Dlog4j2.configurationFile=file:$kafka_CONF/log4j2.properties"
  "-Dkafka.logs.dir=$kafka_DIR" "-Djava.io.tmpdir=$kafka_DIR/tmp" -Djava.awt.headless=true)

kafka_install() {
  command -v java >/dev/null 2>&1 || apt_install openjdk-17-jre-headless
  command -v kcat >/dev/null 2>&1 || apt_install kcat
  [ -n "$kafka_VERSION" ] || die "kafka: no kafka.version in $kafka_CONF/pom.xml"
  maven_installed "$kafka_LIB" "$kafka_CONF/pom.xml" "$kafka_VERSION" && return 0
  log "kafka: fetching Kafka $kafka_VERSION from Maven Central"
  local t0=$SECONDS
  maven_fetch kafka "$kafka_CONF/pom.xml" kafka.version "$kafka_VERSION" "$kafka_DIR" "$kafka_LIB" "kafka_2.13-$kafka_VERSION.jar"
  log "kafka: Kafka $kafka_VERSION installed in $kafka_LIB ($((SECONDS - t0))s)"
}

# _kafka_cluster_id: a random Kafka Uuid (base64url of 16 random bytes, no padding, not
# starting with '-'), the same shape as `kafka-storage random-uuid` prints, without a JVM.
_kafka_cluster_id() {
  local id
  while :; do
    id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
    [[ $id == -* ]] || break
  done
  printf '%s\n' "$id"
}

kafka_start() {
  if pid_alive kafka kafka.Kafka; then
    log "kafka: already started (pid $(cat "$kafka_DIR/pid")), waiting for it"
    return 0
  fi
  maven_installed "$kafka_LIB" "$kafka_CONF/pom.xml" "$kafka_VERSION" || kafka_install
  mkdir -p "$kafka_DIR/data" "$kafka_DIR/tmp"
  sed -e "s|@PORT@|$kafka_PORT|g" -e "s|@CONTROLLER_PORT@|$kafka_CONTROLLER_PORT|g" \
      -e "s|@DATA_DIR@|$kafka_DIR/data|g" \
      "$kafka_CONF/server.properties" >"$kafka_DIR/server.properties"

  # Keep the log from growing without bound across restarts.
  if [ -f "$kafka_LOG" ] && [ "$(stat -c %s "$kafka_LOG")" -gt $((64 << 20)) ]; then
    mv -f "$kafka_LOG" "$kafka_LOG.1"
  fi

  if [ ! -f "$kafka_DIR/data/meta.properties" ]; then
    local cid; cid=$(_kafka_cluster_id)
    log "kafka: formatting $kafka_DIR/data (cluster id $cid)"
    if ! "${kafka_JAVA[@]}" kafka.tools.StorageTool format -t "$cid" \
           -c "$kafka_DIR/server.properties" >>"$kafka_LOG" 2>&1; then
      tail -n 20 "$kafka_LOG" >&2
      die "kafka: formatting the storage failed (log: $kafka_LOG)"
    fi
  fi

  # AppCDS: the first run dumps the classes it loaded into an archive when the broker exits
  # (`stack stop`); later starts map it, which saves about 2 s of CPU and 1 s of wall time
  # per start. Keyed by the lib dir (Kafka version) and the java binary (JDK upgrades).
  local jsa cds
  jsa="$kafka_LIB/cds-$(stat -Lc %Y "$(command -v java)").jsa"
  if [ -s "$jsa" ]; then cds=("-XX:SharedArchiveFile=$jsa")
  else rm -f "$kafka_LIB"/cds-*.jsa; cds=("-XX:ArchiveClassesAtExit=$jsa" "-Xlog:cds*=error"); fi

  local heap=${ADPULSE_KAFKA_HEAP:-512m}
  # shellcheck disable=SC2206 # ADPULSE_KAFKA_JAVA_OPTS is a list of flags
  local extra=(${ADPULSE_KAFKA_JAVA_OPTS:-})
  local jvm=(
    "-Xms$heap" "-Xmx$heap"
    # kafka-server-start.sh's defaults; normal tiered JIT (the broker is benchmarked).
    -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35
    -XX:+ExplicitGCInvokesConcurrent
    "${cds[@]}" "${extra[@]}"
  )
  rm -f "$kafka_DIR/pid"
  printf '\n[stack] ===== starting Kafka %s on 127.0.0.1:%s at %s =====\n' \
    "$kafka_VERSION" "$kafka_PORT" "$(date '+%F %T')" >>"$kafka_LOG"
  # setsid: own session, no controlling terminal, outlives this script; nohup: ignore SIGHUP.
  # The child writes its own pid (setsid may fork), then execs the JVM under that pid.
  setsid bash -c 'echo $$ >"$1"; shift; exec nohup "$@"' kafka-launch "$kafka_DIR/pid" \
    "${kafka_JAVA[@]}" "${jvm[@]}" kafka.Kafka "$kafka_DIR/server.properties" \
    </dev/null >>"$kafka_LOG" 2>&1 &
  local _
  for _ in $(seq 1 50); do [ -s "$kafka_DIR/pid" ] && break; sleep 0.05; done
  log "kafka: starting Kafka $kafka_VERSION (pid $(cat "$kafka_DIR/pid" 2>/dev/null || echo '?'), log $kafka_LOG)"
}

# kafka_ready: produce a unique message to $kafka_HEALTH_TOPIC and read it back.
kafka_ready() {
  command -v kcat >/dev/null 2>&1 || return 1
  # Nothing listening: fail at once instead of letting kcat retry until its timeout.
  timeout 1 bash -c ": >/dev/tcp/127.0.0.1/$kafka_PORT" 2>/dev/null || return 1
  local b="127.0.0.1:$kafka_PORT" msg out
  msg="ready $$ $RANDOM $(date +%s%N)"
  printf '%s\n' "$msg" | timeout 6 kcat -q -b "$b" -P -t "$kafka_HEALTH_TOPIC" -p 0 \
    -X message.timeout.ms=5000 -X socket.connection.setup.timeout.ms=2000 \
    >/dev/null 2>&1 || return 1
  out=$(timeout 5 kcat -q -b "$b" -C -t "$kafka_HEALTH_TOPIC" -p 0 -o -10 -e \
    -X fetch.wait.max.ms=10 -X socket.connection.setup.timeout.ms=2000 2>/dev/null) || return 1
  [[ $'\n'$out$'\n' == *$'\n'"$msg"$'\n'* ]]
}

kafka_stop() { stop_pid kafka 30 kafka.Kafka; }
