//! What a sender holding one valid ingest key could once do to everyone,
//! as regression tests through the built binary in both ways of running
//! it (`adpulse up`, and gateway + worker + API on the local stack):
//!
//! - a poison batch: ten thousand events at the per-event cost bound,
//!   whose sums once wrapped `i64`, failed the store's check and held the
//!   partition (and every other tenant's campaign on it) forever;
//! - the same `event_id` as another tenant's event on the same partition,
//!   which once erased that tenant's event;
//! - a leap second, once counted under one day by reports and listed under
//!   another by the raw events.

#[macro_use]
mod common;

use std::time::Duration;

use adpulse_domain::Micros;
use adpulse_domain::aggregate::CAMPAIGN_MAX_MICROS;
use chrono::{NaiveDate, Utc};
use common::platform::{Platform, Tenant, event, until};
use serde_json::{Value, json};

/// How long numbers may take to show up after their events were
/// acknowledged.
const SETTLE: Duration = Duration::from_secs(60);

in_both_modes!(
    a_poison_batch_stops_at_the_bound_and_blocks_no_one,
    the_same_event_id_in_two_tenants_counts_in_both,
    a_leap_second_is_on_one_day_everywhere,
);

fn yesterday() -> NaiveDate {
    Utc::now().date_naive() - chrono::Duration::days(1)
}

/// Posts `events` as one NDJSON batch; every one must be accepted.
async fn post(p: &Platform, t: &Tenant, events: &[Value]) {
    let lines: Vec<String> = events.iter().map(Value::to_string).collect();
    let r = p
        .ingest(
            &t.key,
            "/v1/events/batch",
            "application/x-ndjson",
            lines.join("\n"),
        )
        .await;
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        r.json()["accepted"].as_u64(),
        Some(events.len() as u64),
        "{}",
        String::from_utf8_lossy(&r.body)
    );
}

/// The worker's count of events refused for `reason`, from `/metrics`.
async fn refused(p: &Platform, reason: &str) -> u64 {
    let r = p.worker.send("GET", "/metrics", &[], "").await;
    let text = String::from_utf8_lossy(&r.body).into_owned();
    text.lines()
        .filter(|l| {
            l.starts_with("adpulse_worker_events_total{")
                && l.contains("outcome=\"rejected\"")
                && l.contains(&format!("reason=\"{reason}\""))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .map(|v| v as u64)
        .sum()
}

async fn a_poison_batch_stops_at_the_bound_and_blocks_no_one(p: &Platform) {
    let attacker = p.tenant("attacker", 1).await;
    let victim = p.tenant("victim", 0).await;
    let target = &attacker.campaigns[0];
    let neighbour = p.campaign_beside(&victim, target).await;
    let mut rng = fastrand::Rng::with_seed(16);
    let day = yesterday();

    // Ten batches of a thousand impressions, each at the per-event bound:
    // 10^19 micros in all, past i64::MAX (about 9.2·10^18).
    for _ in 0..10 {
        let batch: Vec<Value> = (0..1_000)
            .map(|_| {
                let mut e = event(&mut rng, target, day, 50);
                e["type"] = json!("impression");
                e["cost_micros"] = json!(Micros::MAX.get());
                e["revenue_micros"] = json!(0);
                e
            })
            .collect();
        post(p, &attacker, &batch).await;
    }
    // Then ordinary events: the victim's on the same partition, and the
    // attacker's own free impressions, which still fit under the bound.
    let mut victim_events = Vec::new();
    for _ in 0..20 {
        let mut e = event(&mut rng, &neighbour, day, 50);
        e["type"] = json!("click");
        e["cost_micros"] = json!(700);
        e["revenue_micros"] = json!(0);
        victim_events.push(e);
    }
    post(p, &victim, &victim_events).await;
    let free: Vec<Value> = (0..5)
        .map(|_| {
            let mut e = event(&mut rng, target, day, 50);
            e["type"] = json!("impression");
            e["cost_micros"] = json!(0);
            e["revenue_micros"] = json!(0);
            e
        })
        .collect();
    post(p, &attacker, &free).await;

    // The partition kept moving: the victim's events are counted.
    until(
        "the victim's live totals",
        SETTLE,
        &[0, 20, 0, 20 * 700, 0],
        || p.realtime(&victim.token, &neighbour),
        |_| {},
    )
    .await;
    // The attacker's campaign holds exactly what fits under the bound: a
    // thousand events at the bound, and the free ones.
    let at_bound = CAMPAIGN_MAX_MICROS / Micros::MAX.get();
    until(
        "the attacker's live totals",
        SETTLE,
        &[at_bound + 5, 0, 0, CAMPAIGN_MAX_MICROS, 0],
        || p.realtime(&attacker.token, target),
        |_| {},
    )
    .await;
    // The rest were kept on the rejected stream with their reason.
    until(
        "events refused as campaign_total_exceeded",
        SETTLE,
        &(10_000 - at_bound as u64),
        || refused(p, "campaign_total_exceeded"),
        |n| {
            assert!(
                *n <= 10_000 - at_bound as u64,
                "refused more than crossed: {n}"
            )
        },
    )
    .await;
    let report = p.day_report(&attacker.token, target, day, day).await;
    assert_eq!(report.1[3], CAMPAIGN_MAX_MICROS, "the report's spend");
}

async fn the_same_event_id_in_two_tenants_counts_in_both(p: &Platform) {
    let a = p.tenant("a", 1).await;
    let b = p.tenant("b", 0).await;
    let campaign_a = &a.campaigns[0];
    let campaign_b = p.campaign_beside(&b, campaign_a).await;
    let mut rng = fastrand::Rng::with_seed(2);
    let day = yesterday();

    // B first, then A with the same id (as two advertisers deriving ids
    // from one exchange's auction id would), then A's own resend.
    let mut eb = event(&mut rng, &campaign_b, day, 5);
    let mut ea = event(&mut rng, campaign_a, day, 5);
    for e in [&mut ea, &mut eb] {
        e["type"] = json!("click");
        e["cost_micros"] = json!(300);
        e["revenue_micros"] = json!(0);
    }
    ea["event_id"] = eb["event_id"].clone();
    post(p, &b, std::slice::from_ref(&eb)).await;
    post(p, &a, std::slice::from_ref(&ea)).await;
    post(p, &a, std::slice::from_ref(&ea)).await;

    for (t, c) in [(&a, campaign_a.as_str()), (&b, campaign_b.as_str())] {
        until(
            &format!("live totals of {}", t.id),
            SETTLE,
            &[0, 1, 0, 300, 0],
            || p.realtime(&t.token, c),
            |have| assert!(have[1] <= 1, "a resend counted twice: {have:?}"),
        )
        .await;
    }
    let listed = p.raw_events(&a.token, campaign_a, day, 10).await;
    assert_eq!(listed.len(), 1, "A's raw events: {listed:?}");
    assert!(
        listed[0].starts_with(ea["event_id"].as_str().unwrap_or("?")),
        "{listed:?}"
    );
}

async fn a_leap_second_is_on_one_day_everywhere(p: &Platform) {
    let t = p.tenant("leap", 1).await;
    let c = &t.campaigns[0];
    let mut rng = fastrand::Rng::with_seed(5);
    let day = yesterday() - chrono::Duration::days(1);
    let mut e = event(&mut rng, c, day, 5);
    e["type"] = json!("impression");
    e["cost_micros"] = json!(10);
    e["revenue_micros"] = json!(0);
    e["occurred_at"] = json!(format!("{day}T23:59:60.500Z"));
    post(p, &t, std::slice::from_ref(&e)).await;

    until(
        "live totals",
        SETTLE,
        &[1, 0, 0, 10, 0],
        || p.realtime(&t.token, c),
        |_| {},
    )
    .await;
    let next = day + chrono::Duration::days(1);
    // The day report and the raw listing agree: the event is on `day`.
    let on_day = p.day_report(&t.token, c, day, day).await;
    let on_next = p.day_report(&t.token, c, next, next).await;
    assert_eq!((on_day.1[0], on_next.1[0]), (1, 0), "reported by day");
    let listed = p.raw_events(&t.token, c, day, 10).await;
    assert_eq!(listed.len(), 1, "listed on {day}: {listed:?}");
    assert!(
        listed[0].contains(&format!("{day}T23:59:59.999")),
        "the folded instant: {listed:?}"
    );
    assert!(p.raw_events(&t.token, c, next, 10).await.is_empty());
}
