#!/usr/bin/env bash
# Stream-worker benchmark: consume-only baseline vs the worker into all sinks
# (Cassandra, Postgres, Redis), for one hot campaign (one partition) and for
# 100 campaigns over 12 partitions, then freshness at half the worker's rate.
# Prints a markdown table for docs/benchmarks.md.
#
#   benches/worker.sh          # EVENTS=200000 SECONDS_FRESH=10 by default
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
cd "$ROOT"

EVENTS=${EVENTS:-200000}
SECONDS_FRESH=${SECONDS_FRESH:-10}

say "building (release)"
cargo build --release --locked -p adpulse-benches --bin worker-bench
say "starting the local stack"
deploy/local/stack up >/dev/null

say "warming up (a JVM's first minute is slower: Cassandra compiles its hot paths)"
"$CARGO_TARGET_DIR/release/worker-bench" --events 50000 --seconds 2 --hot >/dev/null 2>&1

say "running"
echo "Run $(date -u +%Y-%m-%d), $(nproc) cores; worker, Kafka, Cassandra, Postgres and Redis on the same machine."
echo
echo "| case | events | consume-only events/s | worker events/s (all sinks) | worker / baseline | steady load events/s | freshness p50 / p99 / max ms |"
echo "|---|---:|---:|---:|---:|---:|---|"
for mode in --hot ""; do
  # shellcheck disable=SC2086
  "$CARGO_TARGET_DIR/release/worker-bench" --events "$EVENTS" --seconds "$SECONDS_FRESH" $mode 2>/dev/null
done
