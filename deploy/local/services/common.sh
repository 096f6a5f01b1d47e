# Helpers shared by the service files. Sourced by ../stack; not run alone.

log() { printf '[stack] %s\n' "$*" >&2; }
die() { printf '[stack] error: %s\n' "$*" >&2; exit 1; }

# apt_install PKG...: installs Debian packages that are missing (runs apt-get update once).
apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  if [ -z "${_APT_UPDATED:-}" ]; then $sudo apt-get update -qq >/dev/null; _APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Jars from Maven Central, for the Java servers: a pom under deploy/local names what to
# fetch; `mvn dependency:copy-dependencies` puts its runtime jars in lib/<version>, which is
# complete once it holds a stamp of the pom's content and version.

# maven_stamp POM VERSION: what a finished lib/<version> was fetched with.
maven_stamp() {
  printf '%s %s\n' "$2" "$(sha256sum <"$1" | cut -c1-16)"
}

# maven_installed LIB POM VERSION: LIB was fetched completely, with this pom and version.
maven_installed() {
  [ "$(cat "$1/.complete" 2>/dev/null)" = "$(maven_stamp "$2" "$3")" ]
}

# maven_fetch NAME POM VERSION_PROPERTY VERSION DIR LIB JAR: fetches POM's runtime jars
# into LIB (replacing it only once complete, and dropping other versions' folders beside
# it: ~/.m2 still has them), logging to DIR/mvn.log; JAR must be among them.
maven_fetch() {
  local name=$1 pom=$2 property=$3 version=$4 dir=$5 lib=$6 jar=$7
  command -v mvn >/dev/null 2>&1 || apt_install maven
  local build="$dir/build" tmp="$lib.tmp.$$"
  rm -rf "$tmp" "$build"
  mkdir -p "$tmp" "$build"
  # mvn runs on a copy of the pom so that nothing is written into the checkout. Java takes
  # user.home from the passwd entry, not $HOME; pin it so ~/.m2 is where $HOME says.
  cp "$pom" "$build/pom.xml"
  if ! (cd "$build" && MAVEN_OPTS="${MAVEN_OPTS:-} -Duser.home=${HOME:?}" \
          mvn -B -q -Dstyle.color=never -D"$property=$version" \
          dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp") \
          >"$dir/mvn.log" 2>&1; then
    tail -n 30 "$dir/mvn.log" >&2
    rm -rf "$tmp"
    die "$name: mvn could not fetch $version (full output: $dir/mvn.log)"
  fi
  [ -f "$tmp/$jar" ] || { rm -rf "$tmp"; die "$name: $jar missing after mvn"; }
  maven_stamp "$pom" "$version" >"$tmp/.complete"
  rm -rf "$lib" "$build"
  mv "$tmp" "$lib"
  local d
  for d in "$(dirname "$lib")"/*; do [ "$d" = "$lib" ] || rm -rf "$d"; done
}

# pid_alive NAME [PATTERN]: NAME's pid file names a live process whose command
# line contains PATTERN. A pid file can outlive its process (kill -9, reboot,
# container restart) and the pid be reused, or name a zombie being reaped
# (empty command line): such a stale file is removed.
pid_alive() {
  local f="$ADPULSE_STACK_DIR/$1/pid" pattern=${2:-} pid
  [ -f "$f" ] || return 1
  pid=$(cat "$f")
  if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null &&
     { [ -z "$pattern" ] || grep -qaF -- "$pattern" "/proc/$pid/cmdline" 2>/dev/null; }; then
    return 0
  fi
  rm -f "$f"
  return 1
}

# stop_pid NAME [SECONDS] [PATTERN]: TERM NAME's process (see pid_alive), KILL it
# after SECONDS (default 30).
stop_pid() {
  local name=$1 secs=${2:-30} pattern=${3:-} f="$ADPULSE_STACK_DIR/$1/pid" pid
  if ! pid_alive "$name" "$pattern"; then log "$name not running"; return 0; fi
  pid=$(cat "$f"); kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 $((secs * 10))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && { log "$name did not stop in ${secs}s, killing"; kill -9 "$pid" 2>/dev/null || true; }
  rm -f "$f"; log "$name stopped"
}

# wait_ready NAME: polls NAME_ready until it succeeds, or fails naming the log.
wait_ready() {
  local s=$1 t0=$SECONDS timeout_var="${1}_START_TIMEOUT" log_var="${1}_LOG"
  local limit=${!timeout_var:-120}
  until "${s}_ready" >/dev/null 2>&1; do
    if [ $((SECONDS - t0)) -ge "$limit" ]; then
      log "$s did not answer within ${limit}s; last lines of ${!log_var}:"
      tail -n 30 "${!log_var}" >&2 || true
      exit 1
    fi
    if [ -f "$ADPULSE_STACK_DIR/$s/pid" ] && ! pid_alive "$s"; then
      log "$s exited during start-up; last lines of ${!log_var}:"
      tail -n 30 "${!log_var}" >&2 || true
      exit 1
    fi
    sleep 0.5
  done
  log "$s ready ($((SECONDS - t0))s)"
}
