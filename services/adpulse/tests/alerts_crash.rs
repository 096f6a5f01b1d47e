//! The alerter killed (SIGKILL) twice while events flow, in both ways of
//! running it: every rule that should fire notifies, and no rule is
//! notified twice within its cooldown. A delivery that was sent but not
//! recorded before a kill may be sent again, but with the same
//! `webhook-id` (what receivers deduplicate on): distinct notifications
//! are counted by id.

#[macro_use]
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};
use common::platform::{Platform, Tenant};
use common::receiver::Receiver;
use serde_json::{Value, json};

/// Campaigns, each with a rule firing at its own threshold.
const CAMPAIGNS: usize = 12;
/// Rounds of one impression per campaign.
const ROUNDS: usize = 40;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_no_notification_is_lost_or_repeated_across_kills() {
    let mut p = Platform::embedded().await;
    killed_twice_under_load(&mut p).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_no_notification_is_lost_or_repeated_across_kills() {
    let mut p = Platform::distributed().await;
    killed_twice_under_load(&mut p).await;
}

async fn post(p: &Platform, t: &Tenant, path: &str, body: &Value) -> Value {
    let auth = format!("Bearer {}", t.token);
    let r = p
        .api
        .send(
            "POST",
            path,
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
            body.to_string(),
        )
        .await;
    assert!(
        (200..300).contains(&r.status),
        "POST {path}: {}",
        String::from_utf8_lossy(&r.body)
    );
    r.json()
}

/// One impression for every campaign; retried while the platform
/// restarts (an embedded crash takes the gateway down too).
async fn round(p: &Platform, t: &Tenant) {
    let now = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
    let events: Vec<Value> = t
        .campaigns
        .iter()
        .map(|c| {
            json!({"event_id": uuid::Uuid::now_v7().to_string(), "type": "impression", "campaign_id": c,
                   "ad_id": "a", "channel": "display", "occurred_at": now, "user": {"device_id": "d"}, "cost_micros": 10})
        })
        .collect();
    let body = serde_json::to_string(&events).expect("json");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let auth = format!("Bearer {}", t.key);
        let headers = [
            ("authorization", auth.as_str()),
            ("content-type", "application/json"),
        ];
        match p
            .gateway
            .try_send("POST", "/v1/events/batch", &headers, body.clone())
            .await
        {
            Ok(r) if r.status == 202 => return,
            other => assert!(
                Instant::now() < deadline,
                "the gateway did not take a round: {:?}",
                other.map(|r| r.status)
            ),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn killed_twice_under_load(p: &mut Platform) {
    let rx = Receiver::start().await;
    let t = p.tenant("crash", CAMPAIGNS).await;
    let hook = post(
        p,
        &t,
        "/api/v1/alert-channels",
        &json!({"name": "h", "kind": "webhook", "target": format!("{}/h", rx.url)}),
    )
    .await;
    let mut rules = BTreeMap::new();
    for (i, c) in t.campaigns.iter().enumerate() {
        // Thresholds spread over the rounds, so firings happen before,
        // between and after the kills.
        let at = 1 + i * ROUNDS / CAMPAIGNS;
        let body = json!({"name": format!("r{i}"), "campaign_id": c, "cooldown_secs": 3600, "channel_ids": [hook["id"]],
                          "condition": {"metric": "impressions", "over": "lifetime", "op": ">=", "value": at}});
        rules.insert(
            post(p, &t, "/api/v1/alert-rules", &body).await["id"]
                .as_str()
                .expect("id")
                .to_owned(),
            i,
        );
    }
    for r in 0..ROUNDS {
        round(p, &t).await;
        if r == ROUNDS / 3 || r == 2 * ROUNDS / 3 {
            p.crash_alerter().await;
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let got = rx.wait("/h", CAMPAIGNS, Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let got = if rx.at("/h").len() > got.len() {
        rx.at("/h")
    } else {
        got
    };
    // Distinct notifications (by webhook-id) per rule.
    let mut by_rule: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in &got {
        let rule = r.json()["data"]["rule"]["id"]
            .as_str()
            .expect("rule")
            .to_owned();
        by_rule
            .entry(rule)
            .or_default()
            .insert(r.header("webhook-id").to_owned());
    }
    let resent = got.len() - by_rule.values().map(BTreeSet::len).sum::<usize>();
    eprintln!(
        "{} requests, {} notifications, {resent} re-sent with the same id",
        got.len(),
        got.len() - resent
    );
    for (rule, i) in &rules {
        let n = by_rule.get(rule).map_or(0, BTreeSet::len);
        assert_eq!(n, 1, "rule r{i} was notified {n} times (want exactly once)");
    }
}
