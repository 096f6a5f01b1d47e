//! The alerter's evaluation on one core, no IO: one campaign's ten rules
//! (the mix of `benches/alerts.sh`, `adpulse_benches::alert_rule_mix`)
//! against one sample, next to what any consumer of the window-result
//! stream pays anyway: decoding the result's JSON (the baseline).
//!
//! Also what the evaluator does per result besides `evaluate`: the
//! trailing spans the rules read (`Trail::last`, one per span) on trails of
//! the length a campaign's trail reaches with a result every 200 ms (the
//! worker's batch wait: an active campaign is in every flush of its
//! partition), and a pass in which one rule fires (message rendered,
//! payload built).
//!
//! `cargo bench -p adpulse-benches --bench alerts_eval`; prints the
//! harness's table on stderr and a markdown table on stdout.

use std::collections::HashMap;
use std::time::Duration;

use adpulse_alerter::evaluate::evaluate;
use adpulse_alerter::recent::Trail;
use adpulse_benches::{Case, alert_rule_mix, compare};
use adpulse_domain::aggregate::Counts;
use adpulse_domain::alert::ledger::{AlertCampaign, AlertCommit};
use adpulse_domain::alert::{AlertState, Over, RuleBody, RuleRecord, Sample};
use adpulse_domain::budget::BudgetLimits;
use adpulse_domain::contract::window::WindowResult;
use adpulse_domain::{CampaignId, CampaignStatus, TenantId};
use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

const RULES: usize = 10;
/// A result every 200 ms.
const RESULTS_PER_SEC: i64 = 5;

fn counts(impressions: i64) -> Counts {
    Counts {
        impressions,
        clicks: impressions / 100,
        conversions: impressions / 10_000,
        cost_micros: impressions * 1_600,
        revenue_micros: impressions * 4_000,
    }
}

/// A trail of `minutes` of results, one every 200 ms, 1,000 impressions a
/// minute apart.
fn trail(now: DateTime<Utc>, minutes: i64) -> Trail {
    let mut t = Trail::default();
    let points = minutes * 60 * RESULTS_PER_SEC;
    for i in 0..=points {
        let at = now - TimeDelta::milliseconds((points - i) * 1_000 / RESULTS_PER_SEC);
        t.push(at, counts(1_000_000 + i * 1_000 / (60 * RESULTS_PER_SEC)));
    }
    t
}

/// The spans the rules read, sorted and without repeats (as the evaluator
/// collects them for each sample).
fn spans(rules: &[RuleRecord]) -> Vec<u16> {
    let mut spans = Vec::new();
    for r in rules {
        r.spec.condition.recent_spans(&mut spans);
    }
    spans.sort_unstable();
    spans.dedup();
    spans
}

/// The sample of a result with `trail` (as the evaluator builds it).
fn sample(result: &WindowResult, trail: &Trail, spans: &[u16], now: DateTime<Utc>) -> Sample {
    Sample {
        lifetime: result.lifetime,
        today: result.today,
        recent: spans
            .iter()
            .filter_map(|m| trail.last(now, *m).map(|c| (*m, c)))
            .collect(),
        budget: BudgetLimits {
            total_micros: Some(10_000_000_000),
            daily_cap_micros: None,
        },
    }
}

/// One campaign, its ten rules, a result, trails and a sample.
struct Fixture {
    now: DateTime<Utc>,
    campaign: AlertCampaign,
    rules: Vec<RuleRecord>,
    spans: Vec<u16>,
    result: WindowResult,
    json: Vec<u8>,
    /// Trails of 1, 12 and 61 minutes.
    trails: [Trail; 3],
    sample: Sample,
}

fn rules(tenant: TenantId, now: DateTime<Utc>) -> Vec<RuleRecord> {
    let channel = Uuid::now_v7();
    alert_rule_mix(RULES)
        .into_iter()
        .map(|mut body| {
            body["channel_ids"] = serde_json::json!([channel]);
            let spec = serde_json::from_value::<RuleBody>(body)
                .expect("body")
                .validate()
                .expect("valid rule");
            RuleRecord {
                id: Uuid::now_v7(),
                tenant,
                spec,
                version: 1,
                created_at: now,
                updated_at: now,
            }
        })
        .collect()
}

fn fixture() -> Fixture {
    let now: DateTime<Utc> = "2026-12-04T12:00:00Z".parse().expect("time");
    let tenant = TenantId::from_uuid(Uuid::now_v7());
    let campaign = AlertCampaign {
        id: CampaignId::from_uuid(Uuid::now_v7()),
        tenant,
        name: "bench campaign".into(),
        brand_id: None,
        timezone: "Europe/Berlin".into(),
        budget: BudgetLimits {
            total_micros: Some(10_000_000_000),
            daily_cap_micros: None,
        },
        status: CampaignStatus::Active,
    };
    let rules = rules(tenant, now);
    let spans = spans(&rules);
    let result = WindowResult {
        campaign_id: campaign.id,
        version: 123_456_789,
        at: now,
        day: now.date_naive(),
        lifetime: counts(1_234_567),
        today: counts(234_567),
    };
    let trails = [trail(now, 1), trail(now, 12), trail(now, 61)];
    let sample = sample(&result, &trails[2], &spans, now);
    Fixture {
        json: result.to_json(),
        now,
        campaign,
        rules,
        spans,
        result,
        trails,
        sample,
    }
}

/// Correct before fast: every span known on the hour's trail; a fresh
/// state makes exactly the "first click" rule fire (one delivery); then
/// the steady state changes nothing. The states after that.
fn checked(f: &Fixture) -> HashMap<Uuid, AlertState> {
    assert_eq!(f.sample.recent.len(), f.spans.len(), "every span known");
    assert!(f.sample.counts(Over::Recent(60)).is_some());
    assert!(serde_json::from_slice::<WindowResult>(&f.json).is_ok());
    let mut states = HashMap::new();
    let mut primed = AlertCommit::default();
    let first = evaluate(
        &f.campaign,
        &f.rules,
        &mut states,
        &f.sample,
        f.now,
        &mut primed,
    );
    assert_eq!(
        (first.evaluated, first.fired, primed.deliveries.len()),
        (RULES as u64, 1, 1)
    );
    let mut quiet = AlertCommit::default();
    let pass = evaluate(
        &f.campaign,
        &f.rules,
        &mut states,
        &f.sample,
        f.now,
        &mut quiet,
    );
    assert!(quiet.is_empty() && pass.fired == 0);
    states
}

/// Times every case; the medians, ns.
fn measure(f: &Fixture, mut states: HashMap<Uuid, AlertState>) -> Vec<f64> {
    let span_case = |t: &'static str, trail: &Trail| {
        let (f, trail) = (&*f, trail.clone());
        Case::new(t, move || {
            sample(&f.result, &trail, &f.spans, f.now).recent.len()
        })
    };
    let mut cases = [
        Case::new("decode a window result (baseline)", || {
            serde_json::from_slice::<WindowResult>(&f.json).ok()
        }),
        Case::new("evaluate 10 rules, steady state", || {
            let mut out = AlertCommit::default();
            evaluate(
                &f.campaign,
                &f.rules,
                &mut states,
                &f.sample,
                f.now,
                &mut out,
            )
            .evaluated
        }),
        span_case("trailing spans, trail of 1 min", &f.trails[0]),
        span_case("trailing spans, trail of 12 min", &f.trails[1]),
        span_case("trailing spans, trail of 61 min", &f.trails[2]),
        Case::new("evaluate 10 rules, one fires", || {
            let (mut fresh, mut out) = (HashMap::new(), AlertCommit::default());
            evaluate(
                &f.campaign,
                &f.rules,
                &mut fresh,
                &f.sample,
                f.now,
                &mut out,
            )
            .fired
        }),
    ];
    eprintln!(
        "window result: {} bytes; spans read: {:?}; trail point: {} bytes",
        f.json.len(),
        f.spans,
        std::mem::size_of::<(DateTime<Utc>, Counts)>()
    );
    compare(
        "alert evaluation, one core (per operation)",
        &mut cases,
        15,
        Duration::from_millis(200),
    )
}

#[allow(clippy::print_stdout)]
fn main() {
    let f = fixture();
    let states = checked(&f);
    let m = measure(&f, states);
    let kept = |i: usize| f.trails[i].len();
    let names = [
        "decode a window result (serde_json → `WindowResult`, baseline)".to_owned(),
        "`evaluate`: 10 rules, steady state (no transition)".to_owned(),
        format!(
            "trailing spans (5, 15, 60 min), trail of 1 min of results every 200 ms ({} points kept)",
            kept(0)
        ),
        format!("trailing spans, trail of 12 min ({} points kept)", kept(1)),
        format!(
            "trailing spans, trail of 61 min ({} points kept: an hour at a result per 200 ms)",
            kept(2)
        ),
        "`evaluate`: 10 rules, one fires (message rendered, payload built)".to_owned(),
    ];
    println!("| case | median / op | vs decode |");
    println!("|---|---:|---:|");
    for (name, ns) in names.iter().zip(&m) {
        println!("| {name} | {} | {:.2}x |", duration(*ns), ns / m[0]);
    }
    let per_eval = m[1] / RULES as f64;
    println!();
    println!(
        "Rule evaluations per second on one core: {:.0} (steady state, {:.0} ns each); results per second if every result is decoded and evaluated with a trail of 1 / 12 / 61 min: {:.0} / {:.0} / {:.0}.",
        1e9 / per_eval,
        per_eval,
        1e9 / (m[0] + m[1] + m[2]),
        1e9 / (m[0] + m[1] + m[3]),
        1e9 / (m[0] + m[1] + m[4]),
    );
    let point = std::mem::size_of::<(DateTime<Utc>, Counts)>() as f64;
    let points = kept(2) as f64;
    println!(
        "A trail point is {point} bytes: a campaign with a result every 200 ms holds {points} points ({:.2} MiB) after an hour (one per 5 s); 1,000 such campaigns {:.2} GiB.",
        points * point / f64::from(1 << 20),
        1000.0 * points * point / f64::from(1 << 30),
    );
}

fn duration(ns: f64) -> String {
    if ns >= 10_000.0 {
        format!("{:.1} µs", ns / 1000.0)
    } else {
        format!("{ns:.0} ns")
    }
}
