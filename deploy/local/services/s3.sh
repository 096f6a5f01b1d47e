# shellcheck shell=bash
# An S3-compatible server on loopback: S3Proxy (org.gaul:s3proxy, Apache-2.0) with its
# filesystem backend, run from the self-contained jar it publishes on Maven Central
# (deploy/local/s3proxy/pom.xml), no Docker. The object-storage tests run the creatives'
# store against it. Sourced by ../stack; not run alone. Files under $ADPULSE_STACK_DIR/s3:
#   lib/<version>/    the jar (mvn dependency:copy-dependencies)
#   data/             one folder per bucket, one file per object
#   s3proxy.conf      generated from deploy/local/s3proxy/s3proxy.conf on each start
#   s3proxy.log, pid
#
# Credentials are fixed test ones (access key `adpulse`, secret `adpulse-secret`, any
# region); ready also creates the bucket `adpulse`, the one tests put their prefixes in.
#
# Environment: ADPULSE_S3_PORT (9000), ADPULSE_S3PROXY_VERSION (the pom's s3proxy.version),
# ADPULSE_S3_HEAP (256m), ADPULSE_S3_START_TIMEOUT (60).
#
# By hand (curl signs the request):
#   curl --aws-sigv4 aws:amz:us-east-1:s3 --user adpulse:adpulse-secret \
#     -H "x-amz-content-sha256: $(printf '' | sha256sum | cut -c1-64)" http://127.0.0.1:9000/adpulse

s3_CONF=$(cd "$(dirname "${BASH_SOURCE[0]}")/../s3proxy" && pwd)
s3_PORT=${ADPULSE_S3_PORT:-9000}
s3_VERSION=${ADPULSE_S3PROXY_VERSION:-$(sed -n 's:.*<s3proxy.version>\(.*\)</s3proxy.version>.*:\1:p' "$s3_CONF/pom.xml")}
s3_DIR="$ADPULSE_STACK_DIR/s3"
s3_LIB="$s3_DIR/lib/$s3_VERSION"
s3_JAR="$s3_LIB/s3proxy-$s3_VERSION-jar-with-dependencies.jar"
# shellcheck disable=SC2034 # ../stack and wait_ready read these by name
s3_LOG="$s3_DIR/s3proxy.log"
# shellcheck disable=SC2034
s3_START_TIMEOUT=${ADPULSE_S3_START_TIMEOUT:-60}
s3_ACCESS_KEY=adpulse
s3_SECRET_KEY=adpulse-secret
s3_BUCKET=adpulse

s3_install() {
  command -v java >/dev/null 2>&1 || apt_install openjdk-17-jre-headless
  command -v curl >/dev/null 2>&1 || apt_install curl ca-certificates
  [ -n "$s3_VERSION" ] || die "s3: no s3proxy.version in $s3_CONF/pom.xml"
  maven_installed "$s3_LIB" "$s3_CONF/pom.xml" "$s3_VERSION" && return 0
  log "s3: fetching S3Proxy $s3_VERSION from Maven Central"
  local t0=$SECONDS
  maven_fetch s3 "$s3_CONF/pom.xml" s3proxy.version "$s3_VERSION" "$s3_DIR" "$s3_LIB" "${s3_JAR##*/}"
  log "s3: S3Proxy $s3_VERSION installed in $s3_LIB ($((SECONDS - t0))s)"
}

s3_start() {
  if pid_alive s3 org.gaul.s3proxy.Main; then
    log "s3: already started (pid $(cat "$s3_DIR/pid")), waiting for it"
    return 0
  fi
  maven_installed "$s3_LIB" "$s3_CONF/pom.xml" "$s3_VERSION" || s3_install
  mkdir -p "$s3_DIR/data" "$s3_DIR/tmp"
  # The file holds the secret: readable by the stack's user only.
  (umask 077 && sed -e "s|@PORT@|$s3_PORT|g" -e "s|@DATA_DIR@|$s3_DIR/data|g" \
      -e "s|@ACCESS_KEY@|$s3_ACCESS_KEY|g" -e "s|@SECRET_KEY@|$s3_SECRET_KEY|g" \
      "$s3_CONF/s3proxy.conf" >"$s3_DIR/s3proxy.conf")

  if [ -f "$s3_LOG" ] && [ "$(stat -c %s "$s3_LOG")" -gt $((16 << 20)) ]; then
    mv -f "$s3_LOG" "$s3_LOG.1"
  fi
  local heap=${ADPULSE_S3_HEAP:-256m}
  rm -f "$s3_DIR/pid"
  printf '\n[stack] ===== starting S3Proxy %s on 127.0.0.1:%s at %s =====\n' \
    "$s3_VERSION" "$s3_PORT" "$(date '+%F %T')" >>"$s3_LOG"
  # As for Kafka: own session, outlives this script; the child writes its pid, then execs.
  # shellcheck disable=SC2016 # $$ and $@ are the child's
  setsid bash -c 'echo $$ >"$1"; shift; exec nohup "$@"' s3-launch "$s3_DIR/pid" \
    java "-Xms64m" "-Xmx$heap" -XX:+UseSerialGC -XX:+ExitOnOutOfMemoryError \
    "-Djava.io.tmpdir=$s3_DIR/tmp" -Djava.awt.headless=true \
    "-Dlogback.configurationFile=file:$s3_CONF/logback.xml" \
    -cp "$s3_JAR" org.gaul.s3proxy.Main --properties "$s3_DIR/s3proxy.conf" \
    </dev/null >>"$s3_LOG" 2>&1 &
  local _
  for _ in $(seq 1 50); do [ -s "$s3_DIR/pid" ] && break; sleep 0.05; done
  log "s3: starting S3Proxy $s3_VERSION (pid $(cat "$s3_DIR/pid" 2>/dev/null || echo '?'), log $s3_LOG)"
}

# _s3_call ARGS...: curl with an AWS Signature V4 for the stack's key (an empty body's hash).
_s3_call() {
  timeout 5 curl -fsS --max-time 4 --aws-sigv4 aws:amz:us-east-1:s3 \
    --user "$s3_ACCESS_KEY:$s3_SECRET_KEY" \
    -H 'x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' \
    "$@"
}

# s3_ready: an authenticated ListBuckets that shows $s3_BUCKET (created when missing).
s3_ready() {
  command -v curl >/dev/null 2>&1 || return 1
  timeout 1 bash -c ": >/dev/tcp/127.0.0.1/$s3_PORT" 2>/dev/null || return 1
  local url="http://127.0.0.1:$s3_PORT" out
  out=$(_s3_call "$url/" 2>/dev/null) || return 1
  [[ $out == *"<Name>$s3_BUCKET</Name>"* ]] && return 0
  _s3_call -X PUT "$url/$s3_BUCKET" >/dev/null 2>&1 || return 1
  out=$(_s3_call "$url/" 2>/dev/null) || return 1
  [[ $out == *"<Name>$s3_BUCKET</Name>"* ]]
}

s3_stop() { stop_pid s3 30 org.gaul.s3proxy.Main; }
