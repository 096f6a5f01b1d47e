#!/usr/bin/env bash
# Gateway benchmark, side by side in one run on this machine:
#   (a) adpulse-bare: a bare hyper server answering 202 (the machine's HTTP limit)
#   (b) the gateway on a null event log (the gateway's own cost)
#   (c) the gateway on Kafka (acks=all, idempotent, lz4)
# each for single events and for 100-event batches: first as fast as it
# answers (closed loop), then at half that rate (fixed rate, latency measured
# from the scheduled send time). Prints a markdown table for docs/benchmarks.md.
#
#   benches/gateway.sh            # DURATION=10 CONNECTIONS=32 BATCH=100 by default
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
cd "$ROOT"

DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
BATCH=${BATCH:-100}
BIN="$CARGO_TARGET_DIR/release"

say "building (release)"
cargo build --release --locked -p adpulse-benches --bins
say "starting Kafka and Postgres"
deploy/local/stack up kafka postgres >/dev/null
eval "$(deploy/local/stack env | sed 's/^/export /')"

work=$(mktemp -d)
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

wait_port() {
  for _ in $(seq 1 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done
  echo "nothing listens on $1" >&2; return 1
}

# load NAME PORT BATCH RATE -> JSON summary on stdout
load() {
  "$BIN/adpulse-load" --addr "127.0.0.1:$2" --key "$(cat "$work/key" 2>/dev/null || true)" \
    --campaigns "$work/campaigns" --batch "$3" --rate "$4" --connections "$CONNECTIONS" \
    --duration "$DURATION" --warmup 2 --quiet
}

results="$work/results.jsonl"
measure() { # target port
  local target=$1 port=$2
  for batch in 1 "$BATCH"; do
    local max half
    max=$(load "$target" "$port" "$batch" 0)
    local rps; rps=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["requests_per_sec"])' "$max")
    half=$(load "$target" "$port" "$batch" "$(python3 -c "print(round($rps/2))")")
    local hwm; hwm=$(awk '/VmHWM/{print $2}' "/proc/$server_pid/status")
    python3 -c 'import json,sys; m=json.loads(sys.argv[3]); h=json.loads(sys.argv[4]); print(json.dumps({"target":sys.argv[1],"batch":int(sys.argv[2]),"max":m,"half":h,"rss_kb":int(sys.argv[5])}))' \
      "$target" "$batch" "$max" "$half" "$hwm" >>"$results"
    echo "  $target batch=$batch: $(python3 -c 'import json,sys; m=json.loads(sys.argv[1]); print("%.0f events/s, p99 %s ms" % (m["events_per_sec"], m["p99_ms"]))' "$max")" >&2
  done
}

# (a) bare hyper: campaigns file still needed by the load generator
printf '%s\n' 6c0a3f8e-0d7e-4a43-b8e5-6f0c2a9d1b77 >"$work/campaigns"
say "(a) bare hyper server"
"$BIN/adpulse-bare" 127.0.0.1:8090 2>/dev/null & server_pid=$!
wait_port 8090; measure "a: bare hyper" 8090
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true

for sink in null kafka; do
  label="b: gateway, null log"; [ "$sink" = kafka ] && label="c: gateway, Kafka"
  say "($label)"
  rm -f "$work/key" "$work/campaigns"
  "$BIN/gateway-bench" --sink "$sink" --listen 127.0.0.1:8091 --campaigns 1000 --out "$work" 2>"$work/$sink.log" &
  server_pid=$!
  wait_port 8091; measure "$label" 8091
  kill -TERM "$server_pid"; wait "$server_pid" 2>/dev/null || true
done
server_pid=""

say "results"
python3 - "$results" "$CONNECTIONS" "$DURATION" <<'PY'
import json, sys, platform, os, datetime
rows = [json.loads(l) for l in open(sys.argv[1])]
base = {r["batch"]: r["max"]["events_per_sec"] for r in rows if r["target"].startswith("a:")}
print(f"Run {datetime.date.today()}, {os.cpu_count()} cores, {platform.machine()}, "
      f"{sys.argv[2]} connections, {sys.argv[3]} s per measurement after 2 s warm-up.\n")
print("| target | events/request | max events/s | max requests/s | p50 / p99 / p99.9 ms at max | p99 / p99.9 ms at half rate | vs (a) | peak RSS |")
print("|---|---:|---:|---:|---|---|---:|---:|")
for r in rows:
    m, h = r["max"], r["half"]
    ratio = m["events_per_sec"] / base[r["batch"]] if base.get(r["batch"]) else float("nan")
    err = "" if m["non_2xx"] == 0 and m["errors"] == 0 else f" ({m['non_2xx']} non-2xx, {m['errors']} errors)"
    print(f"| {r['target']} | {r['batch']} | {m['events_per_sec']:,.0f}{err} | {m['requests_per_sec']:,.0f} | "
          f"{m['p50_ms']:.2f} / {m['p99_ms']:.2f} / {m['p999_ms']:.2f} | {h['p99_ms']:.2f} / {h['p999_ms']:.2f} | "
          f"{ratio:.2f} | {r['rss_kb']/1024:.0f} MiB |")
PY
