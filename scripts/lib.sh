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

# schemathesis (PyPI), pinned, in a virtualenv outside the clone: the API's
# fuzz test runs it. Exports ADPULSE_SCHEMATHESIS.
SCHEMATHESIS_VERSION=4.32.5
ensure_schemathesis() {
  local venv=$HOME/.cache/adpulse/venv
  if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
    say "installing schemathesis $SCHEMATHESIS_VERSION (PyPI) into $venv"
    command -v python3 >/dev/null 2>&1 || { local sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo; $sudo apt-get install -y -qq python3 >/dev/null; }
    if ! python3 -m venv "$venv" >/dev/null 2>&1; then
      local sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
      DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
      python3 -m venv "$venv"
    fi
    "$venv/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION"
  fi
  export ADPULSE_SCHEMATHESIS=$venv/bin/schemathesis
}
