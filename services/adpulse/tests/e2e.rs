//! End to end through the built binary, in both ways of running it: the
//! same tests with the same assertions on `adpulse up` (one process,
//! embedded backends) and on `adpulse gateway` + `worker` + `api` (the
//! local stack). Tenants come from `adpulse admin`; everything else is
//! HTTP, as a customer sees it:
//!
//! - exact numbers: a few hundred events of two tenants, in batches (JSON
//!   and NDJSON) and one by one, with resends of the same event ids, read
//!   back as live totals, day reports by channel with unique users, top
//!   campaigns, and the raw events page by page;
//! - tenant isolation: another tenant's token and ingest key reach nothing
//!   of a tenant's;
//! - bad input: a specific 4xx with its code, never a 5xx.

#[macro_use]
mod common;
#[path = "e2e/refusals.rs"]
mod refusals;

use std::time::Duration;

use chrono::{NaiveDate, Utc};
use common::platform::{Platform, Reference, Tenant, event, until};
use serde_json::{Value, json};

/// How long numbers may take to show up after their events were
/// acknowledged.
const SETTLE: Duration = Duration::from_secs(45);

in_both_modes!(
    exact_counts_reports_and_raw_events,
    tenants_see_and_reach_nothing_of_each_other,
    bad_input_gets_a_specific_4xx,
);

/// The two UTC days the events happen on: the day before yesterday and
/// yesterday (whole days in the past, so nothing is cut by "now").
fn days() -> (NaiveDate, NaiveDate) {
    let yesterday = Utc::now().date_naive() - chrono::Duration::days(1);
    (yesterday - chrono::Duration::days(1), yesterday)
}

/// Random events for `t`: `n` in all, spread over its campaigns in the
/// proportions `weights` (a campaign with weight 0 gets none), over both
/// days.
fn load(rng: &mut fastrand::Rng, t: &Tenant, n: usize, weights: &[u32]) -> Vec<Value> {
    let (d0, d1) = days();
    let total: u32 = weights.iter().sum();
    (0..n)
        .map(|_| {
            let mut pick = rng.u32(0..total);
            let campaign = weights
                .iter()
                .position(|w| {
                    if pick < *w {
                        true
                    } else {
                        pick -= w;
                        false
                    }
                })
                .expect("a campaign");
            let day = if rng.bool() { d0 } else { d1 };
            event(rng, &t.campaigns[campaign], day, 30)
        })
        .collect()
}

/// Sends `events` with `t`'s key in requests of 1 to 40 events: one event
/// alone to `/v1/events`, more as a JSON array or NDJSON to
/// `/v1/events/batch`. About a quarter of the requests also resend up to
/// three events sent before (or one of their own twice), and the first
/// batch is sent again whole at the end. Every request must be accepted
/// in full.
async fn send_all(p: &Platform, t: &Tenant, events: &[Value], rng: &mut fastrand::Rng) {
    let mut sent: Vec<Value> = Vec::new();
    let mut first_batch: Option<Vec<Value>> = None;
    let mut rest = events;
    let mut ndjson = false;
    while !rest.is_empty() {
        let n = rng.usize(1..=40).min(rest.len());
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        let mut request: Vec<Value> = chunk.to_vec();
        if rng.u32(0..4) == 0 {
            if sent.is_empty() {
                request.push(chunk[0].clone());
            } else {
                for _ in 0..rng.usize(1..=3) {
                    request.push(sent[rng.usize(..sent.len())].clone());
                }
            }
        }
        sent.extend(chunk.iter().cloned());
        if request.len() == 1 {
            post_one(p, t, &request[0]).await;
        } else {
            ndjson = !ndjson;
            post_batch(p, t, &request, ndjson).await;
            first_batch.get_or_insert(request);
        }
    }
    if let Some(b) = first_batch {
        post_batch(p, t, &b, false).await;
    }
}

async fn post_one(p: &Platform, t: &Tenant, e: &Value) {
    let r = p
        .ingest(&t.key, "/v1/events", "application/json", e.to_string())
        .await;
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["event_id"], e["event_id"]);
}

async fn post_batch(p: &Platform, t: &Tenant, events: &[Value], ndjson: bool) {
    let (content_type, body) = if ndjson {
        let lines: Vec<String> = events.iter().map(Value::to_string).collect();
        ("application/x-ndjson", lines.join("\n"))
    } else {
        ("application/json", Value::from(events.to_vec()).to_string())
    };
    let r = p
        .ingest(&t.key, "/v1/events/batch", content_type, body)
        .await;
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    let v = r.json();
    assert_eq!(
        (v["accepted"].as_u64(), v["rejected"].as_u64()),
        (Some(events.len() as u64), Some(0)),
        "{v}"
    );
}

/// Every number the API gives about `t`'s campaigns equals the reference:
/// live totals, day reports by channel (unique users too), and the raw
/// events of each day, listed page by page.
async fn check_campaigns(p: &Platform, t: &Tenant, reference: &Reference) {
    let (d0, d1) = days();
    for c in &t.campaigns {
        let want = reference.realtime(c);
        until(
            &format!("live totals of {c}"),
            SETTLE,
            &want,
            || p.realtime(&t.token, c),
            |_| {},
        )
        .await;
        let want = reference.day_report(c);
        until(
            &format!("day report by channel of {c}"),
            SETTLE,
            &want,
            || p.day_report(&t.token, c, d0, d1),
            |_| {},
        )
        .await;
        for day in [d0, d1] {
            let want = reference.raw_events(c, day);
            until(
                &format!("raw events of {c} on {day}"),
                SETTLE,
                &want,
                || async {
                    let mut listed = p.raw_events(&t.token, c, day, 16).await;
                    let n = listed.len();
                    listed.sort();
                    listed.dedup();
                    assert_eq!(listed.len(), n, "an event listed twice");
                    listed
                },
                |_| {},
            )
            .await;
        }
    }
}

async fn exact_counts_reports_and_raw_events(p: &Platform) {
    let mut rng = fastrand::Rng::with_seed(7);
    let a = p.tenant("Tenant A", 4).await;
    let b = p.tenant("Tenant B", 2).await;
    // A's fourth campaign gets no events: it is in no ranking.
    let events_a = load(&mut rng, &a, 300, &[6, 3, 1, 0]);
    let events_b = load(&mut rng, &b, 120, &[1, 2]);
    let mut reference = Reference::default();
    reference.add(&events_a);
    reference.add(&events_b);
    // Rankings by spend must not hinge on a tie.
    for t in [&a, &b] {
        let mut spends: Vec<i64> = t
            .campaigns
            .iter()
            .map(|c| reference.realtime(c)[3])
            .collect();
        spends.sort_unstable();
        spends.dedup();
        assert_eq!(spends.len(), t.campaigns.len(), "distinct spends");
    }

    let (mut rng_a, mut rng_b) = (rng.fork(), rng.fork());
    tokio::join!(
        send_all(p, &a, &events_a, &mut rng_a),
        send_all(p, &b, &events_b, &mut rng_b),
    );

    check_campaigns(p, &a, &reference).await;
    check_campaigns(p, &b, &reference).await;

    // Top campaigns over both days, by spend (the default, descending)
    // and by impressions ascending, two at most.
    let (d0, d1) = days();
    for t in [&a, &b] {
        let mut want: Vec<(String, [i64; 6])> = t
            .campaigns
            .iter()
            .filter(|c| reference.realtime(c) != [0; 5])
            .map(|c| (c.clone(), reference.day_report(c).1))
            .collect();
        want.sort_by_key(|(_, r)| -r[3]);
        let range = format!("start_date={d0}&end_date={d1}");
        until(
            &format!("top campaigns of {} by spend", t.id),
            SETTLE,
            &want,
            || p.top(&t.token, &range),
            |_| {},
        )
        .await;
        want.sort_by_key(|(_, r)| r[0]);
        want.truncate(2);
        let by_impressions = format!("{range}&sort=impressions&limit=2");
        until(
            &format!("top campaigns of {} by impressions, ascending", t.id),
            SETTLE,
            &want,
            || p.top(&t.token, &by_impressions),
            |_| {},
        )
        .await;
    }
    // The day before holds nothing.
    let before = d0 - chrono::Duration::days(1);
    assert_eq!(
        p.top(&a.token, &format!("start_date={before}&end_date={before}"))
            .await,
        Vec::new()
    );
}

async fn tenants_see_and_reach_nothing_of_each_other(p: &Platform) {
    let mut rng = fastrand::Rng::with_seed(11);
    let a = p.tenant("Tenant A", 2).await;
    let b = p.tenant("Tenant B", 1).await;
    let (_, day) = days();
    let mut reference = Reference::default();
    a_has_numbers(p, &mut rng, &a, &mut reference).await;
    b_s_token_finds_nothing_of_a_s(p, &a, &b, day).await;
    b_s_key_records_nothing_for_a(p, &mut rng, (&a, &b), day, &mut reference).await;
    let ac = &a.campaigns[0];
    let range = format!("start_date={day}&end_date={day}");

    // Then A sends more. Each campaign's events are applied in order, so
    // once A's totals show these, an intruding event would show too.
    let more = load(&mut rng, &a, 5, &[1, 0]);
    post_batch(p, &a, &more, false).await;
    reference.add(&more);
    check_campaigns(p, &a, &reference).await;
    check_campaigns(p, &b, &reference).await;

    // Rankings hold the tenant's own campaigns only.
    let want_b = vec![(
        b.campaigns[0].clone(),
        reference.day_report(&b.campaigns[0]).1,
    )];
    until(
        "B's top campaigns",
        SETTLE,
        &want_b,
        || p.top(&b.token, &range),
        |top| {
            for (c, _) in top {
                assert!(!a.campaigns.contains(c), "B's ranking holds A's {c}");
            }
        },
    )
    .await;
    let top_a = p.top(&a.token, &range).await;
    assert_eq!(
        top_a.iter().map(|(c, _)| c.clone()).collect::<Vec<_>>(),
        vec![ac.clone()]
    );

    // And A's token reaches none of B's.
    let bc = &b.campaigns[0];
    for path in [
        format!("/api/v1/campaigns/{bc}/realtime"),
        format!("/api/v1/campaigns/{bc}/events?date={day}"),
    ] {
        assert_eq!(p.get(&a.token, &path).await.status, 404, "{path}");
    }
}

/// A has numbers: its first events, settled.
async fn a_has_numbers(
    p: &Platform,
    rng: &mut fastrand::Rng,
    a: &Tenant,
    reference: &mut Reference,
) {
    // A has numbers.
    let first = load(rng, a, 20, &[1, 0]);
    post_batch(p, a, &first, false).await;
    reference.add(&first);
    let ac = &a.campaigns[0];
    until(
        "A's first events",
        SETTLE,
        &reference.realtime(ac),
        || p.realtime(&a.token, ac),
        |_| {},
    )
    .await;
}

/// B's token finds nothing of A's campaigns, in paths or in its listing.
async fn b_s_token_finds_nothing_of_a_s(p: &Platform, a: &Tenant, b: &Tenant, day: NaiveDate) {
    let ac = &a.campaigns[0];
    // B's token finds nothing of A's: every campaign path is 404, as if
    // the campaign did not exist.
    let range = format!("start_date={day}&end_date={day}");
    for path in [
        format!("/api/v1/campaigns/{ac}"),
        format!("/api/v1/campaigns/{ac}/realtime"),
        format!("/api/v1/campaigns/{ac}/realtime/stream"),
        format!("/api/v1/campaigns/{ac}/reports?{range}&breakdown=channel"),
        format!("/api/v1/campaigns/{ac}/reports/export?{range}&format=csv"),
        format!("/api/v1/campaigns/{ac}/events?date={day}"),
    ] {
        let r = p.get(&b.token, &path).await;
        assert_eq!(
            r.status,
            404,
            "{path}: {}",
            String::from_utf8_lossy(&r.body)
        );
        assert_eq!(r.json()["error"]["code"], "not_found", "{path}");
        let missing = path.replace(ac.as_str(), &uuid::Uuid::now_v7().to_string());
        let r = p.get(&b.token, &missing).await;
        assert_eq!(r.status, 404, "{missing}");
    }
    let list = p.get(&b.token, "/api/v1/campaigns").await;
    assert_eq!(list.status, 200);
    let list = String::from_utf8_lossy(&list.body);
    for c in &a.campaigns {
        assert!(!list.contains(c.as_str()), "B lists A's campaign {c}");
    }
}

/// B's ingest key records nothing for A's campaign, alone or in a batch,
/// while B's own events in the batch go in.
async fn b_s_key_records_nothing_for_a(
    p: &Platform,
    rng: &mut fastrand::Rng,
    (a, b): (&Tenant, &Tenant),
    day: NaiveDate,
    reference: &mut Reference,
) {
    let ac = &a.campaigns[0];
    // B's ingest key cannot record events for A's campaign: 422
    // unknown_campaign, the same answer as for a campaign that does not
    // exist; in a batch, B's own events still go in.
    let intruder = event(rng, ac, day, 30);
    let r = p
        .ingest(
            &b.key,
            "/v1/events",
            "application/json",
            intruder.to_string(),
        )
        .await;
    assert_eq!(r.status, 422, "{}", String::from_utf8_lossy(&r.body));
    let v = r.json();
    assert_eq!(v["error"]["code"], "unknown_campaign", "{v}");
    assert_eq!(v["error"]["errors"][0]["field"], "campaign_id", "{v}");
    let nowhere = event(rng, &uuid::Uuid::now_v7().to_string(), day, 30);
    let r = p
        .ingest(
            &b.key,
            "/v1/events",
            "application/json",
            nowhere.to_string(),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.json()["error"]["code"], "unknown_campaign");

    let r = p
        .ingest(
            &b.key,
            "/v1/events/batch",
            "application/json",
            json!([intruder]).to_string(),
        )
        .await;
    assert_eq!(r.status, 422, "{}", String::from_utf8_lossy(&r.body));
    let v = r.json();
    assert_eq!(
        (v["accepted"].as_u64(), v["rejected"].as_u64()),
        (Some(0), Some(1))
    );
    assert_eq!(v["results"][0]["code"], "unknown_campaign", "{v}");

    let own = event(rng, &b.campaigns[0], day, 30);
    let r = p
        .ingest(
            &b.key,
            "/v1/events/batch",
            "application/json",
            json!([own, intruder]).to_string(),
        )
        .await;
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    let v = r.json();
    assert_eq!(
        (v["accepted"].as_u64(), v["rejected"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(v["results"][0]["status"], "accepted", "{v}");
    assert_eq!(v["results"][1]["code"], "unknown_campaign", "{v}");
    reference.add([&own]);
}

async fn bad_input_gets_a_specific_4xx(p: &Platform) {
    let mut rng = fastrand::Rng::with_seed(13);
    let t = p.tenant("Tenant", 1).await;
    let c = &t.campaigns[0];
    let (_, day) = days();
    let good = event(&mut rng, c, day, 30);

    refusals::gateway_refuses_bad_requests(p, &t, &good).await;
    refusals::api_refuses_bad_credentials(p, &t).await;
    refusals::api_refuses_bad_queries(p, &t).await;

    // None of it counted; the good event does, once.
    post_one(p, &t, &good).await;
    let mut reference = Reference::default();
    reference.add([&good]);
    check_campaigns(p, &t, &reference).await;
}
