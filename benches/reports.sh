#!/usr/bin/env bash
# Reporting benchmark, in one run on this machine's Postgres:
#   1. `reports-bench load`: EVENTS events over 10,000 campaigns and 90 days
#      through the stream worker's aggregation and commit path, and the same
#      impressions into the users' own design (a raw impressions table, their
#      indexes, their materialized view);
#   2. `reports-bench measure`: p50/p99 of adpulse's 30-day campaign report by
#      day with a channel breakdown, its top-100 campaigns over 30 days and a
#      30-day CSV export (over HTTP, the API in process), next to the users'
#      original query, their materialized-view rewrite and a per-campaign
#      query on their covering index.
# Prints markdown for docs/benchmarks.md.
#
#   benches/reports.sh               # EVENTS=50000000 (the recorded size)
#   EVENTS=1000000 benches/reports.sh   # a quick run
#   KEEP=1 benches/reports.sh        # keep the loaded schema (its name is printed)
#   SCHEMA=reports_bench_… benches/reports.sh   # measure a kept schema again
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
cd "$ROOT"

EVENTS=${EVENTS:-50000000}
PARTITIONS=${PARTITIONS:-2}
REPS=${REPS:-200}
SLOW_REPS=${SLOW_REPS:-5}
BIN="$CARGO_TARGET_DIR/release"
schema=${SCHEMA:-reports_bench_$(date +%s)}
saved="$HOME/.cache/adpulse/$schema.load.json"

say "building (release)"
cargo build --release --locked -p adpulse-benches --bin reports-bench
say "starting Postgres"
deploy/local/stack up postgres >/dev/null
eval "$(deploy/local/stack env | sed 's/^/export /')"
export ADPULSE__POSTGRES__URL="$ADPULSE_TEST_POSTGRES"
# Building the users' indexes and view, and their original query, take
# longer than the services' statement timeout.
export ADPULSE__POSTGRES__STATEMENT_TIMEOUT_MS=7200000

cleanup() {
  psql "$ADPULSE_TEST_POSTGRES" -qc "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true
  rm -f "$saved"
}
if [ -n "${SCHEMA:-}" ]; then
  [ -f "$saved" ] || { echo "no kept load of $schema ($saved)" >&2; exit 1; }
  load=$(cat "$saved")
else
  if [ "${KEEP:-0}" = 1 ]; then say "keeping $schema (measure again with SCHEMA=$schema)"; else trap cleanup EXIT; fi
  say "loading $EVENTS events into $schema"
  load=$("$BIN/reports-bench" load --schema "$schema" --events "$EVENTS" --campaigns 10000 --days 90 --partitions "$PARTITIONS")
  mkdir -p "$(dirname "$saved")" && printf '%s' "$load" >"$saved"
fi
say "measuring"
measure=$("$BIN/reports-bench" measure --schema "$schema" --reps "$REPS" --slow-reps "$SLOW_REPS")

python3 - "$load" "$measure" <<'PY'
import json, sys, os, platform, datetime
load, m = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"Run {datetime.date.today()}, {os.cpu_count()} cores, {platform.machine()}: {load['events']:,} events, "
      f"{load['campaigns']:,} campaigns, {load['days']} days.\n")
print(f"Load through the worker's path ({load['partitions']} partitions at once): {load['seconds']:.0f} s ({load['events_per_sec']:,.0f} events/s); "
      f"{load['aggregate_rows']:,} aggregate rows, {load['aggregate_bytes']/2**30:.2f} GiB "
      f"({load['bytes_per_event']:.0f} bytes per event). The users' impressions table: "
      f"{load['baseline_bytes']/2**30:.2f} GiB; their indexes {load['baseline_index_secs']:.0f} s, "
      f"their view {load['baseline_view_secs']:.0f} s.\n")
orig = m["users: original top-100 query"]["p50_ms"]
print("| query | n | p50 ms | p99 ms | max ms | original p50 / this p50 |")
print("|---|---:|---:|---:|---:|---:|")
for k, v in m.items():
    print(f"| {k} | {v['n']} | {v['p50_ms']:.2f} | {v['p99_ms']:.2f} | {v['max_ms']:.2f} | {orig / v['p50_ms']:.0f}x |")
PY
