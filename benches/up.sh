#!/usr/bin/env bash
# `adpulse up` (gateway, worker and API in one process on SQLite, the file
# log and in-memory live counters) next to the distributed services
# (`adpulse gateway`, `worker`, `api` on the local stack's Kafka, Cassandra,
# Postgres and Redis), in one run on this machine. For each:
#   1. sustained: a closed loop of BATCH-event batches for DURATION s; events/s
#      end to end = events accepted / (load start -> the worker has committed
#      every one of them), next to the gateway's accepted rate; the committed
#      record count must equal the accepted count exactly;
#   2. freshness: a fixed rate of half that end-to-end rate for DURATION s;
#      p50/p99/max of adpulse_worker_freshness_seconds (gateway accepted ->
#      live counters written) from the difference of two /metrics scrapes.
# Each phase runs on a deployment of its own (a fresh data folder; a fresh
# schema, keyspace, topics, worker group and Redis prefix), created with
# `adpulse migrate` / `adpulse admin` and removed at the end: adpulse-load
# sends the same event ids in every run, which a worker that saw them would
# drop as resends. Prints markdown tables for docs/benchmarks.md.
#
#   benches/up.sh        # DURATION=20 CONNECTIONS=32 BATCH=100 CAMPAIGNS=100 MODES="up distributed"
#   LOGS=DIR benches/up.sh   # also keep every process's log in DIR
#   STALL=30                 # give up waiting for the worker after this many s without progress
#
# ADPULSE__* variables in the environment apply to every adpulse process;
# the per-tenant quota is lifted (one tenant sends everything).
# shellcheck disable=SC1090,SC1091 # lib.sh, and each deployment's env file written below
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
cd "$ROOT"

DURATION=${DURATION:-20}
CONNECTIONS=${CONNECTIONS:-32}
BATCH=${BATCH:-100}
CAMPAIGNS=${CAMPAIGNS:-100}
MODES=${MODES:-up distributed}
WARMUP=${WARMUP:-2}             # fixed-rate phase: seconds before the first scrape
DRAIN_TIMEOUT=${DRAIN_TIMEOUT:-$((DURATION * 10 + 60))}
BIN="$CARGO_TARGET_DIR/release"
unset ADPULSE_CONFIG ADPULSE_DATA
if [ "$DURATION" -lt 1 ] || [ "$DURATION" -gt 300 ]; then echo "DURATION is 1..300 s" >&2; exit 2; fi
for m in $MODES; do
  [ "$m" = up ] || [ "$m" = distributed ] || { echo "MODES: up and/or distributed, not $m" >&2; exit 2; }
done

say "building (release)"
timeout 3600 cargo build --release --locked -p adpulse -p adpulse-benches --bins
eval "$(deploy/local/stack env | grep '^ADPULSE_STACK_DIR=' | sed 's/^/export /')"
if [[ " $MODES " == *" distributed "* ]]; then
  say "starting the local stack (what is down)"
  timeout 900 deploy/local/stack up kafka cassandra postgres redis >/dev/null
  PG_URL=$(deploy/local/stack env | sed -n 's/^ADPULSE_TEST_POSTGRES=//p')
  PSQL=$(command -v psql || echo /usr/lib/postgresql/15/bin/psql)
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/adpulse-up-bench.XXXXXX")
results="$work/results.jsonl"
deployments=()   # folders of running or not yet removed deployments

# Stops a deployment's processes (TERM, KILL after 30 s) and, for a
# distributed one, removes its topics, keyspace, schema and Redis keys.
stop_deployment() {
  local dir=$1 role pid
  [ -f "$dir/pids" ] || return 0
  while read -r role pid; do kill -TERM "$pid" 2>/dev/null || true; done <"$dir/pids"
  while read -r role pid; do
    for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done <"$dir/pids"
  rm -f "$dir/pids"
  if [ -f "$dir/env" ] && grep -q '^ADPULSE__POSTGRES__SCHEMA=' "$dir/env"; then
    (set -a; source "$dir/env"; timeout 120 "$BIN/stack-teardown") >>"$dir/teardown.log" 2>&1 ||
      echo "teardown of $(basename "$dir") failed: $(tail -3 "$dir/teardown.log")" >&2
    rm -f "$dir/env"
  fi
}
measuring=""     # the measuring process, while one runs
cleanup() {
  set +e  # remove everything even when a step fails
  local d
  [ -z "$measuring" ] || { kill -TERM "$measuring" 2>/dev/null; wait "$measuring" 2>/dev/null; }
  for d in "${deployments[@]}"; do stop_deployment "$d"; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The measuring side: metrics scrapes, applied offsets, the load phases,
# CPU and memory from /proc, the tables.
cat >"$work/bench.py" <<'PY'
import argparse, json, os, re, resource, signal, sqlite3, statistics, subprocess, sys, threading, time, urllib.request, uuid
from datetime import datetime, timezone

def log(*a):
    print(*a, file=sys.stderr, flush=True)

def get(url, timeout=5.0):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read().decode()

LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')

def scrape(url):
    out = []
    for line in get(url)[1].splitlines():
        if not line or line.startswith('#'):
            continue
        key, _, value = line.rpartition(' ')
        name, _, labels = key.partition('{')
        out.append((name, dict(LABEL.findall(labels)), float(value)))
    return out

def total(m, name, **want):
    return sum(v for n, l, v in m if n == name and all(l.get(k) == x for k, x in want.items()))

def accepted(m):
    return int(total(m, 'adpulse_gateway_events_total', outcome='accepted'))

def worker_events(m):
    out = {}
    for n, l, v in m:
        if n == 'adpulse_worker_events_total':
            out[l.get('outcome', '')] = out.get(l.get('outcome', ''), 0) + int(v)
    return out

def hist(m, name):
    buckets = {float(l['le']): v for n, l, v in m if n == name + '_bucket'}
    return buckets, total(m, name + '_sum'), total(m, name + '_count')

def quantiles(before, after):
    """Quantiles of what was recorded between two scrapes, as the upper
    bound of the bucket they fall in; the mean is exact."""
    (bb, bs, bc), (ab, as_, ac) = before, after
    n = ac - bc
    if n <= 0:
        return None
    cum = [(le, ab[le] - bb.get(le, 0)) for le in sorted(ab)]
    def q(p):
        return next((le for le, c in cum if c >= p * n and c > 0), float('inf'))
    return {'n': int(n), 'p50': q(0.5), 'p99': q(0.99), 'max': q(1.0), 'mean': (as_ - bs) / n}

class Applied:
    """Records the worker has committed: sum(next_offset) of its group on
    the events topic (fresh topics start at offset 0)."""
    def __init__(self, a):
        self.a = a
        self.con = None
    def __call__(self):
        a = self.a
        sql = "SELECT coalesce(sum(next_offset), 0) FROM {}consumer_offsets WHERE consumer_group = '{}' AND topic = '{}'"
        if a.sqlite:
            if self.con is None:
                self.con = sqlite3.connect(f'file:{a.sqlite}?mode=ro', uri=True, timeout=5)
            return int(self.con.execute(sql.format('', a.group, a.topic)).fetchone()[0])
        r = subprocess.run([a.psql, '-X', '-A', '-t', '-q', '-d', a.pg_url, '-c', sql.format(a.schema + '.', a.group, a.topic)],
                           capture_output=True, text=True, timeout=15, env=dict(os.environ, PGCONNECT_TIMEOUT='5'))
        if r.returncode != 0:
            raise RuntimeError('psql: ' + r.stderr.strip())
        return int(r.stdout.strip())

STALL = float(os.environ.get('STALL', '30'))

def wait_applied(applied, target, timeout):
    """Polls until `target` records are committed; returns (committed, when).
    Gives up after `timeout` s, or after STALL s without progress."""
    deadline = time.monotonic() + timeout
    last, moved = -1, time.monotonic()
    while True:
        n, t = applied(), time.monotonic()
        if n >= target:
            return n, t
        if n != last:
            last, moved = n, t
        if t > deadline or t - moved > STALL:
            why = f'within {timeout:.0f} s' if t > deadline else f'and made no progress for {STALL:.0f} s'
            log(f'!!! the worker committed {n} of {target} records {why}')
            return n, t
        time.sleep(0.05)

TCK = os.sysconf('SC_CLK_TCK')

def stat_fields(pid):
    try:
        s = open(f'/proc/{pid}/stat').read()
    except OSError:
        return None
    return s[s.rindex(')') + 2:].split()

def cpu_sample(groups):
    """CPU seconds used so far by each group of process trees, and by the
    whole machine (busy time of all cores)."""
    kids = {}
    for d in os.listdir('/proc'):
        if d.isdigit() and (f := stat_fields(d)):
            kids.setdefault(int(f[1]), []).append(int(d))
    def tree(pid):
        f = stat_fields(pid)
        if f is None:
            return 0
        return int(f[11]) + int(f[12]) + int(f[13]) + int(f[14]) + sum(tree(c) for c in kids.get(pid, []))
    out = {g: sum(tree(p) for p in pids) / TCK for g, pids in groups.items()}
    cpu = [int(x) for x in open('/proc/stat').readline().split()[1:]]
    out['machine'] = (sum(cpu[:3]) + sum(cpu[5:8])) / TCK
    return out

def hwm_mib(pid):
    for line in open(f'/proc/{pid}/status'):
        if line.startswith('VmHWM:'):
            return int(line.split()[1]) / 1024
    return 0.0

def groups_of(a):
    g = {}
    for spec in filter(None, (a.procs + ',' + a.stack).split(',')):
        name, _, pid = spec.partition('=')
        g.setdefault(name, []).append(int(pid))
    return g

def load_cmd(a, rate, warmup):
    return [a.load, '--addr', a.addr, '--key', open(a.key).read().strip(), '--campaigns', a.campaigns,
            '--batch', str(a.batch), '--connections', str(a.connections), '--rate', str(rate),
            '--duration', str(a.duration), '--warmup', str(warmup), '--quiet']

def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime

def settle(a, applied):
    """Waits until everything accepted so far is committed (the warm-up
    probe) and returns (accepted, committed)."""
    acc = accepted(scrape(a.gateway_metrics))
    n, _ = wait_applied(applied, acc, 60)
    return acc, n

class Watch(threading.Thread):
    """Samples the worker's applied-events counter twice a second: how fast
    it committed while the load ran, and when it last moved."""
    def __init__(self, url):
        super().__init__(daemon=True)
        self.url, self.samples, self.stop = url, [], threading.Event()
    def run(self):
        while not self.stop.is_set():
            try:
                self.samples.append((time.monotonic(), worker_events(scrape(self.url)).get('applied', 0)))
            except OSError:
                pass
            self.stop.wait(0.5)
    def at(self, t):
        return max((v for s, v in self.samples if s <= t), default=0)
    def last_move(self):
        moved = self.samples[0][0] if self.samples else 0
        for (_, v0), (s, v) in zip(self.samples, self.samples[1:]):
            if v != v0:
                moved = s
        return moved

def phase_sustained(a):
    applied = Applied(a)
    groups = groups_of(a)
    acc0, ap0 = settle(a, applied)
    w0 = worker_events(scrape(a.worker_metrics))
    cpu0, ru0 = cpu_sample(groups), children_cpu()
    watch = Watch(a.worker_metrics)
    watch.start()
    time.sleep(0.1)
    t0 = time.monotonic()
    r = subprocess.run(load_cmd(a, 0, 0), capture_output=True, text=True, timeout=a.duration + 120)
    t1 = time.monotonic()
    ru1 = children_cpu()
    if r.returncode != 0:
        sys.exit('adpulse-load failed: ' + r.stderr[-2000:])
    load = json.loads(r.stdout)
    n = accepted(scrape(a.gateway_metrics)) - acc0
    done, t2 = wait_applied(applied, ap0 + n, a.drain_timeout)
    cpu1 = cpu_sample(groups)
    time.sleep(1)
    final = applied() - ap0
    watch.stop.set()
    watch.join()
    w1 = worker_events(scrape(a.worker_metrics))
    during = (watch.at(t1) - w0.get('applied', 0)) / (t1 - t0)
    log(f'  gateway accepted {n / (t1 - t0):,.0f} events/s; the worker committed {during:,.0f} events/s while the load ran, '
        f'then drained for {t2 - t1:.1f} s')
    stalled = None
    if final != n:
        stalled = watch.last_move() - t0
        log(f'!!! the worker stopped committing {stalled:.1f} s after the load started')
    wd = {k: w1.get(k, 0) - w0.get(k, 0) for k in w1}
    if final != n:
        log(f'!!! MISMATCH: the gateway accepted {n} events, the worker committed {final} records')
    if wd.get('applied', 0) != n:
        log(f'!!! the worker counted {wd} events for {n} accepted')
    cpu = {k: cpu1[k] - cpu0[k] for k in cpu1}
    cpu['load generator'] = ru1 - ru0
    return {'accepted': n, 'committed': final, 'worker_events': wd, 'load': load,
            'load_seconds': t1 - t0, 'e2e_seconds': t2 - t0, 'drain_seconds': t2 - t1,
            'gateway_eps': n / (t1 - t0), 'e2e_eps': n / (t2 - t0) if final == n else None, 'cpu': cpu,
            'worker_eps_during_load': during, 'stalled_after': stalled}

def phase_fresh(a):
    applied = Applied(a)
    groups = groups_of(a)
    acc0, ap0 = settle(a, applied)
    cpu0, ru0 = cpu_sample(groups), children_cpu()
    t0 = time.monotonic()
    with subprocess.Popen(load_cmd(a, a.events_per_sec / a.batch, a.warmup), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True) as p:
        try:
            time.sleep(a.warmup)
            before = hist(scrape(a.worker_metrics), 'adpulse_worker_freshness_seconds')
            out, err = p.communicate(timeout=a.warmup + a.duration + 120)
        finally:
            p.kill()
    t1 = time.monotonic()
    ru1 = children_cpu()
    if p.returncode != 0:
        sys.exit('adpulse-load failed: ' + err[-2000:])
    load = json.loads(out)
    n = accepted(scrape(a.gateway_metrics)) - acc0
    wait_applied(applied, ap0 + n, a.drain_timeout)
    cpu1 = cpu_sample(groups)
    time.sleep(1)  # the last flush writes live counters after its commit
    final = applied() - ap0
    after = hist(scrape(a.worker_metrics), 'adpulse_worker_freshness_seconds')
    if final != n:
        log(f'!!! MISMATCH: the gateway accepted {n} events, the worker committed {final} records')
    cpu = {k: cpu1[k] - cpu0[k] for k in cpu1}
    cpu['load generator'] = ru1 - ru0
    return {'accepted': n, 'committed': final, 'load': load, 'target_eps': a.events_per_sec,
            'freshness': quantiles(before, after), 'seconds': t1 - t0, 'cpu': cpu}

def phase(a):
    res = phase_sustained(a) if a.phase == 'sustained' else phase_fresh(a)
    res.update(mode=a.mode, phase=a.phase,
               rss_mib={name: hwm_mib(pid) for name, pid in (s.split('=') for s in a.procs.split(','))})
    print(json.dumps(res))

def wait_ready(a):
    deadline = time.monotonic() + a.timeout
    for url in a.urls:
        while True:
            try:
                if get(url, 2)[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or any(not os.path.exists(f'/proc/{p}') for p in a.pids.split(',') if p):
                sys.exit(f'{url} not ready (log: {a.log})')
            time.sleep(0.2)

def probe(a):
    """One event per campaign with a fresh id, through the gateway: claims
    the partitions and warms the path without reusing adpulse-load's ids."""
    now = datetime.now(timezone.utc).isoformat(timespec='milliseconds').replace('+00:00', 'Z')
    body = '\n'.join(json.dumps({'event_id': str(uuid.uuid4()), 'type': 'impression', 'campaign_id': c.strip(),
                                 'ad_id': 'creative-1', 'channel': 'display', 'occurred_at': now, 'cost_micros': 1000})
                     for c in open(a.campaigns) if c.strip())
    req = urllib.request.Request(f'http://{a.addr}/v1/events/batch', data=body.encode(), method='POST', headers={
        'content-type': 'application/x-ndjson', 'authorization': 'Bearer ' + open(a.key).read().strip()})
    with urllib.request.urlopen(req, timeout=30) as r:
        if r.status // 100 != 2:
            sys.exit(f'probe batch answered {r.status}')

def flushes(a):
    """What the worker's log says: slow flushes (where their time went) and
    warnings, one line per message."""
    slow, other = [], {}
    for line in open(a.log, errors='replace'):
        try:
            e = json.loads(line)
        except ValueError:
            continue
        if e.get('level') not in ('WARN', 'ERROR'):
            continue
        if e.get('message') == 'slow flush':
            slow.append(e)
        else:
            other[e.get('message')] = other.get(e.get('message'), 0) + 1
    if slow:
        keys = [k for k, v in slow[0].items() if k == 'events' or k.endswith('_ms') and isinstance(v, (int, float))]
        med = {k: statistics.median(e.get(k, 0) for e in slow) for k in keys}
        mx = {k: max(e.get(k, 0) for e in slow) for k in keys}
        log(f'  {a.name}: {len(slow)} slow flushes (>= 500 ms); median ' +
            ', '.join(f'{k} {v:.0f}' for k, v in med.items()) + '; max ' + ', '.join(f'{k} {v}' for k, v in mx.items()))
    else:
        log(f'  {a.name}: no slow flushes')
    for msg, n in other.items():
        log(f'  {a.name}: {n} x warning "{msg}"')

def ms(v):
    return '> 10000' if v == float('inf') else f'{v * 1000:g}'

def table(a):
    rows = [json.loads(l) for l in open(a.results)]
    by = {}
    for r in rows:
        by.setdefault(r['mode'], {})[r['phase']] = r
    label = {'up': '`adpulse up` (SQLite, file log, in-memory live)',
             'distributed': 'distributed (Kafka, Cassandra, Postgres, Redis)'}
    print(f"Run {datetime.now().date()}, {os.cpu_count()} cores, {os.uname().machine}; {a.duration} s per phase, "
          f"{a.connections} connections, {a.batch}-event batches, {a.campaigns} campaigns (Zipf s = 1.1); "
          f"load generator, adpulse and the stack's servers on the same cores; `adpulse up`'s data folder on {a.fs}.\n")
    print('| mode | events accepted = committed (sustained) | gateway accepted events/s | end-to-end events/s '
          '| half-rate load events/s | freshness p50 / p99 / max ms (bucket upper bounds) | freshness mean ms | peak RSS |')
    print('|---|---:|---:|---:|---:|---|---:|---|')
    for mode in ('up', 'distributed'):
        s, f = by.get(mode, {}).get('sustained'), by.get(mode, {}).get('fresh')
        if not s:
            continue
        ok = '=' if s['committed'] == s['accepted'] else '**≠**'
        e2e = f"{s['e2e_eps']:,.0f}" if s['e2e_eps'] else (
            f"**stalled**: {s['committed']:,} of {s['accepted']:,} committed, none after {s['stalled_after']:.0f} s"
            if s.get('stalled_after') is not None else '**incomplete**')
        fr = f and f['freshness']
        fq = f"{ms(fr['p50'])} / {ms(fr['p99'])} / {ms(fr['max'])}" if fr else 'n/a'
        fm = f"{fr['mean'] * 1000:.0f}" if fr else 'n/a'
        half = f"{f['load']['events_per_sec']:,.0f}" if f else 'n/a'
        if f and f['committed'] != f['accepted']:
            half += f" (**{f['accepted'] - f['committed']:,} never committed**)"
            fq = '**partial**: ' + fq
        rss = {}
        for r in (s, f):
            for k, v in (r or {}).get('rss_mib', {}).items():
                rss[k] = max(rss.get(k, 0), v)
        rss_txt = f"{sum(rss.values()):.0f} MiB" + (' (' + ', '.join(f'{k} {v:.0f}' for k, v in rss.items()) + ')' if len(rss) > 1 else '')
        print(f"| {label[mode]} | {s['accepted']:,} {ok} {s['committed']:,} | {s['gateway_eps']:,.0f} | {e2e} | {half} | {fq} | {fm} | {rss_txt} |")
    print()
    up, dist = by.get('up', {}).get('sustained'), by.get('distributed', {}).get('sustained')
    if up and dist and up['e2e_eps'] and dist['e2e_eps']:
        print(f"up / distributed: {up['e2e_eps'] / dist['e2e_eps']:.2f} end to end, "
              f"{up['gateway_eps'] / dist['gateway_eps']:.2f} at the gateway.")
    if up and up['e2e_eps']:
        verdict = 'met' if up['e2e_eps'] >= 50000 else 'not met'
        print(f"Target ≥ 50,000 events/s for `adpulse up`: {up['e2e_eps']:,.0f} end to end, {verdict}.")
    print('\nCPU seconds over each phase (load start until every accepted event is committed):\n')
    groups = [k for k in ('adpulse', 'gateway', 'worker', 'api', 'kafka', 'cassandra', 'postgres', 'redis', 'load generator', 'machine')
              if any(k in r['cpu'] for r in rows)]
    print('| mode | phase | wall s | ' + ' | '.join(groups) + ' |')
    print('|---|---|---:|' + '---:|' * len(groups))
    for r in rows:
        wall = r.get('e2e_seconds') or r.get('seconds')
        print(f"| {r['mode']} | {r['phase']} | {wall:.1f} | " + ' | '.join(
            f"{r['cpu'][g]:.1f}" if g in r['cpu'] else '' for g in groups) + ' |')

p = argparse.ArgumentParser()
sub = p.add_subparsers(dest='cmd', required=True)
w = sub.add_parser('wait-ready'); w.add_argument('--timeout', type=float, default=120); w.add_argument('--log', required=True)
w.add_argument('--pids', default=''); w.add_argument('urls', nargs='+'); w.set_defaults(f=wait_ready)
pr = sub.add_parser('probe'); pr.add_argument('--addr'); pr.add_argument('--key'); pr.add_argument('--campaigns'); pr.set_defaults(f=probe)
fl = sub.add_parser('flushes'); fl.add_argument('--name'); fl.add_argument('log'); fl.set_defaults(f=flushes)
t = sub.add_parser('table'); t.set_defaults(f=table)
for x in ('duration', 'connections', 'batch', 'campaigns', 'fs'):
    t.add_argument('--' + x)
t.add_argument('results')
ph = sub.add_parser('phase'); ph.set_defaults(f=phase)
for x in ('mode', 'phase', 'addr', 'key', 'campaigns', 'load', 'gateway-metrics', 'worker-metrics',
          'sqlite', 'schema', 'pg-url', 'psql', 'group', 'topic', 'procs', 'stack'):
    ph.add_argument('--' + x, default='')
for x in ('batch', 'connections', 'duration', 'warmup'):
    ph.add_argument('--' + x, type=int, default=0)
ph.add_argument('--drain-timeout', type=float, default=300)
ph.add_argument('--events-per-sec', type=float, default=0)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
args = p.parse_args()
try:
    args.f(args)
except (OSError, RuntimeError, subprocess.SubprocessError, ValueError) as e:
    sys.exit(f'bench.py {args.cmd}: {e}')
PY
bench() { python3 "$work/bench.py" "$@"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# The stack servers' pids, for the CPU table.
stack_pids() {
  local s out=""
  [[ " $MODES " == *" distributed "* ]] || { echo ""; return; }
  for s in kafka cassandra postgres redis; do
    [ -f "$ADPULSE_STACK_DIR/$s/pid" ] && out+="$s=$(cat "$ADPULSE_STACK_DIR/$s/pid"),"
  done
  echo "${out%,}"
}

# start DIR ROLE CMD...: runs CMD with the deployment's environment, logging to DIR/ROLE.log.
start() {
  local dir=$1 role=$2; shift 2
  (set -a; source "$dir/env"; exec "$@") >"$dir/$role.log" 2>&1 &
  echo "$role $!" >>"$dir/pids"
}
pid_of() { awk -v r="$2" '$1 == r {print $2}' "$1/pids"; }
# admin DIR ARGS...: `adpulse admin` with the deployment's environment.
admin() { local dir=$1; shift; (set -a; source "$dir/env"; exec timeout 60 "$BIN/adpulse" admin "$@") 2>>"$dir/admin.log"; }

# Common settings: JSON logs (read back for slow flushes), no per-tenant quota
# (one tenant sends everything), listen addresses on free loopback ports.
write_env() {
  local dir=$1
  {
    echo "ADPULSE__TELEMETRY__LOG_FORMAT=json"
    echo "ADPULSE__GATEWAY__TENANT_EVENTS_PER_SEC=100000000"
    echo "ADPULSE__GATEWAY__TENANT_BURST=100000000"
    echo "ADPULSE__GATEWAY__LISTEN=127.0.0.1:$(free_port)"
    echo "ADPULSE__API__LISTEN=127.0.0.1:$(free_port)"
    echo "ADPULSE__WORKER__LISTEN=127.0.0.1:$(free_port)"
  } >"$dir/env"
}
addr_of() { sed -n "s/^ADPULSE__$2__LISTEN=//p" "$1/env"; }

# more_campaigns DIR TENANT FIRST [--data D]: campaigns FIRST..CAMPAIGNS, appended to DIR/campaigns.
more_campaigns() {
  local dir=$1 tenant=$2 first=$3; shift 3
  [ "$first" -le "$CAMPAIGNS" ] || return 0
  seq "$first" "$CAMPAIGNS" | (set -a; source "$dir/env"; exec xargs -P 4 -I{} timeout 60 \
    "$BIN/adpulse" admin "$@" create-campaign --tenant "$tenant" --name "bench campaign {}") \
    >>"$dir/campaigns" 2>>"$dir/admin.log" || true
  [ "$(wc -l <"$dir/campaigns")" -eq "$CAMPAIGNS" ] ||
    { echo "made $(wc -l <"$dir/campaigns") of $CAMPAIGNS campaigns: $(tail -3 "$dir/admin.log")" >&2; exit 1; }
}

# deploy_up NAME: a fresh data folder, `adpulse up` on it, CAMPAIGNS campaigns.
deploy_up() {
  local dir="$work/$1"
  mkdir -p "$dir"; deployments+=("$dir")
  write_env "$dir"
  start "$dir" adpulse "$BIN/adpulse" up --data "$dir/data"
  bench wait-ready --log "$dir/adpulse.log" --pids "$(pid_of "$dir" adpulse)" \
    "http://$(addr_of "$dir" GATEWAY)/health/ready" "http://$(addr_of "$dir" WORKER)/health/ready" \
    "http://$(addr_of "$dir" API)/health/ready"
  python3 -c 'import json,sys; w=json.load(open(sys.argv[1])); print(w["tenant"]); print(w["campaign"], file=open(sys.argv[2], "w")); print(w["ingest_key"], file=open(sys.argv[3], "w"))' \
    "$dir/data/welcome.json" "$dir/campaigns" "$dir/key" >"$dir/tenant"
  more_campaigns "$dir" "$(cat "$dir/tenant")" 2 --data "$dir/data"
}

# deploy_distributed NAME: its own schema, keyspace, topics, group and Redis
# prefix; migrated; a tenant, CAMPAIGNS campaigns and a key; worker, API and
# gateway started.
deploy_distributed() {
  local dir="$work/$1" id
  mkdir -p "$dir"; deployments+=("$dir")
  id="bench_up_$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  write_env "$dir"
  {
    echo "ADPULSE__POSTGRES__SCHEMA=$id"
    echo "ADPULSE__CQL__KEYSPACE=$id"
    echo "ADPULSE__REDIS__KEY_PREFIX=$id"
    echo "ADPULSE__KAFKA__EVENTS_TOPIC=$id.events"
    echo "ADPULSE__KAFKA__REJECTED_TOPIC=$id.rejected"
    echo "ADPULSE__KAFKA__METRICS_TOPIC=$id.metrics"
    echo "ADPULSE__WORKER__GROUP_ID=$id"
    echo "ADPULSE__API__JWT_SECRET=$(head -c 48 /dev/urandom | base64 | tr '+/' '-_')"
  } >>"$dir/env"
  echo "$id" >"$dir/id"
  (set -a; source "$dir/env"; exec timeout 300 "$BIN/adpulse" migrate --wait 30) >"$dir/migrate.log" 2>&1 ||
    { tail -5 "$dir/migrate.log" >&2; exit 1; }
  admin "$dir" create-tenant --name "bench tenant" >"$dir/tenant"
  admin "$dir" create-key --tenant "$(cat "$dir/tenant")" --name bench | awk '/^secret/ {print $2}' >"$dir/key"
  if [ ! -s "$dir/tenant" ] || [ ! -s "$dir/key" ]; then echo "no tenant or key: $(tail -3 "$dir/admin.log")" >&2; exit 1; fi
  : >"$dir/campaigns"
  more_campaigns "$dir" "$(cat "$dir/tenant")" 1
  start "$dir" worker "$BIN/adpulse" worker
  start "$dir" api "$BIN/adpulse" api
  start "$dir" gateway "$BIN/adpulse" gateway
  bench wait-ready --log "$dir/gateway.log" \
    --pids "$(pid_of "$dir" worker),$(pid_of "$dir" api),$(pid_of "$dir" gateway)" \
    "http://$(addr_of "$dir" WORKER)/health/ready" "http://$(addr_of "$dir" API)/health/ready" \
    "http://$(addr_of "$dir" GATEWAY)/health/ready"
}

# run_phase MODE PHASE NAME [EVENTS_PER_SEC]: deploys, warms the path with
# one event per campaign, measures, stops and removes the deployment.
run_phase() {
  local mode=$1 phase=$2 name=$3 eps=${4:-0} dir="$work/$3" procs applied
  say "$mode: $phase (deploying)"
  if [ "$mode" = up ]; then
    deploy_up "$name"
    procs="adpulse=$(pid_of "$dir" adpulse)"
    applied=(--sqlite "$dir/data/adpulse.sqlite" --group "${ADPULSE__WORKER__GROUP_ID:-adpulse-worker}"
      --topic "${ADPULSE__KAFKA__EVENTS_TOPIC:-adpulse.events.v1}")
  else
    deploy_distributed "$name"
    procs="gateway=$(pid_of "$dir" gateway),worker=$(pid_of "$dir" worker),api=$(pid_of "$dir" api)"
    local id; id=$(cat "$dir/id")
    applied=(--schema "$id" --pg-url "$PG_URL" --psql "$PSQL" --group "$id" --topic "$id.events")
  fi
  bench probe --addr "$(addr_of "$dir" GATEWAY)" --key "$dir/key" --campaigns "$dir/campaigns"
  say "$mode: $phase (measuring)"
  python3 "$work/bench.py" phase --mode "$mode" --phase "$phase" --addr "$(addr_of "$dir" GATEWAY)" --key "$dir/key" \
    --campaigns "$dir/campaigns" --load "$BIN/adpulse-load" --batch "$BATCH" --connections "$CONNECTIONS" \
    --duration "$DURATION" --warmup "$WARMUP" --drain-timeout "$DRAIN_TIMEOUT" --events-per-sec "$eps" \
    --gateway-metrics "http://$(addr_of "$dir" GATEWAY)/metrics" \
    --worker-metrics "http://$(addr_of "$dir" WORKER)/metrics" \
    --procs "$procs" --stack "$(stack_pids)" "${applied[@]}" >>"$results" &
  measuring=$!
  wait "$measuring"  # in the background, so a signal stops the script at once
  measuring=""
  stop_deployment "$dir"
  [ -z "${LOGS:-}" ] || { mkdir -p "$LOGS"; for f in "$dir"/*.log; do cp "$f" "$LOGS/$name-$(basename "$f")"; done; }
  bench flushes --name "$mode $phase" "$dir/$([ "$mode" = up ] && echo adpulse || echo worker).log"
}

for mode in $MODES; do
  run_phase "$mode" sustained "$mode-sustained"
  eps=$(python3 -c 'import json,sys; r=[json.loads(l) for l in open(sys.argv[1])]; s=[x for x in r if x["mode"]==sys.argv[2] and x["phase"]=="sustained"][-1]; print((s["e2e_eps"] or s["gateway_eps"]) / 2)' "$results" "$mode")
  run_phase "$mode" fresh "$mode-fresh" "$eps"
done

say "results"
bench table --duration "$DURATION" --connections "$CONNECTIONS" --batch "$BATCH" --campaigns "$CAMPAIGNS" \
  --fs "$(df --output=fstype "$work" | tail -1)" "$results"
