//! Every metric, operator and group of alert rules, from events sent
//! through the gateway, in both ways of running adpulse: one campaign,
//! thirty rules, a known set of events, and each rule must end up firing
//! exactly when its condition holds on the final totals (a rule may fire
//! and resolve on the way: the events can arrive in more than one
//! window result). Then `for` (a rule fires only once its condition has
//! held that long) and the cooldown (a flapping rule is recorded every
//! time but notified once).

#[macro_use]
mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use common::platform::{Platform, Tenant};
use common::receiver::Receiver;
use serde_json::{Value, json};

in_both_modes!(
    each_metric_operator_and_group_fires_where_it_holds,
    for_durations_and_cooldowns_hold,
);

const SETTLE: Duration = Duration::from_secs(45);

async fn api(p: &Platform, t: &Tenant, method: &str, path: &str, body: &Value) -> Value {
    let auth = format!("Bearer {}", t.token);
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
        ("if-match", "*"),
    ];
    let r = p.api.send(method, path, &headers, body.to_string()).await;
    assert!(
        (200..300).contains(&r.status),
        "{method} {path}: {}",
        String::from_utf8_lossy(&r.body)
    );
    r.json()
}

/// `n` events of `kind` now, each costing `cost` and earning `revenue`.
async fn send(p: &Platform, t: &Tenant, c: &str, kind: &str, n: usize, cost: i64, revenue: i64) {
    let now = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
    let events: Vec<Value> = (0..n)
        .map(|_| {
            json!({"event_id": uuid::Uuid::now_v7().to_string(), "type": kind, "campaign_id": c, "ad_id": "a",
                   "channel": "display", "occurred_at": now, "user": {"device_id": "d-1"},
                   "cost_micros": cost, "revenue_micros": revenue})
        })
        .collect();
    let body = serde_json::to_string(&events).expect("json");
    let r = p
        .ingest(&t.key, "/v1/events/batch", "application/json", body)
        .await;
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
}

fn cmp(metric: &str, over: &str, op: &str, value: f64) -> Value {
    json!({"metric": metric, "over": over, "op": op, "value": value})
}

/// The rules and whether each holds on the final totals: 10 impressions
/// (1,000 each), 2 clicks (500 each), 1 conversion (earning 50,000):
/// spend 11,000, CTR 20%, CPC 5,500, CPM 1,100,000, CPA 11,000, ROAS
/// 50/11, budget used 11% of 100,000 (lifetime), 22% of 50,000 (today).
fn matrix() -> Vec<(&'static str, Value, bool)> {
    vec![
        ("spend >", cmp("spend", "lifetime", ">", 10_999.0), true),
        ("spend <", cmp("spend", "today", "<", 11_000.0), false),
        (
            "impressions >=",
            cmp("impressions", "lifetime", ">=", 10.0),
            true,
        ),
        (
            "impressions > today",
            cmp("impressions", "today", ">", 10.0),
            false,
        ),
        (
            "impressions last 5m",
            cmp("impressions", "last_5m", ">=", 10.0),
            true,
        ),
        (
            "impressions last 1m <",
            cmp("impressions", "last_1m", "<", 1.0),
            false,
        ),
        ("clicks ==", cmp("clicks", "lifetime", "==", 2.0), true),
        ("clicks !=", cmp("clicks", "lifetime", "!=", 2.0), false),
        (
            "conversions >=",
            cmp("conversions", "today", ">=", 1.0),
            true,
        ),
        (
            "conversions >",
            cmp("conversions", "lifetime", ">", 1.0),
            false,
        ),
        ("ctr >", cmp("ctr", "lifetime", ">", 19.9), true),
        ("ctr <", cmp("ctr", "lifetime", "<", 20.0), false),
        ("cpc >=", cmp("cpc", "lifetime", ">=", 5_500.0), true),
        ("cpc >", cmp("cpc", "today", ">", 5_500.0), false),
        ("cpm >", cmp("cpm", "lifetime", ">", 1_000_000.0), true),
        ("cpm <", cmp("cpm", "lifetime", "<", 1_000_000.0), false),
        ("cpa <=", cmp("cpa", "lifetime", "<=", 11_000.0), true),
        ("cpa <", cmp("cpa", "lifetime", "<", 11_000.0), false),
        ("roas >", cmp("roas", "lifetime", ">", 4.5), true),
        ("roas >=", cmp("roas", "lifetime", ">=", 5.0), false),
        (
            "budget used lifetime",
            cmp("budget_used_pct", "lifetime", ">=", 11.0),
            true,
        ),
        (
            "budget used today",
            cmp("budget_used_pct", "today", ">", 22.0),
            false,
        ),
    ]
}

/// Budget and group rules, as [`matrix`] (the same final totals).
fn groups() -> Vec<(&'static str, Value, bool)> {
    vec![
        (
            "budget exhausted",
            json!({"budget_exhausted": "either"}),
            false,
        ),
        (
            "all true",
            json!({"all": [cmp("clicks", "lifetime", ">=", 2.0), cmp("conversions", "lifetime", ">=", 1.0)]}),
            true,
        ),
        (
            "all mixed",
            json!({"all": [cmp("clicks", "lifetime", ">=", 2.0), cmp("conversions", "lifetime", ">=", 2.0)]}),
            false,
        ),
        (
            "any mixed",
            json!({"any": [cmp("clicks", "lifetime", ">=", 5.0), cmp("impressions", "lifetime", ">=", 10.0)]}),
            true,
        ),
        (
            "any false",
            json!({"any": [cmp("clicks", "lifetime", ">=", 5.0), cmp("conversions", "lifetime", ">=", 2.0)]}),
            false,
        ),
        (
            "nested",
            json!({"all": [cmp("ctr", "today", ">", 10.0), {"any": [cmp("roas", "lifetime", "<", 1.0), cmp("cpa", "today", "<", 20_000.0)]}]}),
            true,
        ),
    ]
}

/// The latest firing kind of each rule (`None`: never fired).
async fn latest(
    p: &Platform,
    t: &Tenant,
    rules: &BTreeMap<String, (&str, bool)>,
) -> BTreeMap<String, Option<String>> {
    let mut out = BTreeMap::new();
    for (id, (name, _)) in rules {
        let page = p
            .get(
                &t.token,
                &format!("/api/v1/alert-rules/{id}/firings?limit=1"),
            )
            .await
            .json();
        out.insert(
            (*name).to_owned(),
            page["data"][0]["kind"].as_str().map(str::to_owned),
        );
    }
    out
}

async fn each_metric_operator_and_group_fires_where_it_holds(p: &Platform) {
    let t = p.tenant("matrix", 1).await;
    let c = &t.campaigns[0];
    let budget =
        json!({"budget": {"total_micros": 100_000, "currency": "EUR", "daily_cap_micros": 50_000}});
    api(p, &t, "PATCH", &format!("/api/v1/campaigns/{c}"), &budget).await;
    let mut rules = BTreeMap::new();
    for (name, condition, holds) in matrix().into_iter().chain(groups()) {
        let body =
            json!({"name": name, "campaign_id": c, "condition": condition, "cooldown_secs": 0});
        let id = api(p, &t, "POST", "/api/v1/alert-rules", &body).await["id"]
            .as_str()
            .expect("id")
            .to_owned();
        rules.insert(id, (name, holds));
    }
    send(p, &t, c, "impression", 10, 1_000, 0).await;
    send(p, &t, c, "click", 2, 500, 0).await;
    send(p, &t, c, "conversion", 1, 0, 50_000).await;

    let want: BTreeMap<String, Option<String>> = rules
        .values()
        .map(|(name, holds)| ((*name).to_owned(), holds.then(|| "fired".to_owned())))
        .collect();
    // A rule that held on the way and resolved ends "resolved"; the
    // comparison treats that like never fired.
    let settled = |m: BTreeMap<String, Option<String>>| -> BTreeMap<String, Option<String>> {
        m.into_iter()
            .map(|(k, v)| (k, v.filter(|v| v == "fired")))
            .collect()
    };
    let deadline = std::time::Instant::now() + SETTLE;
    loop {
        let have = settled(latest(p, &t, &rules).await);
        if have == want || std::time::Instant::now() > deadline {
            assert_eq!(have, want, "each rule fires exactly where it holds");
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn for_durations_and_cooldowns_hold(p: &Platform) {
    let rx = Receiver::start().await;
    let t = p.tenant("timing", 2).await;
    let (a, b) = (&t.campaigns[0], &t.campaigns[1]);
    let hook = json!({"name": "h", "kind": "webhook", "target": format!("{}/t", rx.url)});
    let hook = api(p, &t, "POST", "/api/v1/alert-channels", &hook).await["id"].clone();
    // Fires only once clicks >= 1 has held for 3 s.
    let held = json!({"name": "held", "campaign_id": a, "for_secs": 3, "cooldown_secs": 0, "channel_ids": [hook],
                      "condition": cmp("clicks", "lifetime", ">=", 1.0)});
    api(p, &t, "POST", "/api/v1/alert-rules", &held).await;
    // CTR above 40% flaps as clicks and impressions alternate; a cooldown
    // of an hour lets only the first firing notify.
    let flap = json!({"name": "flap", "campaign_id": b, "cooldown_secs": 3600, "channel_ids": [hook],
                      "condition": cmp("ctr", "lifetime", ">", 40.0)});
    let flap = api(p, &t, "POST", "/api/v1/alert-rules", &flap).await["id"]
        .as_str()
        .expect("id")
        .to_owned();

    let sent = std::time::Instant::now();
    send(p, &t, a, "click", 1, 0, 0).await;
    // 1 impression + 1 click: 100% → fires; +2 impressions: 33% →
    // resolves; +1 click: 50% → fires again (in the cooldown).
    for (kind, n) in [
        ("impression", 1),
        ("click", 1),
        ("impression", 2),
        ("click", 1),
    ] {
        send(p, &t, b, kind, n, 0, 0).await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    let got = rx.wait("/t", 2, SETTLE).await;
    let held_at = got
        .iter()
        .find(|r| r.json()["data"]["rule"]["name"] == "held")
        .map(|r| r.at)
        .expect("the held rule notified");
    assert!(
        held_at - sent >= Duration::from_secs(3),
        "fired after {:?}, before its 3 s",
        held_at - sent
    );

    let deadline = std::time::Instant::now() + SETTLE;
    let kinds = loop {
        let page = p
            .get(&t.token, &format!("/api/v1/alert-rules/{flap}/firings"))
            .await
            .json();
        let kinds: Vec<(String, bool)> = page["data"]
            .as_array()
            .expect("data")
            .iter()
            .rev()
            .map(|f| {
                (
                    f["kind"].as_str().unwrap_or("").to_owned(),
                    f["notified"] == true,
                )
            })
            .collect();
        if kinds.len() >= 3 || std::time::Instant::now() > deadline {
            break kinds;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let want =
        [("fired", true), ("resolved", true), ("fired", false)].map(|(k, n)| (k.to_owned(), n));
    assert_eq!(kinds, want, "the flapping rule's history");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let flaps: Vec<_> = rx
        .at("/t")
        .into_iter()
        .filter(|r| r.json()["data"]["rule"]["name"] == "flap")
        .collect();
    let types: Vec<_> = flaps
        .iter()
        .map(|r| r.json()["type"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(
        types,
        ["alert.fired", "alert.resolved"],
        "notified once, then its resolution; the refiring is silent"
    );
}
