//! The API's listener against hostile clients, through the real `serve`
//! (timeouts of 300 ms): heads cut short or trickled, idle connections,
//! bodies declared over their route's limit (JSON routes and the creative
//! upload each have their own), a stalled body, and more connections than
//! the cap. Postgres of the local stack.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use adpulse_config::HttpConfig;
use adpulse_testkit::hostile::{self, Raw, RawResponse, SLACK};
use common::{Api, api_config};
use serde_json::Value;
use tokio::time::Instant;

const T: Duration = Duration::from_millis(300);
/// Long enough never to fire in a test.
const NEVER: u64 = 30_000;

async fn api(http: HttpConfig) -> (Api, SocketAddr) {
    let api = Api::start_with_http(api_config(), http).await;
    let addr = api
        .url
        .trim_start_matches("http://")
        .parse()
        .expect("address");
    (api, addr)
}

fn http(header_ms: u64, idle_ms: u64, body_ms: u64) -> HttpConfig {
    HttpConfig {
        header_timeout_ms: header_ms,
        idle_timeout_ms: idle_ms,
        body_timeout_ms: body_ms,
        ..HttpConfig::default()
    }
}

/// A POST of `path` declaring `length` bytes of `content_type`, without
/// its body.
fn post_head(path: &str, content_type: &str, length: u64) -> Vec<u8> {
    hostile::head(&[
        &format!("POST {path} HTTP/1.1"),
        "Host: test",
        &format!("Content-Type: {content_type}"),
        &format!("Content-Length: {length}"),
    ])
}

fn code(r: &RawResponse) -> String {
    let body: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    body["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Sends the head and seven bytes; the answer, which must come at once.
async fn declare(addr: SocketAddr, head: &[u8]) -> RawResponse {
    let mut c = Raw::connect(addr).await;
    let started = Instant::now();
    assert!(c.send(head).await);
    assert!(c.send(b"{\"a\":1}").await);
    let r = c.response(SLACK).await.expect("an answer at once");
    assert!(started.elapsed() < SLACK, "{:?}", started.elapsed());
    r
}

#[tokio::test]
async fn heads_cut_short_or_trickled_are_closed_at_the_header_timeout() {
    let (api, addr) = api(http(300, NEVER, NEVER)).await;
    hostile::slow_headers(addr, "/api/v1/campaigns", T).await;
    hostile::trickled_headers(addr, "/api/v1/campaigns", T).await;
    let (status, _, metrics) = api
        .raw("GET", "/metrics", None, &[], None, Vec::new())
        .await;
    assert_eq!(status, 200);
    let metrics = String::from_utf8_lossy(&metrics);
    assert!(
        metrics.contains(r#"adpulse_http_timeouts_total{listener="api",phase="header"}"#),
        "{metrics}"
    );
    api.stop().await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_at_the_idle_timeout() {
    let (api, addr) = api(http(NEVER, 300, NEVER)).await;
    hostile::idle_keep_alive(addr, "/health/live", T).await;
    api.stop().await;
}

#[tokio::test]
async fn a_body_declared_over_its_routes_limit_is_refused_before_it_is_read() {
    let (api, addr) = api(http(NEVER, NEVER, NEVER)).await;
    let cfg = api_config();
    let json = "application/json";
    let r = declare(addr, &post_head("/api/v1/auth/login", json, 1 << 30)).await;
    assert_eq!(
        (r.status, code(&r).as_str()),
        (413, "payload_too_large"),
        "{}",
        r.text()
    );
    assert!(r.body.starts_with(br#"{"error":{"code":"#), "{}", r.text());
    let just_over = cfg.max_body_bytes as u64 + 1;
    let r = declare(addr, &post_head("/api/v1/campaigns", json, just_over)).await;
    assert_eq!((r.status, code(&r).as_str()), (413, "payload_too_large"));

    // A creative has its own, larger limit: a body over the JSON limit is
    // let through to authentication, one over the upload's is refused.
    let upload = format!("/api/v1/campaigns/{}/assets", uuid::Uuid::new_v4());
    let multipart = "multipart/form-data; boundary=x";
    let r = declare(addr, &post_head(&upload, multipart, just_over)).await;
    assert_eq!(
        (r.status, code(&r).as_str()),
        (401, "unauthorized"),
        "{}",
        r.text()
    );
    let r = declare(addr, &post_head(&upload, multipart, 1 << 30)).await;
    assert_eq!((r.status, code(&r).as_str()), (413, "payload_too_large"));
    api.stop().await;
}

#[tokio::test]
async fn a_stalled_body_is_answered_408_and_its_connection_closed() {
    let (api, addr) = api(http(NEVER, NEVER, 300)).await;
    let mut c = Raw::connect(addr).await;
    assert!(
        c.send(&post_head("/api/v1/auth/login", "application/json", 200))
            .await
    );
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
    assert_eq!(
        r.header("x-content-type-options"),
        Some("nosniff"),
        "the API's headers are kept"
    );
    assert!(
        c.closed_within(SLACK).await.is_some(),
        "closed after the 408"
    );
    api.stop().await;
}

#[tokio::test]
async fn connections_past_the_cap_wait_until_a_slot_frees() {
    let (api, addr) = api(HttpConfig {
        max_connections: 4,
        ..http(NEVER, NEVER, NEVER)
    })
    .await;
    hostile::connection_cap(addr, "/health/live", 4).await;
    api.stop().await;
}
