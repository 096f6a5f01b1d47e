#!/usr/bin/env bash
# Alerts and budgets benchmark (issue #19), in one run on this machine:
#   1. evaluation on one core, no IO (benches/alerts_eval.rs): a campaign's
#      ten rules against one sample, next to decoding the window result
#      (what any consumer of the metrics topic pays), and the trailing spans
#      the evaluator reads per result;
#   2. alerts-bench: gateway, stream worker and alerter in process on the
#      local stack (fresh topics, schema, keyspace, Redis prefix), TENANTS
#      tenants x RULES rules; the pipeline's capacity measured first, then
#      a steady load at half of it (or RATE) for SECONDS while probes
#      measure the event's 202 -> webhook received, against the live
#      counter in Redis (the worker's freshness), and 202 -> capping
#      decisions answer budget_exhausted.
# Prints markdown for docs/benchmarks.md; every probe goes to
# $OUT_DIR/results.json, the run's log (the services' own) to $OUT_DIR/log.
#
#   benches/alerts.sh   # TENANTS=1000 RULES=10 RATE=0 (half the capacity) SECONDS=60
#                       # PROBES=100 BUDGET_PROBES=50 BATCH=20 CAPACITY_SECONDS=10
set -euo pipefail
# SECONDS is bash's own clock: the knob is read from the environment.
SECONDS_STEADY=$(printenv SECONDS || true)
SECONDS_STEADY=${SECONDS_STEADY:-60}
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
cd "$ROOT"

TENANTS=${TENANTS:-1000}
RULES=${RULES:-10}
RATE=${RATE:-0}
CAPACITY_SECONDS=${CAPACITY_SECONDS:-10}
PROBES=${PROBES:-100}
BUDGET_PROBES=${BUDGET_PROBES:-50}
BATCH=${BATCH:-20}
SKIP_EVAL=${SKIP_EVAL:-}
OUT_DIR=${OUT_DIR:-${TMPDIR:-/tmp}/adpulse-alerts-bench}
mkdir -p "$OUT_DIR"
LOG=$OUT_DIR/log
: >"$LOG"

say "building (release)"
cargo build --release --locked -p adpulse-benches --bin alerts-bench
[ -n "$SKIP_EVAL" ] || cargo bench --locked -p adpulse-benches --bench alerts_eval --no-run
say "starting the local stack (what is down)"
deploy/local/stack up kafka cassandra postgres redis >/dev/null
eval "$(deploy/local/stack env | grep '^ADPULSE_STACK_DIR=' | sed 's/^/export /')"

echo "Machine before the run: load average $(cut -d' ' -f1-3 /proc/loadavg); busiest processes:"
echo
ps -eo pcpu,etime,comm --sort=-pcpu | head -6 | sed 's/^/    /'
echo

if [ -z "$SKIP_EVAL" ]; then
  say "evaluation on one core (benches/alerts_eval.rs)"
  cargo bench --locked -p adpulse-benches --bench alerts_eval 2>>"$LOG"
  echo
fi

# A JVM's first minutes are slower (Kafka and Cassandra compile their hot
# paths; the shared stack may have been restarted by someone's tests).
say "warming up (an unrecorded short pass)"
timeout 300 "$CARGO_TARGET_DIR/release/alerts-bench" --tenants 100 --probes 5 --budget-probes 5 \
  --seconds 15 --capacity-seconds 10 >/dev/null 2>>"$LOG"

say "alerts-bench: $TENANTS tenants x $RULES rules, ${SECONDS_STEADY} s steady (log: $LOG)"
timeout 900 "$CARGO_TARGET_DIR/release/alerts-bench" \
  --tenants "$TENANTS" --rules "$RULES" --rate "$RATE" --seconds "$SECONDS_STEADY" \
  --capacity-seconds "$CAPACITY_SECONDS" --probes "$PROBES" --budget-probes "$BUDGET_PROBES" \
  --batch "$BATCH" --out "$OUT_DIR/results.json" 2>>"$LOG"
# Progress and incomplete probes (the services' own JSON logs stay in the log).
grep -v '^{' "$LOG" | tail -20 >&2 || true
