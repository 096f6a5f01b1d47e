#!/usr/bin/env bash
# The web console's benchmark (docs/benchmarks.md, "Web console"), in one
# run in one headless Chromium (Debian's), all on loopback:
#   1. the console's /creatives next to the users' original page (every
#      creative rendered at once as its full-size original), RUNS runs each:
#      first screen of thumbnails, DOM nodes, JS heap, images requested,
#      frames while scrolling from the first item to the last;
#   2. Lighthouse 12.2.3 (desktop preset) on /campaigns, the live page and
#      /creatives, LH_RUNS runs each; the initial JavaScript, gzip, as served;
#   3. event to pixel on the live page, EVENTS events one at a time.
# Against `adpulse up` on a copy of a data folder whose tenant holds COUNT
# creatives over CAMPAIGNS campaigns, uploaded through the API (generated
# 600x400 PNGs; the API makes the WebP thumbnails). Seeding takes minutes
# (~35 min for 10,000 on a debug build): the seeded folder is kept in
# benches/console/.cache/seed-COUNT-CAMPAIGNS/ and reused; each run works on
# a fresh copy of it (the images hard-linked), so events sent by one run are
# not in the next. An interrupted seed resumes where it stopped.
#
#   benches/console.sh                 # the release build: $CARGO_TARGET_DIR/release/adpulse
#   ADPULSE_BIN=/path/to/adpulse benches/console.sh
#   benches/console.sh --fresh         # seed again from scratch
#   benches/console.sh --reuse DIR     # a data folder seeded earlier (copied, not changed)
#   RUNS=5 LH_RUNS=3 EVENTS=30 SCROLL_MS=10000 COUNT=10000 CAMPAIGNS=10 CONCURRENCY=4
#   ONLY=creatives,lighthouse,events   # a subset of the three parts
#   OUT=benches/console/results.json   # every sample and the medians
#
# It does not build adpulse (the console is compiled into the binary: build
# it with scripts/web and cargo build --release first). Prints markdown
# tables; the server and Chromium are stopped at the end and on failure.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
cd "$ROOT"
HERE=$ROOT/benches/console

COUNT=${COUNT:-10000}
CAMPAIGNS=${CAMPAIGNS:-10}
CONCURRENCY=${CONCURRENCY:-4}
RUNS=${RUNS:-5}
LH_RUNS=${LH_RUNS:-3}
EVENTS=${EVENTS:-30}
SCROLL_MS=${SCROLL_MS:-10000}
ONLY=${ONLY:-creatives,lighthouse,events}
OUT=${OUT:-$HERE/results.json}
CACHE=${CACHE:-$HERE/.cache}
BIN=${ADPULSE_BIN:-$CARGO_TARGET_DIR/release/adpulse}
fresh=0
reuse=""
while [ $# -gt 0 ]; do
  case $1 in
    --fresh) fresh=1 ;;
    --reuse) reuse=$(cd "$2" && pwd); shift ;;
    *) echo "usage: benches/console.sh [--fresh] [--reuse DATA_DIR]" >&2; exit 2 ;;
  esac
  shift
done
for n in COUNT CAMPAIGNS CONCURRENCY RUNS LH_RUNS EVENTS SCROLL_MS; do
  [[ ${!n} =~ ^[0-9]+$ ]] && [ "${!n}" -ge 1 ] || { echo "$n must be a positive integer" >&2; exit 2; }
done
[ "$COUNT" -le 20000 ] && [ "$CONCURRENCY" -le 8 ] && [ "$EVENTS" -le 200 ] && [ "$RUNS" -le 20 ] ||
  { echo "COUNT ≤ 20000, CONCURRENCY ≤ 8, EVENTS ≤ 200, RUNS ≤ 20" >&2; exit 2; }
[ -x "$BIN" ] || { echo "no adpulse binary at $BIN: build it (cargo build --release -p adpulse) or set ADPULSE_BIN" >&2; exit 1; }
unset ADPULSE_CONFIG ADPULSE_DATA ADPULSE_CONSOLE_DIR

ensure_node
ensure_chromium
if ! cmp -s "$HERE/package-lock.json" "$HERE/node_modules/.bench-lock" 2>/dev/null; then
  say "npm ci (benches/console)"
  (cd "$HERE" && timeout 600 npm ci --no-audit --no-fund --loglevel=error && cp package-lock.json node_modules/.bench-lock)
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/adpulse-console-bench.XXXXXX")
server=""
stop_server() {
  [ -n "$server" ] || return 0
  kill -TERM "$server" 2>/dev/null || true
  for _ in $(seq 1 300); do kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  server=""
}
cleanup() {
  set +e
  stop_server
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Free loopback ports: API, gateway, worker, the baseline page, Chromium's DevTools.
read -r P_API P_GW P_WORKER P_BASE P_CDP < <(node -e '
  const net = require("net"); const s = [];
  (async () => { for (let i = 0; i < 5; i++) { const v = net.createServer(); await new Promise((r) => v.listen(0, "127.0.0.1", r)); s.push(v); }
  console.log(s.map((v) => v.address().port).join(" ")); s.forEach((v) => v.close()); })();')
API=http://127.0.0.1:$P_API

# Starts adpulse up on data folder $1, logging to $2; waits until ready.
start_server() {
  local data=$1 logf=$2
  ADPULSE__API__LISTEN=127.0.0.1:$P_API ADPULSE__GATEWAY__LISTEN=127.0.0.1:$P_GW \
    ADPULSE__WORKER__LISTEN=127.0.0.1:$P_WORKER \
    ADPULSE__API__CORS_ORIGINS="[\"http://127.0.0.1:$P_BASE\"]" \
    "$BIN" up --data "$data" >"$logf" 2>&1 &
  server=$!
  for _ in $(seq 1 600); do
    curl -sf "$API/health/ready" >/dev/null 2>&1 && return 0
    kill -0 "$server" 2>/dev/null || { echo "adpulse up exited:" >&2; tail -20 "$logf" >&2; exit 1; }
    sleep 0.2
  done
  echo "adpulse up not ready after 120 s:" >&2; tail -20 "$logf" >&2; exit 1
}

# The seeded data folder.
if [ -n "$reuse" ]; then
  seeded=$reuse
  [ -f "$seeded/welcome.json" ] || { echo "$reuse is not an adpulse data folder" >&2; exit 1; }
else
  seeded=$CACHE/seed-$COUNT-$CAMPAIGNS/data
  [ "$fresh" = 0 ] || rm -rf "$CACHE/seed-$COUNT-$CAMPAIGNS" "$CACHE/seed-$COUNT-$CAMPAIGNS.partial"
  if [ ! -f "$CACHE/seed-$COUNT-$CAMPAIGNS/seeded.json" ]; then
    partial=$CACHE/seed-$COUNT-$CAMPAIGNS.partial
    mkdir -p "$partial"
    say "seeding $COUNT creatives over $CAMPAIGNS campaigns into $partial (resumes if interrupted)"
    start_server "$partial/data" "$partial/up.log"
    # 10,000 uploads take ~35 min on a debug build; bounded at 3 h
    timeout 10800 node "$HERE/seed.mjs" --api "$API" --data "$partial/data" \
      --count "$COUNT" --campaigns "$CAMPAIGNS" --concurrency "$CONCURRENCY"
    stop_server
    printf '{"count": %s, "campaigns": %s, "seeded_at": "%s", "binary": "%s"}\n' \
      "$COUNT" "$CAMPAIGNS" "$(date -u +%FT%TZ)" "$BIN" >"$partial/seeded.json"
    rm -rf "$CACHE/seed-$COUNT-$CAMPAIGNS"
    mv "$partial" "$CACHE/seed-$COUNT-$CAMPAIGNS"
  else
    say "reusing the seeded tenant in $CACHE/seed-$COUNT-$CAMPAIGNS (--fresh seeds again)"
  fi
fi

# A fresh copy for this run: the images hard-linked (never rewritten), the rest copied.
say "copying the seeded data folder"
mkdir -p "$work/data"
for f in "$seeded"/*; do
  case $(basename "$f") in
    assets) cp -al "$f" "$work/data/assets" 2>/dev/null || cp -a "$f" "$work/data/assets" ;;
    adpulse.lock) ;;
    *) cp -a "$f" "$work/data/" ;;
  esac
done

say "starting $BIN up (API $API, gateway :$P_GW; baseline page on :$P_BASE)"
start_server "$work/data" "$work/up.log"
say "measuring (creatives ${RUNS}x each side, Lighthouse ${LH_RUNS}x per page, $EVENTS events)"
node "$HERE/bench.mjs" --api "$API" --gateway "http://127.0.0.1:$P_GW" --data "$work/data" \
  --baseline-port "$P_BASE" --cdp-port "$P_CDP" --chromium "$ADPULSE_CHROMIUM" \
  --runs "$RUNS" --lh-runs "$LH_RUNS" --events "$EVENTS" --scroll-ms "$SCROLL_MS" \
  --only "$ONLY" --binary "$BIN" --out "$OUT"
stop_server
