# PostgreSQL 15 with the hll extension, from Debian's packages.
# Sourced by ../stack. Admin work goes over the Unix socket in the data folder
# as the postgres superuser; the application role `adpulse` (password
# `adpulse`, not a superuser, so row-level security applies to it) connects
# over TCP on loopback.

postgres_PORT=${ADPULSE_POSTGRES_PORT:-5432}
postgres_LOG="$ADPULSE_STACK_DIR/postgres/postgres.log"
postgres_START_TIMEOUT=60
_PG_BIN=/usr/lib/postgresql/15/bin
_PG_DIR="$ADPULSE_STACK_DIR/postgres"

# Postgres refuses to run as root; as root, run its programs as `postgres`.
_pg_as() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

_pg_admin() {
  _pg_as "$_PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$_PG_DIR" -p "$postgres_PORT" -U postgres "$@"
}

postgres_install() {
  apt_install postgresql-15 postgresql-15-hll
}

postgres_start() {
  mkdir -p "$_PG_DIR"
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres:postgres "$_PG_DIR"
    runuser -u postgres -- test -w "$_PG_DIR" ||
      die "user postgres cannot write $_PG_DIR; set ADPULSE_STACK_DIR to a folder it can reach"
  fi
  if [ ! -f "$_PG_DIR/data/PG_VERSION" ]; then
    log "postgres: initdb in $_PG_DIR/data"
    _pg_as "$_PG_BIN/initdb" -D "$_PG_DIR/data" -U postgres -E UTF8 --locale=C.UTF-8 \
      --auth-local=trust --auth-host=scram-sha-256 >"$_PG_DIR/initdb.log" 2>&1 ||
      { tail -20 "$_PG_DIR/initdb.log" >&2; die "initdb failed"; }
  fi
  if ! _pg_as "$_PG_BIN/pg_ctl" -D "$_PG_DIR/data" status >/dev/null 2>&1; then
    touch "$postgres_LOG"; [ "$(id -u)" -ne 0 ] || chown postgres:postgres "$postgres_LOG"
    # fsync=off: a dev and test server; a killed process loses nothing (the OS
    # keeps its writes), only a machine crash could. shared_buffers: the
    # default 128 MB keeps less than a benchmark's aggregate indexes in
    # Postgres' own cache.
    _pg_as "$_PG_BIN/pg_ctl" -D "$_PG_DIR/data" -l "$postgres_LOG" -w -t 60 \
      -o "-p $postgres_PORT -k $_PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200 -c shared_buffers=1GB" \
      start >/dev/null || { tail -20 "$postgres_LOG" >&2; die "postgres did not start"; }
  fi
  head -1 "$_PG_DIR/data/postmaster.pid" >"$_PG_DIR/pid"
  _pg_admin <<'SQL'
SELECT 'CREATE ROLE adpulse LOGIN PASSWORD ''adpulse'' NOSUPERUSER'
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'adpulse') \gexec
SELECT 'CREATE DATABASE adpulse OWNER adpulse'
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'adpulse') \gexec
SQL
  # hll is not a trusted extension: only a superuser may create it, so the
  # stack does it once and migrations find it present.
  _pg_admin -d adpulse -c 'CREATE EXTENSION IF NOT EXISTS hll' 2>/dev/null
}

postgres_ready() {
  PGCONNECT_TIMEOUT=3 PGPASSWORD=adpulse "$_PG_BIN/psql" -X -tA -h 127.0.0.1 -p "$postgres_PORT" \
    -U adpulse -d adpulse -c 'SELECT 1' 2>/dev/null | grep -qx 1
}

postgres_stop() {
  if [ -f "$_PG_DIR/data/postmaster.pid" ]; then
    _pg_as "$_PG_BIN/pg_ctl" -D "$_PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -f "$_PG_DIR/pid"
  log "postgres stopped"
}
