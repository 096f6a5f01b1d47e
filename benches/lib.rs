//! A small benchmark harness: every benchmark runs its candidates and their
//! baselines interleaved in one process, several rounds each, and prints the
//! median per operation side by side, so machine noise hits all of them alike.
//!
//! `cargo bench -p adpulse-benches` measures; under `cargo test` (no `--bench`
//! argument) each case runs a few times only, as a correctness check.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// One thing to time: a name and a closure doing one operation.
pub struct Case<'a> {
    /// Shown in the table.
    pub name: &'a str,
    /// One operation; its result goes through `black_box`, so the work
    /// cannot be optimized away.
    op: Box<dyn FnMut() + 'a>,
}

impl<'a> Case<'a> {
    /// A named case.
    pub fn new<R>(name: &'a str, mut op: impl FnMut() -> R + 'a) -> Self {
        Self {
            name,
            op: Box::new(move || {
                black_box(op());
            }),
        }
    }
}

/// Whether cargo asked for measurement (`cargo bench`) rather than a test run.
pub fn measuring() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// Runs `cases` interleaved for `rounds` rounds of about `per_round` each and
/// prints the median time per operation; the first case is the baseline of
/// the ratio column. Returns the medians in nanoseconds.
pub fn compare(
    title: &str,
    cases: &mut [Case<'_>],
    rounds: usize,
    per_round: Duration,
) -> Vec<f64> {
    let (rounds, per_round) = if measuring() {
        (rounds, per_round)
    } else {
        (1, Duration::ZERO)
    };
    let mut samples: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); cases.len()];
    for _ in 0..rounds {
        for (i, case) in cases.iter_mut().enumerate() {
            let start = Instant::now();
            let mut n = 0u64;
            loop {
                for _ in 0..64 {
                    (case.op)();
                }
                n += 64;
                if start.elapsed() >= per_round {
                    break;
                }
            }
            samples[i].push(start.elapsed().as_nanos() as f64 / n as f64);
        }
    }
    let medians: Vec<f64> = samples.iter_mut().map(|s| median(s)).collect();
    let mut out = format!(
        "\n{title}\n{:<44} {:>12} {:>10}\n",
        "case", "median/op", "vs first"
    );
    for (case, m) in cases.iter().zip(&medians) {
        out += &format!("{:<44} {:>9.0} ns {:>9.2}x\n", case.name, m, m / medians[0]);
    }
    eprint!("{out}");
    medians
}

fn median(s: &mut [f64]) -> f64 {
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

/// The alert rules of one tenant in the alerts benchmark (`alerts-bench`
/// and `benches/alerts_eval.rs` use the same mix): `n` rule bodies as the
/// API takes them, without scope or channels (the caller adds those).
///
/// The first two are the ones the benchmark's probes make fire: "first
/// click" (clicks over the lifetime ≥ 1; the background load sends only
/// impressions) and "budget exhausted". The rest are comparisons over the
/// lifetime, today and trailing spans, AND and OR groups, that stay quiet
/// under the background load. Past ten, the quiet ones repeat with other
/// thresholds.
pub fn alert_rule_mix(n: usize) -> Vec<serde_json::Value> {
    use serde_json::json;
    let cmp = |metric: &str, over: &str, op: &str, value: f64| json!({"metric": metric, "over": over, "op": op, "value": value});
    let quiet = |k: usize| -> (String, serde_json::Value) {
        // Thresholds far beyond the load (scaled by the repeat), or
        // ratios that cannot hold.
        let big = 1e12 * (1 + k / 8) as f64;
        match k % 8 {
            0 => (
                "impressions, lifetime".into(),
                cmp("impressions", "lifetime", ">=", big),
            ),
            1 => ("spend today".into(), cmp("spend", "today", ">", big)),
            2 => ("cpm today".into(), cmp("cpm", "today", ">", big)),
            3 => (
                "impressions, last 5 min".into(),
                cmp("impressions", "last_5m", ">", big),
            ),
            4 => (
                "spend, last 15 min".into(),
                cmp("spend", "last_15m", ">=", big),
            ),
            5 => (
                "ctr and volume today".into(),
                json!({"all": [cmp("ctr", "today", ">", 50.0), cmp("impressions", "today", ">=", 100.0)]}),
            ),
            6 => (
                "cpc last hour or roas".into(),
                json!({"any": [cmp("cpc", "last_60m", ">", big), cmp("roas", "lifetime", ">", 1e6)]}),
            ),
            _ => (
                "budget twice over".into(),
                cmp("budget_used_pct", "lifetime", ">=", 200.0),
            ),
        }
    };
    (0..n)
        .map(|i| {
            let (name, condition) = match i {
                0 => (
                    "first click".to_owned(),
                    cmp("clicks", "lifetime", ">=", 1.0),
                ),
                1 => (
                    "budget exhausted".to_owned(),
                    json!({"budget_exhausted": "either"}),
                ),
                _ => {
                    let (name, c) = quiet(i - 2);
                    (format!("{name} #{i}"), c)
                }
            };
            json!({"name": name, "condition": condition})
        })
        .collect()
}
