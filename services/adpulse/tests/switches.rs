//! Kill switches end to end through the built binary, in both ways of
//! running it: set through the operators' API or `adpulse admin switch`,
//! followed by every replica within 5 s (`ops.switch_poll_ms` is 1 s),
//! cleared the same way, each change in the audit trail.
//!
//! - pausing one tenant's ingestion answers its events 503 with
//!   `Retry-After` on every gateway (two in the distributed shape) while
//!   another tenant's are accepted; after the clear, exactly the events
//!   answered 202 are counted;
//! - a read-only API refuses changes (503 `read_only`) and serves reads
//!   and logins;
//! - capping fail-closed refuses and fail-open allows every decision
//!   (`reason: "kill_switch"`);
//! - pausing the live sink stops the live counters while the events are
//!   still counted; after the clear they catch up, exactly.

mod common;

use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};
use common::http::Http;
use common::platform::{OPS_TOKEN, Platform};
use serde_json::{Value, json};

/// One test per mode for each `async fn(&mut Platform)` named (the
/// pause test starts a second gateway).
macro_rules! in_both_modes_mut {
    ($($test:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let mut p = super::Platform::embedded().await;
                    super::$test(&mut p).await;
                }
            )*
        }
        mod distributed {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let mut p = super::Platform::distributed().await;
                    super::$test(&mut p).await;
                }
            )*
        }
    };
}

in_both_modes_mut!(
    a_paused_tenant_is_refused_on_every_replica_and_nothing_accepted_is_lost,
    a_read_only_api_refuses_changes_and_serves_reads,
    capping_and_the_live_sink_follow_their_switches,
);

/// How long a switch may take to reach a replica.
const WITHIN: Duration = Duration::from_secs(5);

fn event(campaign: &str, n: u64) -> String {
    json!({
        "event_id": uuid::Uuid::now_v7().to_string(),
        "type": "impression",
        "campaign_id": campaign,
        "ad_id": "creative-1",
        "channel": "display",
        "occurred_at": Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        "user": {"device_id": format!("d-{n}")},
        "cost_micros": 1_000,
    })
    .to_string()
}

/// `method path` on the operators' API.
async fn ops(p: &Platform, method: &str, path: &str, body: &Value) -> Value {
    let auth = format!("Bearer {OPS_TOKEN}");
    let r = p
        .api
        .send(
            method,
            path,
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
        "{method} {path}: {}",
        String::from_utf8_lossy(&r.body)
    );
    r.json()
}

/// Sends `campaign` one event through `gateway` with `key`; its status
/// and body.
async fn send(gateway: &Http, key: &str, campaign: &str, n: u64) -> (u16, Value, String) {
    let auth = format!("Bearer {key}");
    let r = gateway
        .send(
            "POST",
            "/v1/events",
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
            event(campaign, n),
        )
        .await;
    let retry = r.header("retry-after").to_owned();
    let body = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    (r.status, body, retry)
}

/// Waits (at most [`WITHIN`]) until `check` holds; how long it took.
async fn within<F, Fut>(what: &str, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    loop {
        if check().await {
            return started.elapsed();
        }
        assert!(started.elapsed() < WITHIN, "{what}: not within {WITHIN:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the live totals of `campaign` show `expected`
/// impressions (never more).
async fn wait_counted(p: &Platform, token: &str, campaign: &str, expected: i64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let live = p.realtime(token, campaign).await[0];
        if live == expected {
            return;
        }
        assert!(
            live < expected && Instant::now() < deadline,
            "counted {live}, accepted {expected}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The audit trail as (action, key, actor), newest first.
async fn audit_lines(p: &Platform) -> Vec<(String, String, String)> {
    let audit = ops(p, "GET", "/api/v1/ops/switches/audit", &Value::Null).await;
    audit["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|l| {
            let f = |k: &str| l[k].as_str().unwrap_or("").to_owned();
            (f("action"), f("key"), f("actor"))
        })
        .collect()
}

/// `g` refuses the paused tenant's event (503 `ingest_paused`, with
/// `Retry-After`) and accepts another tenant's.
async fn assert_refused_beside(g: &Http, (ka, ca): (&str, &str), (kb, cb): (&str, &str)) {
    let (status, body, retry) = send(g, ka, ca, 0).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("ingest_paused")),
        "{body}"
    );
    assert!(
        retry.parse::<u64>().is_ok_and(|s| s >= 1),
        "Retry-After: {retry:?}"
    );
    assert_eq!(
        send(g, kb, cb, 0).await.0,
        202,
        "another tenant is accepted"
    );
}

async fn a_paused_tenant_is_refused_on_every_replica_and_nothing_accepted_is_lost(
    p: &mut Platform,
) {
    let gateways = p.gateways().await;
    let p = &*p;
    let (a, b) = (p.tenant("paused", 1).await, p.tenant("other", 1).await);
    let (ca, cb) = (&a.campaigns[0], &b.campaigns[0]);
    let ka = a.key.as_str();
    let mut accepted = 0;
    let mut n = 0;
    for g in &gateways {
        n += 1;
        assert_eq!(send(g, ka, ca, n).await.0, 202);
        accepted += 1;
    }

    p.admin(
        &[
            "switch",
            "set",
            "pause-ingest",
            "--tenant",
            &a.id,
            "--reason",
            "runaway sender",
            "--actor",
            "test",
        ],
        None,
    )
    .await;
    // Until a replica follows the switch, its 202s are counted too.
    let early = std::cell::Cell::new(0);
    for (i, g) in gateways.iter().enumerate() {
        let took = within("pause on a gateway", || {
            n += 1;
            let (n, early) = (n, &early);
            async move {
                let status = send(g, ka, ca, n).await.0;
                if status == 202 {
                    early.set(early.get() + 1);
                }
                status == 503
            }
        })
        .await;
        eprintln!("gateway {i} refused the paused tenant after {took:?}");
        assert_refused_beside(g, (ka, ca), (&b.key, cb)).await;
    }

    accepted += early.get();
    let key = format!("pause_ingest:{}", a.id);
    let cleared = ops(
        p,
        "DELETE",
        &format!("/api/v1/ops/switches/{key}"),
        &json!({"actor": "test", "reason": "fixed"}),
    )
    .await;
    assert_eq!(cleared["switch"]["kind"], "pause_ingest", "{cleared}");
    for g in &gateways {
        within("resume on a gateway", || {
            n += 1;
            let n = n;
            async move { send(g, ka, ca, n).await.0 == 202 }
        })
        .await;
        accepted += 1;
    }
    // Exactly the events answered 202 are counted.
    wait_counted(p, &a.token, ca, accepted).await;
    let lines = audit_lines(p).await;
    assert_eq!(
        lines,
        [
            ("cleared".to_owned(), key.clone(), "test (api)".to_owned()),
            ("set".to_owned(), key, "test (cli)".to_owned()),
        ],
        "newest first"
    );
}

async fn a_read_only_api_refuses_changes_and_serves_reads(p: &mut Platform) {
    let p = &*p;
    let t = p.tenant("ro", 1).await;
    let auth = format!("Bearer {}", t.token);
    let create = || async {
        p.api
            .send(
                "POST",
                "/api/v1/campaigns",
                &[
                    ("authorization", &auth),
                    ("content-type", "application/json"),
                ],
                json!({"name": "new one"}).to_string(),
            )
            .await
    };
    ops(
        p,
        "POST",
        "/api/v1/ops/switches",
        &json!({"switch": {"kind": "read_only_api"}, "actor": "test", "reason": "migration"}),
    )
    .await;
    within("read-only API", || async { create().await.status == 503 }).await;
    let r = create().await;
    assert_eq!(
        r.json()["error"]["code"],
        "read_only",
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    assert!(!r.header("retry-after").is_empty());
    assert_eq!(
        p.get(&t.token, &format!("/api/v1/campaigns/{}", t.campaigns[0]))
            .await
            .status,
        200
    );
    let listed = ops(p, "GET", "/api/v1/ops/switches", &Value::Null).await;
    assert_eq!(
        listed["data"][0]["switch"]["kind"], "read_only_api",
        "{listed}"
    );
    assert!(
        !p.login(&t.email, common::platform::PASSWORD)
            .await
            .is_empty(),
        "logins work"
    );

    p.admin(
        &["switch", "clear", "read_only_api", "--reason", "done"],
        None,
    )
    .await;
    within("writable API", || async { create().await.status == 201 }).await;
}

async fn capping_and_the_live_sink_follow_their_switches(p: &mut Platform) {
    let p = &*p;
    let t = p.tenant("switched", 1).await;
    let c = &t.campaigns[0];
    let decide = |n: u64| {
        let auth = format!("Bearer {}", t.key);
        let body = json!({"campaign_id": c, "user": {"device_id": format!("d-{n}")}});
        async move {
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
            assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
            r.json()
        }
    };
    for (mode, allow) in [("fail-closed", false), ("fail-open", true)] {
        p.admin(
            &[
                "switch",
                "set",
                "capping",
                "--mode",
                mode,
                "--reason",
                "redis trouble",
            ],
            None,
        )
        .await;
        within("capping switch", || async {
            decide(1).await["reason"] == "kill_switch" && decide(2).await["allow"] == allow
        })
        .await;
    }
    p.admin(
        &["switch", "clear", "capping", "--reason", "redis fine"],
        None,
    )
    .await;
    within("capping back", || async {
        decide(3).await["reason"] != "kill_switch"
    })
    .await;

    live_sink_follows_its_switch(p, &t).await;
}

/// Live counters held: the events are still counted (the day report),
/// the live totals wait, then catch up exactly.
async fn live_sink_follows_its_switch(p: &Platform, t: &common::platform::Tenant) {
    let c = &t.campaigns[0];
    p.admin(
        &["switch", "set", "pause-live", "--reason", "redis trouble"],
        None,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let before = p.realtime(&t.token, c).await[0];
    for n in 0..20 {
        assert_eq!(send(&p.gateway, &t.key, c, n).await.0, 202);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let today = Utc::now().date_naive();
        let (_, totals) = p.day_report(&t.token, c, today, today).await;
        let counted = totals[0];
        if counted == before + 20 {
            break;
        }
        assert!(Instant::now() < deadline, "counted {counted}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        p.realtime(&t.token, c).await[0],
        before,
        "live counters held"
    );
    p.admin(
        &[
            "switch",
            "clear",
            "pause_sink:live",
            "--reason",
            "redis fine",
        ],
        None,
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while p.realtime(&t.token, c).await[0] != before + 20 {
        assert!(Instant::now() < deadline, "live counters caught up");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
