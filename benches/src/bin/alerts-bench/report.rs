//! The run as markdown (stdout) and JSON (`--out`).

#![allow(clippy::print_stdout)]

use std::path::Path;

use adpulse_config::Config;
use chrono::Utc;
use serde_json::json;

use crate::observe::metric;
use crate::phases::{Capacity, Steady};
use crate::probe::ProbeResult;
use crate::{Args, Res};

/// Nearest-rank percentiles of `v` (ms): (n, p50, p95, p99, max).
fn quantiles(mut v: Vec<f64>) -> Option<(usize, f64, f64, f64, f64)> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
    Some((v.len(), at(0.5), at(0.95), at(0.99), v[v.len() - 1]))
}

fn row(name: &str, of: usize, v: Vec<f64>) -> String {
    match quantiles(v) {
        Some((n, p50, p95, p99, max)) => {
            format!("| {name} | {n} of {of} | {p50:.0} | {p95:.0} | {p99:.0} | {max:.0} |")
        }
        None => format!("| {name} | 0 of {of} | | | | |"),
    }
}

/// The alerter's figures over the steady phase, from its metrics.
struct Alerter {
    results: f64,
    evaluated: f64,
    evaluations: f64,
    fired: f64,
    commits: f64,
    commit_secs: f64,
    delivered: f64,
    not_delivered: f64,
    delivery_secs: f64,
    cpu: f64,
}

impl Alerter {
    fn of(s: &Steady) -> Self {
        let (m0, m1) = &s.metrics;
        let d = |name: &str, labels: &[(&str, &str)]| {
            metric(m1, name, labels) - metric(m0, name, labels)
        };
        let delivered = d("adpulse_alerter_deliveries_total", &[("outcome", "sent")]);
        let attempts = d("adpulse_alerter_delivery_seconds_count", &[]);
        Self {
            results: d("adpulse_alerter_results_total", &[]),
            evaluated: d("adpulse_alerter_results_total", &[("outcome", "evaluated")]),
            evaluations: d("adpulse_alerter_evaluations_total", &[]),
            fired: d("adpulse_alerter_transitions_total", &[("kind", "fired")]),
            commits: d("adpulse_alerter_commit_seconds_count", &[]),
            commit_secs: d("adpulse_alerter_commit_seconds_sum", &[]),
            delivered,
            not_delivered: d("adpulse_alerter_deliveries_total", &[]) - delivered,
            delivery_secs: d("adpulse_alerter_delivery_seconds_sum", &[]) / attempts.max(1.0),
            cpu: s
                .cpu
                .iter()
                .find(|(k, _)| k.starts_with("alerter"))
                .map_or(0.0, |(_, v)| *v),
        }
    }
}

fn header(args: &Args, cfg: &Config, seed_secs: f64, c: &Capacity, s: &Steady) {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    println!(
        "Run {} UTC, {cores} cores, load average {} at the end; gateway, stream worker, alerter (a thread of its own), load generator and webhook receiver (a thread of its own) in one process; Kafka, Cassandra, Postgres and Redis of the local stack on the same machine.\n",
        Utc::now().format("%Y-%m-%d %H:%M"),
        load.join(" "),
    );
    println!(
        "{} tenants × {} rules = {} rules (one webhook channel per tenant), seeded through the store in {seed_secs:.1} s; {} click probes and {} budget probes on campaigns of their own; {} events a request, round robin over the tenants. Alerter: `cache_ms` {}, `tick_ms` {}; gateway `budget_poll_ms` {}.\n",
        args.tenants,
        args.rules,
        args.tenants * args.rules,
        args.probes,
        args.budget_probes,
        args.batch,
        cfg.alerts.cache_ms,
        cfg.alerts.tick_ms,
        cfg.gateway.budget_poll_ms,
    );
    let worker_lag = s.lags.iter().map(|l| l.0).max().unwrap_or(0);
    let alerter_lag = s.lags.iter().map(|l| l.1).max().unwrap_or(0);
    println!(
        "Capacity (closed loop, {} connections, {} s): the gateway accepted {:.0} events/s; gateway → worker applied all of them: **{:.0} events/s end to end**. Steady load: {:.0} events/s{} for {} s: {} events accepted, {} requests refused, {} requests sent more than 100 ms late; the worker's lag at most {worker_lag} events, the alerter's at most {alerter_lag} window results (sampled every second; the alerter commits its position at least every second).\n",
        args.connections,
        args.capacity_seconds,
        c.gateway_rate,
        c.end_to_end,
        s.rate,
        if args.rate > 0.0 {
            ""
        } else {
            " (half of that)"
        },
        args.seconds,
        s.sent.events,
        s.sent.refused,
        s.late,
    );
}

fn latency_table(probes: &[ProbeResult]) {
    let of = |kind: &str| probes.iter().filter(|r| r.kind == kind).count();
    let pick = |kind: &str, f: &dyn Fn(&ProbeResult) -> Option<f64>| -> Vec<f64> {
        probes
            .iter()
            .filter(|r| r.kind == kind)
            .filter_map(f)
            .collect()
    };
    let (clicks, budgets) = (of("click"), of("budget"));
    println!("| from the event's 202 to … (ms) | probes | p50 | p95 | p99 | max |");
    println!("|---|---:|---:|---:|---:|---:|");
    let rows = [
        (
            "click: visible in the live counter (Redis; baseline: the worker)",
            clicks,
            pick("click", &|r| r.live_ms),
        ),
        (
            "click: its window result's time (payload `timestamp`: the worker's clock before its live-counter write)",
            clicks,
            pick("click", &|r| r.published_ms),
        ),
        (
            "click: **webhook received** (\"first click\" rule)",
            clicks,
            pick("click", &|r| r.webhook_ms),
        ),
        (
            "… of which after the live counter (webhook − live counter)",
            clicks,
            pick("click", &|r| Some(r.webhook_ms? - r.live_ms?)),
        ),
        (
            "… of which after the result's time (webhook − `timestamp`)",
            clicks,
            pick("click", &|r| Some(r.webhook_ms? - r.published_ms?)),
        ),
        (
            "budget: spend visible in the live counter (baseline)",
            budgets,
            pick("budget", &|r| r.live_ms),
        ),
        (
            "budget: **decide answers `budget_exhausted`** (polled every 20 ms)",
            budgets,
            pick("budget", &|r| r.stopped_ms),
        ),
        (
            "budget: webhook received (\"budget exhausted\" rule)",
            budgets,
            pick("budget", &|r| r.webhook_ms),
        ),
    ];
    for (name, of, v) in rows {
        println!("{}", row(name, of, v));
    }
    println!();
}

fn alerter_table(args: &Args, s: &Steady) {
    let a = Alerter::of(s);
    let wall = s.wall;
    println!("| alerter over the steady phase ({wall:.0} s) | value |");
    println!("|---|---:|");
    println!(
        "| window results read / evaluated | {:.0} / {:.0} ({:.0}/s) |",
        a.results,
        a.evaluated,
        a.evaluated / wall
    );
    println!(
        "| rule evaluations | {:.0} ({:.0}/s; {:.0}/s at results, the rest at the 1 s ticks) |",
        a.evaluations,
        a.evaluations / wall,
        a.evaluated * args.rules as f64 / wall
    );
    println!(
        "| alerter thread CPU | {:.1} s ({:.0}% of one core) |",
        a.cpu,
        100.0 * a.cpu / wall
    );
    println!(
        "| rule evaluations per alerter CPU-second (evaluation, IO, commits, deliveries) | {:.0} |",
        a.evaluations / a.cpu.max(1e-9)
    );
    println!(
        "| firings / webhooks received | {:.0} / {} |",
        a.fired, s.webhooks
    );
    println!(
        "| commits (states, firings, outbox, position), mean | {:.0}, {:.1} ms |",
        a.commits,
        1000.0 * a.commit_secs / a.commits.max(1.0)
    );
    println!(
        "| deliveries sent (not sent), mean attempt | {:.0} ({:.0}), {:.1} ms |",
        a.delivered,
        a.not_delivered,
        1000.0 * a.delivery_secs
    );
    println!();
}

fn cpu_table(cfg: &Config, s: &Steady) {
    let r = &s.refresh;
    println!(
        "The evaluator's store reads, timed halfway through the steady phase (the bench's own pool): seeing {} campaigns for the first time, one at a time as the loop does, {:.0} ms for the campaigns, {:.0} ms for {} tenants' rules, {:.0} ms for today's bases (once per campaign, and again at its local midnight); then one refresh of them all beside the loop, every `alerts.cache_ms` ({} ms): {:.0} ms.\n",
        r.campaigns,
        r.first_campaigns_ms,
        r.first_rules_ms,
        r.tenants,
        r.first_days_ms,
        cfg.alerts.cache_ms,
        r.bulk_ms
    );
    println!("| CPU over the steady phase | seconds | cores |");
    println!("|---|---:|---:|");
    for (k, v) in &s.cpu {
        println!("| {k} | {v:.1} | {:.2} |", v / s.wall);
    }
}

pub fn print(args: &Args, cfg: &Config, seed_secs: f64, c: &Capacity, s: &Steady) {
    header(args, cfg, seed_secs, c, s);
    latency_table(&s.probes);
    alerter_table(args, s);
    cpu_table(cfg, s);
}

pub fn write_json(path: &Path, args: &Args, seed_secs: f64, c: &Capacity, s: &Steady) -> Res<()> {
    let a = Alerter::of(s);
    let r = &s.refresh;
    let out = json!({
        "args": {"tenants": args.tenants, "rules": args.rules, "seconds": args.seconds,
                 "batch": args.batch, "connections": args.connections},
        "seed_secs": seed_secs,
        "capacity": {"gateway_events_per_sec": c.gateway_rate,
                     "end_to_end_events_per_sec": c.end_to_end, "refused": c.refused},
        "steady": {"rate": s.rate, "requests": s.sent.requests, "events": s.sent.events,
                   "refused": s.sent.refused, "late": s.late, "wall_secs": s.wall,
                   "lags": s.lags.iter().map(|l| json!([l.0, l.1])).collect::<Vec<_>>()},
        "reads_ms": {"first_campaigns": r.first_campaigns_ms, "first_rules": r.first_rules_ms,
                     "first_day_bases": r.first_days_ms, "bulk_refresh": r.bulk_ms},
        "alerter": {"results": a.results, "evaluated": a.evaluated, "evaluations": a.evaluations,
                    "cpu_secs": a.cpu, "fired": a.fired, "commits": a.commits,
                    "commit_secs": a.commit_secs, "delivered": a.delivered},
        "cpu": s.cpu.iter().map(|(k, v)| json!({"group": k, "secs": v})).collect::<Vec<_>>(),
        "probes": s.probes.iter().map(ProbeResult::to_json).collect::<Vec<_>>(),
    });
    std::fs::write(path, serde_json::to_string_pretty(&out)?)?;
    Ok(())
}
