//! Budgets end to end through the built binary, in both ways of running
//! it: an ad server asks the gateway before each impression and sends
//! the impression it served; once the campaign's spend reaches its
//! budget, decisions answer `allow: false, reason: "budget_exhausted"`,
//! the campaign shows why, and a rule asking for `budget_exhausted`
//! notifies. The overspend (what was served between the crossing and the
//! stop) is measured and printed.

#[macro_use]
mod common;

use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};
use common::platform::{Platform, Tenant};
use common::receiver::Receiver;
use serde_json::{Value, json};

in_both_modes!(
    a_spent_budget_stops_decisions_and_notifies,
    a_daily_cap_stops_until_the_campaign_s_local_midnight,
);

/// Cost of one impression, micros.
const COST: i64 = 1_000;
/// Decisions (and impressions) per second the ad server makes.
const RATE: u64 = 20;

async fn call(
    p: &Platform,
    t: &Tenant,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &Value,
) -> Value {
    let auth = format!("Bearer {}", t.token);
    let mut all = vec![
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];
    all.extend_from_slice(headers);
    let r = p.api.send(method, path, &all, body.to_string()).await;
    assert!(
        (200..300).contains(&r.status),
        "{method} {path}: {} {}",
        r.status,
        String::from_utf8_lossy(&r.body)
    );
    r.json()
}

/// Sets the campaign's budget (in EUR micros).
async fn budget(p: &Platform, t: &Tenant, campaign: &str, budget: Value) {
    let path = format!("/api/v1/campaigns/{campaign}");
    let patch = json!({"budget": budget});
    call(
        p,
        t,
        "PATCH",
        &path,
        &[
            ("if-match", "*"),
            ("content-type", "application/merge-patch+json"),
        ],
        &patch,
    )
    .await;
}

/// One capping decision for `campaign`.
async fn decide(p: &Platform, t: &Tenant, campaign: &str, n: u64) -> Value {
    let body = json!({"campaign_id": campaign, "user": {"device_id": format!("d-{n}")}});
    let auth = format!("Bearer {}", t.key);
    let r = p
        .gateway
        .send(
            "POST",
            "/v1/frequency/decide",
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
            body.to_string(),
        )
        .await;
    assert_eq!(
        r.status,
        200,
        "decide: {}",
        String::from_utf8_lossy(&r.body)
    );
    r.json()
}

async fn impression(p: &Platform, t: &Tenant, campaign: &str, n: u64) {
    let e = json!({
        "event_id": uuid::Uuid::now_v7().to_string(),
        "type": "impression",
        "campaign_id": campaign,
        "ad_id": "creative-1",
        "channel": "display",
        "occurred_at": Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        "user": {"device_id": format!("d-{n}")},
        "cost_micros": COST,
    });
    let r = p
        .ingest(&t.key, "/v1/events", "application/json", e.to_string())
        .await;
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
}

/// Serves impressions at [`RATE`] while decisions allow them; the number
/// served, and how long after the first refusal's crossing.
async fn serve_until_stopped(p: &Platform, t: &Tenant, campaign: &str, limit: u64) -> (u64, Value) {
    let started = Instant::now();
    for n in 0..limit {
        let d = decide(p, t, campaign, n).await;
        if d["allow"] == false {
            assert_eq!(d["reason"], "budget_exhausted", "{d}");
            return (n, d);
        }
        impression(p, t, campaign, n).await;
        let next = started + Duration::from_millis(1_000 * (n + 1) / RATE);
        tokio::time::sleep_until(next.into()).await;
    }
    panic!("decisions still allowed after {limit} impressions");
}

async fn a_spent_budget_stops_decisions_and_notifies(p: &Platform) {
    let rx = Receiver::start().await;
    let t = p.tenant("budget", 1).await;
    let c = &t.campaigns[0];
    let total = 100 * COST;
    budget(p, &t, c, json!({"total_micros": total, "currency": "EUR"})).await;
    let hook = call(
        p,
        &t,
        "POST",
        "/api/v1/alert-channels",
        &[],
        &json!({"name": "ops", "kind": "webhook", "target": format!("{}/budget", rx.url)}),
    )
    .await;
    let rule = json!({"name": "spent", "campaign_id": c, "condition": {"budget_exhausted": "total"}, "channel_ids": [hook["id"]]});
    call(p, &t, "POST", "/api/v1/alert-rules", &[], &rule).await;

    let (served, refusal) = serve_until_stopped(p, &t, c, 1_000).await;
    let spent = i64::try_from(served).expect("count") * COST;
    let over = spent - total;
    eprintln!(
        "budget {total} micros at {RATE} impressions/s of {COST}: served {served}, spent {spent}, overspend {over} micros ({:.1}% of the budget, {:.2} s of traffic)",
        100.0 * over as f64 / total as f64,
        over as f64 / (COST as f64 * RATE as f64),
    );
    assert!(
        spent >= total,
        "stopped before the budget was spent ({spent} < {total})"
    );
    // Bounded: the stop reaches decisions within a few seconds of traffic.
    assert!(over <= 5 * RATE as i64 * COST, "overspend {over} micros");
    assert_eq!(refusal["allow"], false);

    // The campaign says why; the rule notified once.
    let campaign = call(
        p,
        &t,
        "GET",
        &format!("/api/v1/campaigns/{c}"),
        &[],
        &json!(null),
    )
    .await;
    assert_eq!(campaign["budget_stop"]["stop"], "total", "{campaign}");
    assert!(campaign["budget_stop"]["until"].is_null());
    let got = rx.wait("/budget", 1, Duration::from_secs(30)).await;
    assert_eq!(got[0].json()["data"]["rule"]["name"], "spent");
    // Still stopped a moment later: a stop does not flap.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(decide(p, &t, c, 9_999).await["reason"], "budget_exhausted");
    assert_eq!(rx.at("/budget").len(), 1);
}

async fn a_daily_cap_stops_until_the_campaign_s_local_midnight(p: &Platform) {
    let t = p.tenant("daily", 1).await;
    let c = &t.campaigns[0];
    let path = format!("/api/v1/campaigns/{c}");
    let zone = "Asia/Kolkata";
    let patch = json!({"budget": {"total_micros": 1_000 * COST, "currency": "EUR", "daily_cap_micros": 20 * COST}, "schedule": {"timezone": zone}});
    call(
        p,
        &t,
        "PATCH",
        &path,
        &[
            ("if-match", "*"),
            ("content-type", "application/merge-patch+json"),
        ],
        &patch,
    )
    .await;
    let (served, _) = serve_until_stopped(p, &t, c, 1_000).await;
    assert!(served >= 20, "served {served}");
    let campaign = call(p, &t, "GET", &path, &[], &json!(null)).await;
    let stop = &campaign["budget_stop"];
    assert_eq!(stop["stop"], "daily", "{campaign}");
    // It lifts at the next midnight in Kolkata (UTC+5:30, no DST).
    let tz: chrono_tz::Tz = zone.parse().expect("zone");
    let want = adpulse_domain::budget::next_local_midnight(tz, Utc::now());
    let until: chrono::DateTime<Utc> = stop["until"]
        .as_str()
        .expect("until")
        .parse()
        .expect("time");
    assert_eq!(until, want);
}
