//! Alerting end to end through the built binary, in both ways of running
//! it (`adpulse up`; gateway, worker, API and alerter on the local stack):
//! rules written over the API, events sent through the gateway, window
//! results evaluated by the alerter, notifications received by a real
//! HTTP receiver on loopback that checks their signatures on its own.
//!
//! - a comparison, an AND and an OR group fire once their conditions
//!   hold, with signed webhooks and a Slack-shaped message, and a rule
//!   resolves when its condition stops holding;
//! - a receiver answering 500 is retried on schedule until the delivery
//!   is a dead letter, while a healthy one is served at once; the dead
//!   letter is listed, replayed, and then received once, with the same
//!   id;
//! - a receiver that hangs opens its circuit breaker (deliveries to it
//!   wait, uncounted) while another channel of the same rules is served
//!   at once; once it answers again the breaker closes and everything
//!   held is delivered.

#[macro_use]
mod common;

use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use common::platform::{Platform, Tenant};
use common::receiver::Receiver;
use serde_json::{Value, json};

in_both_modes!(
    rules_fire_with_signed_notifications_and_resolve,
    failing_receivers_are_retried_dead_lettered_and_replayed,
    a_hanging_receiver_opens_its_breaker_and_delays_no_other,
);

/// How long a notification may take once its event was acknowledged.
const NOTIFIED: Duration = Duration::from_secs(30);

/// What `read` gives once it gives something, within `within`.
async fn eventually<T, F, Fut>(what: &str, within: Duration, mut read: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + within;
    loop {
        if let Some(v) = read().await {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: not within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `n` events of `kind` for `campaign`, now, each costing `cost`.
fn events(campaign: &str, kind: &str, n: usize, cost: i64) -> String {
    let now = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
    let all: Vec<Value> = (0..n)
        .map(|_| {
            json!({
                "event_id": uuid::Uuid::now_v7().to_string(),
                "type": kind,
                "campaign_id": campaign,
                "ad_id": "creative-1",
                "channel": "display",
                "occurred_at": now,
                "user": {"device_id": "d-1"},
                "cost_micros": cost,
            })
        })
        .collect();
    serde_json::to_string(&all).expect("json")
}

async fn send(p: &Platform, t: &Tenant, campaign: &str, kind: &str, n: usize) {
    let r = p
        .ingest(
            &t.key,
            "/v1/events/batch",
            "application/json",
            events(campaign, kind, n, 1_000),
        )
        .await;
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
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
        "POST {path}: {} {}",
        r.status,
        String::from_utf8_lossy(&r.body)
    );
    r.json()
}

/// A channel of `kind` to `path` on `rx`; its id and secret (webhooks).
async fn channel(
    p: &Platform,
    t: &Tenant,
    rx: &Receiver,
    kind: &str,
    path: &str,
) -> (String, String) {
    let body = json!({"name": path, "kind": kind, "target": format!("{}{path}", rx.url)});
    let c = post(p, t, "/api/v1/alert-channels", &body).await;
    let secret = c["secret"].as_str().unwrap_or_default().to_owned();
    (c["id"].as_str().expect("id").to_owned(), secret)
}

async fn rule(
    p: &Platform,
    t: &Tenant,
    campaign: &str,
    name: &str,
    condition: Value,
    channels: &[&str],
) -> String {
    let body = json!({
        "name": name,
        "campaign_id": campaign,
        "condition": condition,
        "cooldown_secs": 0,
        "channel_ids": channels,
        "message_template": "{{ rule.name }} {{ state }} on {{ campaign.name }}",
    });
    post(p, t, "/api/v1/alert-rules", &body).await["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

async fn rules_fire_with_signed_notifications_and_resolve(p: &Platform) {
    let rx = Receiver::start().await;
    let t = p.tenant("alerts", 1).await;
    let c = &t.campaigns[0];
    let (hook, secret) = channel(p, &t, &rx, "webhook", "/hook").await;
    let (slack, _) = channel(p, &t, &rx, "slack", "/slack").await;
    let clicks = json!({"metric": "clicks", "over": "lifetime", "op": ">=", "value": 3});
    let both =
        json!({"all": [clicks, {"metric": "spend", "over": "today", "op": ">", "value": 2_000}]});
    let ctr = json!({"any": [{"metric": "ctr", "over": "today", "op": ">", "value": 50}, {"budget_exhausted": "total"}]});
    rule(p, &t, c, "three clicks", clicks, &[&hook, &slack]).await;
    rule(p, &t, c, "clicks and spend", both, &[&hook]).await;
    let ctr_rule = rule(p, &t, c, "ctr high", ctr, &[&hook]).await;

    // Two clicks: nothing holds yet but the CTR (no impressions: undefined,
    // so false).
    send(p, &t, c, "click", 2).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(rx.at("/hook").is_empty(), "nothing fired yet");
    // A third click and one impression: all three fire.
    send(p, &t, c, "click", 1).await;
    send(p, &t, c, "impression", 1).await;
    let got = rx.wait("/hook", 3, NOTIFIED).await;
    for r in &got {
        assert!(r.signed_by(&secret), "signed: {:?}", r.headers);
        assert_eq!(r.json()["type"], "alert.fired");
        assert_eq!(r.header("content-type"), "application/json");
    }
    let mut names: Vec<String> = got
        .iter()
        .map(|r| {
            r.json()["data"]["rule"]["name"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    names.sort();
    assert_eq!(names, ["clicks and spend", "ctr high", "three clicks"]);
    let slack = rx.wait("/slack", 1, NOTIFIED).await;
    assert_eq!(
        slack[0].json()["text"]
            .as_str()
            .unwrap_or("")
            .split(" on ")
            .next(),
        Some("three clicks firing")
    );

    // The webhook's secret is rotated; nine more impressions: CTR 30%,
    // the CTR rule resolves, signed by both the new and the old secret
    // (the receiver may not have switched yet).
    let rotated = post(
        p,
        &t,
        &format!("/api/v1/alert-channels/{hook}/rotate-secret"),
        &json!({}),
    )
    .await;
    let new_secret = rotated["secret"].as_str().expect("new secret").to_owned();
    send(p, &t, c, "impression", 9).await;
    let got = rx.wait("/hook", 4, NOTIFIED).await;
    assert!(
        got[3].signed_by(&new_secret) && got[3].signed_by(&secret),
        "both secrets sign during the overlap"
    );
    let resolved = got[3].json();
    assert_eq!(
        (
            resolved["type"].as_str(),
            resolved["data"]["rule"]["name"].as_str()
        ),
        (Some("alert.resolved"), Some("ctr high"))
    );
    the_log_says_the_same(p, &t, &ctr_rule, &got).await;
}

async fn failing_receivers_are_retried_dead_lettered_and_replayed(p: &Platform) {
    let rx = Receiver::start().await;
    rx.answer("/down", 500);
    let t = p.tenant("retries", 1).await;
    let c = &t.campaigns[0];
    let (down, _) = channel(p, &t, &rx, "webhook", "/down").await;
    let (up, _) = channel(p, &t, &rx, "webhook", "/up").await;
    let condition = json!({"metric": "impressions", "over": "lifetime", "op": ">=", "value": 1});
    let rule_id = rule(p, &t, c, "first impression", condition, &[&down, &up]).await;
    send(p, &t, c, "impression", 1).await;

    // The healthy receiver is served at once, the failing one four times
    // (the platform's max_attempts), each retry later than the one before.
    let good = rx.wait("/up", 1, NOTIFIED).await;
    let bad = rx.wait("/down", 4, NOTIFIED).await;
    assert!(
        good[0].at < bad[1].at,
        "the healthy receiver did not wait for the failing one's retries"
    );
    let gaps: Vec<_> = bad.windows(2).map(|w| w[1].at - w[0].at).collect();
    assert!(
        gaps.iter().all(|g| *g >= Duration::from_millis(100)),
        "backoff: {gaps:?}"
    );
    let id = bad[0].header("webhook-id").to_owned();
    assert!(
        bad.iter().all(|r| r.header("webhook-id") == id),
        "one idempotency key for every attempt"
    );

    // Dead-lettered, with every attempt logged.
    let dead = eventually("a dead letter", NOTIFIED, || async {
        let page = p
            .get(
                &t.token,
                &format!("/api/v1/alert-deliveries?status=dead&rule_id={rule_id}"),
            )
            .await
            .json();
        let rows = page["data"].as_array().cloned().unwrap_or_default();
        (rows.len() == 1).then(|| rows[0].clone())
    })
    .await;
    assert_eq!(
        (dead["id"].as_str(), &dead["attempts"]),
        (Some(id.as_str()), &json!(4))
    );
    let detail = p
        .get(&t.token, &format!("/api/v1/alert-deliveries/{id}"))
        .await
        .json();
    let codes: Vec<_> = detail["attempt_log"]
        .as_array()
        .expect("log")
        .iter()
        .map(|a| a["status_code"].clone())
        .collect();
    assert_eq!(codes, [json!(500), json!(500), json!(500), json!(500)]);

    // The receiver recovers; a replay delivers it once more, same id.
    rx.answer("/down", 204);
    let replayed = post(
        p,
        &t,
        &format!("/api/v1/alert-deliveries/{id}/replay"),
        &json!({}),
    )
    .await;
    assert_eq!(replayed["status"], "pending");
    let bad = rx.wait("/down", 5, NOTIFIED).await;
    assert_eq!(bad[4].header("webhook-id"), id);
    eventually("sent after the replay", NOTIFIED, || async {
        let d = p
            .get(&t.token, &format!("/api/v1/alert-deliveries/{id}"))
            .await
            .json();
        (d["status"] == "sent").then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(rx.at("/down").len(), 5, "delivered once after the replay");
    assert_eq!(rx.at("/up").len(), 1);
}

/// The rule's history and delivery log agree with what was received.
async fn the_log_says_the_same(
    p: &Platform,
    t: &Tenant,
    ctr_rule: &str,
    got: &[common::receiver::Received],
) {
    let firings = p
        .get(&t.token, &format!("/api/v1/alert-rules/{ctr_rule}/firings"))
        .await
        .json();
    let kinds: Vec<_> = firings["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|f| f["kind"].clone())
        .collect();
    assert_eq!(kinds, [json!("resolved"), json!("fired")]);
    let log = p
        .get(
            &t.token,
            &format!("/api/v1/alert-deliveries?rule_id={ctr_rule}"),
        )
        .await
        .json();
    let sent: Vec<_> = log["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|d| (d["status"].clone(), d["attempts"].clone()))
        .collect();
    let ok = (json!("sent"), json!(1));
    assert_eq!(sent, [ok.clone(), ok]);
    // Each delivery's id is the webhook-id the receiver saw.
    let ids: Vec<_> = got
        .iter()
        .map(|r| r.header("webhook-id").to_owned())
        .collect();
    assert!(
        log["data"]
            .as_array()
            .expect("data")
            .iter()
            .all(|d| ids.contains(&d["id"].as_str().unwrap_or("").to_owned()))
    );
}

/// A metric's value on the alerter's `/metrics` (0 when absent).
async fn metric(p: &Platform, name: &str) -> f64 {
    let body = p.alerter.send("GET", "/metrics", &[], "").await.body;
    String::from_utf8_lossy(&body)
        .lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn a_hanging_receiver_opens_its_breaker_and_delays_no_other(p: &Platform) {
    let rx = Receiver::start().await;
    // Longer than the platform's request time limit (1.5 s).
    rx.hang("/slow", Some(Duration::from_secs(5)));
    let t = p.tenant("breaker", 4).await;
    let (slow, _) = channel(p, &t, &rx, "webhook", "/slow").await;
    let (fast, _) = channel(p, &t, &rx, "webhook", "/fast").await;
    let opened_before = metric(p, "adpulse_alerter_breaker_opened_total").await;
    let condition = json!({"metric": "impressions", "over": "lifetime", "op": ">=", "value": 1});
    for c in &t.campaigns {
        rule(p, &t, c, "first", condition.clone(), &[&slow, &fast]).await;
    }
    let sent = std::time::Instant::now();
    for c in &t.campaigns {
        send(p, &t, c, "impression", 1).await;
    }
    // The healthy channel is not held up by the hanging one.
    let fast_got = rx.wait("/fast", 4, NOTIFIED).await;
    let slowest = fast_got.iter().map(|r| r.at - sent).max().expect("some");
    assert!(
        slowest < Duration::from_secs(10),
        "the healthy receiver waited {slowest:?}"
    );
    // Three timeouts in a row (the platform's breaker_failures) open it.
    eventually("the breaker to open", NOTIFIED, || async {
        (metric(p, "adpulse_alerter_breaker_opened_total").await > opened_before).then_some(())
    })
    .await;
    // The receiver recovers: the breaker lets a trial through, closes,
    // and every notification arrives (each id at least once).
    rx.hang("/slow", None);
    eventually(
        "every held delivery sent",
        Duration::from_secs(60),
        || async {
            let page = p
                .get(&t.token, "/api/v1/alert-deliveries?status=sent&limit=200")
                .await
                .json();
            let sent = page["data"].as_array().map_or(0, Vec::len);
            (sent == 8).then_some(())
        },
    )
    .await;
    let ids: std::collections::BTreeSet<_> = rx
        .at("/slow")
        .iter()
        .map(|r| r.header("webhook-id").to_owned())
        .collect();
    assert_eq!(
        ids.len(),
        4,
        "every notification reached the recovered receiver"
    );
}
