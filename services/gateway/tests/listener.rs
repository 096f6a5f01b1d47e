//! The gateway's listener against hostile clients, through the real
//! `serve` (timeouts of 300 ms): heads cut short or trickled, idle
//! connections, a body declared far over the limit, a stalled body, and
//! more connections than the cap. Postgres and Kafka of the local stack
//! (the directory; the log is a null one).

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use adpulse_config::HttpConfig;
use adpulse_gateway::NullEventLog;
use adpulse_testkit::hostile::{self, Raw, RawResponse, SLACK};
use common::{Harness, config};
use serde_json::Value;
use tokio::time::Instant;

const T: Duration = Duration::from_millis(300);
/// Long enough never to fire in a test.
const NEVER: u64 = 30_000;

async fn gateway(http: HttpConfig) -> (Harness, SocketAddr) {
    let mut c = config();
    c.http = http;
    let h = Harness::start_with(c, NullEventLog).await;
    let addr = h
        .url
        .trim_start_matches("http://")
        .parse()
        .expect("address");
    (h, addr)
}

fn http(header_ms: u64, idle_ms: u64, body_ms: u64) -> HttpConfig {
    HttpConfig {
        header_timeout_ms: header_ms,
        idle_timeout_ms: idle_ms,
        body_timeout_ms: body_ms,
        ..HttpConfig::default()
    }
}

/// A POST of an event route declaring `length` bytes, without its body.
fn post_head(path: &str, key: Option<&str>, length: u64) -> Vec<u8> {
    let mut lines = vec![
        format!("POST {path} HTTP/1.1"),
        "Host: test".to_owned(),
        "Content-Type: application/json".to_owned(),
        format!("Content-Length: {length}"),
    ];
    if let Some(k) = key {
        lines.push(format!("Authorization: Bearer {k}"));
    }
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    hostile::head(&lines)
}

fn code(r: &RawResponse) -> String {
    let body: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    body["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn heads_cut_short_or_trickled_are_closed_at_the_header_timeout() {
    let (h, addr) = gateway(http(300, NEVER, NEVER)).await;
    hostile::slow_headers(addr, "/v1/events", T).await;
    hostile::trickled_headers(addr, "/v1/events", T).await;
    let (status, metrics) = h.get("/metrics").await;
    assert_eq!(status, 200);
    assert!(
        metrics.contains(r#"adpulse_http_timeouts_total{listener="gateway",phase="header"}"#),
        "{metrics}"
    );
    assert!(metrics.contains(r#"adpulse_http_connections_open{listener="gateway"}"#));
    h.stop().await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_at_the_idle_timeout() {
    let (h, addr) = gateway(http(NEVER, 300, NEVER)).await;
    hostile::idle_keep_alive(addr, "/health/live", T).await;
    h.stop().await;
}

#[tokio::test]
async fn a_body_declared_over_the_limit_is_refused_before_it_is_read() {
    let (h, addr) = gateway(http(NEVER, NEVER, NEVER)).await;
    for path in ["/v1/events", "/v1/events/batch"] {
        let mut c = Raw::connect(addr).await;
        let started = Instant::now();
        assert!(c.send(&post_head(path, Some(&h.a.key), 1 << 30)).await);
        assert!(c.send(b"{\"a\":1}").await);
        let r = c.response(SLACK).await.expect("an answer at once");
        assert!(started.elapsed() < SLACK, "{:?}", started.elapsed());
        assert_eq!(
            (r.status, code(&r).as_str()),
            (413, "body_too_large"),
            "{path}: {}",
            r.text()
        );
    }
    // Without a key, the refusal is the key's, as quickly.
    let mut c = Raw::connect(addr).await;
    assert!(c.send(&post_head("/v1/events", None, 1 << 30)).await);
    assert!(c.send(b"{\"a\":1}").await);
    let r = c.response(SLACK).await.expect("an answer at once");
    assert_eq!((r.status, code(&r).as_str()), (401, "missing_key"));
    h.stop().await;
}

#[tokio::test]
async fn a_stalled_body_is_answered_408_and_its_connection_closed() {
    let (h, addr) = gateway(http(NEVER, NEVER, 300)).await;
    let mut c = Raw::connect(addr).await;
    assert!(c.send(&post_head("/v1/events", Some(&h.a.key), 200)).await);
    let started = Instant::now();
    assert!(c.send(b"{\"a\":1}").await);
    let r = c.response(T + SLACK).await.expect("an answer");
    assert!(started.elapsed() >= T, "{:?}", started.elapsed());
    assert_eq!(
        (r.status, code(&r).as_str()),
        (408, "body_timeout"),
        "{}",
        r.text()
    );
    assert_eq!(r.header("connection"), Some("close"));
    assert!(
        c.closed_within(SLACK).await.is_some(),
        "closed after the 408"
    );
    h.stop().await;
}

#[tokio::test]
async fn connections_past_the_cap_wait_until_a_slot_frees() {
    let (h, addr) = gateway(HttpConfig {
        max_connections: 4,
        ..http(NEVER, NEVER, NEVER)
    })
    .await;
    hostile::connection_cap(addr, "/health/live", 4).await;
    h.stop().await;
}
