#!/usr/bin/env bash
# Frequency-capping benchmark, in one run on this machine:
#   - redis-benchmark's INCR on the stack's Redis (this box's limit for one
#     round trip per operation), next to
#   - decisions through the library on that Redis (64 in flight, and 1),
#     and in process;
#   - decisions over HTTP (the gateway on that Redis, 32 connections): as
#     fast as it answers, then at half that rate (latency from the
#     scheduled send time); people allowed past the cap are counted;
#   - Redis memory per active (person, campaign) pair at 1M and 10M people
#     (a dedicated, empty redis-server), extrapolated to 50M;
#   - the count-min sketch's memory and measured over-cap rate against
#     exact counting, sized for 1M, 10M and 50M pairs, and the users'
#     reference size (100,000 x 5) at 500K and 2M pairs.
# Prints markdown for docs/benchmarks.md.
#
#   benches/capping.sh              # DURATION=10 PEOPLE="1000000 10000000" by default
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
cd "$ROOT"

DURATION=${DURATION:-10}
PEOPLE=${PEOPLE:-"1000000 10000000"}
SKETCH_PAIRS=${SKETCH_PAIRS:-"1000000 10000000 50000000"}
MEMORY_PORT=${MEMORY_PORT:-6395}
BIN="$CARGO_TARGET_DIR/release"

say "building (release)"
cargo build --release --locked -p adpulse-benches --bin capping-bench --bin adpulse-load
say "starting Postgres and Redis"
deploy/local/stack up postgres redis >/dev/null
eval "$(deploy/local/stack env | sed 's/^/export /')"
redis_port=${ADPULSE_TEST_REDIS##*:}

work=$(mktemp -d)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
  redis-cli -p "$MEMORY_PORT" shutdown nosave >/dev/null 2>&1 || true
  wait 2>/dev/null; rm -rf "$work"
}
trap cleanup EXIT
results="$work/results.jsonl"
record() { python3 -c 'import json,sys; d=json.loads(sys.argv[2]); d["case"]=sys.argv[1]; print(json.dumps(d))' "$1" "$2" >>"$results"; }

wait_port() {
  for _ in $(seq 1 300); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done
  echo "nothing listens on $1" >&2; return 1
}

say "redis-benchmark INCR (64 clients, no pipelining)"
incr=$(redis-benchmark -p "$redis_port" -t incr -n 1000000 -c 64 -P 1 -q --csv | tail -1 | cut -d, -f2 | tr -d '"')
record "redis-benchmark INCR" "{\"decisions_per_sec\": $incr}"
echo "  $incr INCR/s" >&2

say "library on Redis (64 in flight), on Redis (1 in flight), in process"
record "library, Redis, 64 in flight" "$("$BIN/capping-bench" library --backend redis --concurrency 64 --campaigns 10 --duration "$DURATION")"
record "library, Redis, 1 in flight" "$("$BIN/capping-bench" library --backend redis --concurrency 1 --campaigns 10 --duration "$DURATION")"
record "library, in process, 64 in flight" "$("$BIN/capping-bench" library --backend memory --concurrency 64 --campaigns 10 --duration "$DURATION")"

http() { # label rate [connections]
  rm -f "$work/key" "$work/campaigns"
  "$BIN/capping-bench" serve --listen 127.0.0.1:8092 --campaigns 10 --cap 3 --out "$work" >/dev/null 2>"$work/serve.log" &
  server_pid=$!
  wait_port 8092
  local out
  out=$("$BIN/adpulse-load" --mode decide --cap 3 --addr 127.0.0.1:8092 --key "$(cat "$work/key")" \
    --campaigns "$work/campaigns" --users 1000000 --connections "${3:-32}" --rate "$2" \
    --duration "$DURATION" --warmup 2 --quiet)
  kill -TERM "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
  record "$1" "$out"
  python3 -c 'import json,sys; print(json.loads(sys.argv[1])["requests_per_sec"])' "$out"
}
say "HTTP: gateway on Redis, 32 connections, as fast as it answers"
max=$(http "HTTP, max" 0)
say "HTTP: at half that rate ($max / 2)"
http "HTTP, half rate" "$(python3 -c "print(round($max/2))")" >/dev/null
# The fixed-rate generator waits on tokio's 1 ms timer, which adds up to a
# millisecond to what it measures; closed loops on few connections show the
# service time itself.
say "HTTP: closed loop on 1 and on 4 connections"
http "HTTP, closed loop, 1 connection" 0 1 >/dev/null
http "HTTP, closed loop, 4 connections" 0 4 >/dev/null

say "Redis memory per pair (a fresh, empty redis-server on $MEMORY_PORT for each)"
for people in $PEOPLE; do
  for per in 1 4; do
    echo "  $people people x $per campaigns" >&2
    redis-server --port "$MEMORY_PORT" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
      --logfile "$work/memory-redis.log" >/dev/null
    wait_port "$MEMORY_PORT"
    record "memory" "$(ADPULSE__REDIS__URL="redis://127.0.0.1:$MEMORY_PORT" ADPULSE__REDIS__TIMEOUT_MS=30000 \
      "$BIN/capping-bench" memory --people "$people" --campaigns-per-person "$per")"
    redis-cli -p "$MEMORY_PORT" shutdown nosave >/dev/null 2>&1 || true
    while (exec 3<>"/dev/tcp/127.0.0.1/$MEMORY_PORT") 2>/dev/null; do sleep 0.2; done
  done
done

say "sketch over-cap rate against exact counting"
for pairs in $SKETCH_PAIRS; do
  record "sketch, sized" "$("$BIN/capping-bench" sketch --pairs "$pairs" --rate 0.01)"
done
for pairs in 500000 2000000; do
  record "sketch, 100,000 x 5" "$("$BIN/capping-bench" sketch --pairs "$pairs" --width 100000 --depth 5)"
done

say "results"
python3 - "$results" "$DURATION" <<'PY'
import json, sys, os, platform, datetime
rows = [json.loads(l) for l in open(sys.argv[1])]
by = lambda c: [r for r in rows if r["case"] == c]
incr = by("redis-benchmark INCR")[0]["decisions_per_sec"]
print(f"Run {datetime.date.today()}, {os.cpu_count()} cores, {platform.machine()}, {sys.argv[2]} s per measurement after 2 s warm-up; one campaign per decision (of 10, Zipf over HTTP, uniform in the library), cap 3 per day, 1M people.\n")
print("| path | decisions/s | p50 ms | p99 ms | p99.9 ms | vs INCR/s | allowed | (person, campaign) pairs past the cap |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
print(f"| redis-benchmark INCR, 64 clients (baseline) | {incr:,.0f} | | | | 1.00 | | |")
for c in ["library, Redis, 64 in flight", "library, Redis, 1 in flight", "library, in process, 64 in flight"]:
    r = by(c)[0]
    print(f"| {c} | {r['decisions_per_sec']:,.0f} | {r['p50_ms']:.3f} | {r['p99_ms']:.3f} | {r['p999_ms']:.3f} | {r['decisions_per_sec']/incr:.2f} | {r['allowed']:,} | {r['violations']} |")
for c in ["HTTP, max", "HTTP, half rate", "HTTP, closed loop, 1 connection", "HTTP, closed loop, 4 connections"]:
    r = by(c)[0]
    bad = "" if r["non_2xx"] == 0 and r["errors"] == 0 else f" ({r['non_2xx']} non-2xx, {r['errors']} errors)"
    conns = "" if "closed" in c else ", 32 connections"
    print(f"| {c}{conns} | {r['requests_per_sec']:,.0f}{bad} | {r['p50_ms']:.3f} | {r['p99_ms']:.3f} | {r['p999_ms']:.3f} | {r['requests_per_sec']/incr:.2f} | {r['allowed']:,} | {r['violations']} |")
print("\n| people | campaigns per person | pairs | Redis keys | bytes per pair | bytes per person | 50M people at this mix |")
print("|---:|---:|---:|---:|---:|---:|---:|")
for r in by("memory"):
    gib = r["bytes_per_person"] * 50e6 / 2**30
    print(f"| {r['people']:,} | {r['campaigns_per_person']} | {r['pairs']:,} | {r['keys']:,} | {r['bytes_per_pair']:.1f} | {r['bytes_per_person']:.1f} | {gib:.1f} GiB |")
print("\n| sketch | pairs | width x depth | memory | bytes per pair | promised over-cap bound | measured over-cap rate | allowed past the cap |")
print("|---|---:|---|---:|---:|---:|---:|---:|")
for c in ["sketch, sized", "sketch, 100,000 x 5"]:
    for r in by(c):
        target = f"sized for 1%" if r["target_rate"] else "fixed (users' reference)"
        print(f"| {target} | {r['pairs']:,} | {r['width']:,} x {r['depth']} | {r['bytes']/2**20:.1f} MiB | {r['bytes_per_pair']:.1f} | {r['bound']*100:.2f}% | {r['over_cap_rate']*100:.3f}% | {r['violations']} |")
PY
