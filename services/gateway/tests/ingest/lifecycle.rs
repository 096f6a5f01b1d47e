//! The gateway's life: 503 when its log fails, health and metrics, and a
//! shutdown that lets requests in flight finish.

use std::time::Duration;

use adpulse_domain::ports::{EventLog, LogRecord, PortError};
use serde_json::Value;

use crate::common::{Harness, config, event};
use crate::header;

/// An event log that has lost its cluster: every append fails, retryably.
struct DownLog;

#[async_trait::async_trait]
impl EventLog for DownLog {
    async fn append(&self, records: Vec<LogRecord>) -> Vec<Result<(), PortError>> {
        records
            .iter()
            .map(|_| Err(PortError::retryable("injected: all brokers down")))
            .collect()
    }
    async fn ready(&self) -> bool {
        false
    }
    fn in_flight(&self) -> usize {
        0
    }
    async fn flush(&self, _: Duration) -> Result<(), PortError> {
        Ok(())
    }
}

#[tokio::test]
async fn a_failing_log_gets_503_with_retry_after_never_202() {
    let h = Harness::start_with(config(), DownLog).await;
    let r = h.send(&h.a, &event(h.a.campaigns[0], "impression")).await;
    assert_eq!((r.status, r.code()), (503, "log_unavailable"), "{}", r.body);
    assert_eq!(header(&r, "retry-after"), "1");
    let auth = format!("Bearer {}", h.a.key);
    let two = Value::from(vec![
        event(h.a.campaigns[0], "click"),
        event(h.a.campaigns[1], "click"),
    ])
    .to_string();
    let r = h
        .post(
            "/v1/events/batch",
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
            two,
        )
        .await;
    assert_eq!(r.status, 503, "{}", r.body);
    let (status, body) = h.get("/health/ready").await;
    assert_eq!(status, 503);
    // The report names the dependency that is down, and why.
    let report: Value = serde_json::from_str(&body).expect("readiness is JSON");
    assert_eq!(report["status"], "not_ready", "{report}");
    assert_eq!(report["service"], "gateway");
    let log = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["name"] == "event_log")
        .expect("the event log is checked");
    assert_eq!(
        (&log["state"], &log["required"]),
        (&Value::from("down"), &Value::from(true)),
        "{log}"
    );
    assert!(
        log["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{log}"
    );
    assert_eq!(h.get("/health/live").await.0, 200);
    h.stop().await;
}

#[tokio::test]
async fn health_and_metrics_are_served() {
    let h = Harness::start(config()).await;
    assert_eq!(h.get("/health/live").await.0, 200);
    let (status, body) = h.get("/health/ready").await;
    assert_eq!(status, 200, "{body}");
    let report: Value = serde_json::from_str(&body).expect("readiness is JSON");
    let names: Vec<&str> = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|c| {
            assert_eq!(c["state"], "up", "{c}");
            assert!(c["latency_ms"].as_f64().is_some(), "{c}");
            c["name"].as_str().expect("name")
        })
        .collect();
    assert_eq!(names, ["event_log", "directory"], "{report}");
    assert_eq!(report["status"], "ready");
    assert_eq!(
        h.send(&h.a, &event(h.a.campaigns[0], "click")).await.status,
        202
    );
    let (status, text) = h.get("/metrics").await;
    assert_eq!(status, 200);
    for name in [
        "adpulse_gateway_requests_total",
        "adpulse_gateway_events_total",
        "adpulse_gateway_produce_duration_seconds",
        "adpulse_gateway_producer_in_flight",
    ] {
        assert!(text.contains(name), "{name} missing from /metrics");
    }
    // Every series has HELP text; the process's figures and the build
    // are there.
    for line in text.lines().filter(|l| l.starts_with("# TYPE ")) {
        let name = line.split_whitespace().nth(2).expect("a name");
        assert!(
            text.contains(&format!("# HELP {name} ")),
            "{name} has no HELP text"
        );
    }
    for name in [
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_open_fds",
        "adpulse_build_info{",
        "adpulse_dependency_up{",
    ] {
        assert!(text.contains(name), "{name} missing from /metrics");
    }
    h.stop().await;
}

/// An event log that holds each append until the test releases it, to
/// catch a request in flight at shutdown without timing guesses.
#[derive(Clone, Default)]
struct HeldLog {
    entered: std::sync::Arc<tokio::sync::Notify>,
    release: std::sync::Arc<tokio::sync::Notify>,
}

#[async_trait::async_trait]
impl EventLog for HeldLog {
    async fn append(&self, records: Vec<LogRecord>) -> Vec<Result<(), PortError>> {
        self.entered.notify_one();
        self.release.notified().await;
        records.iter().map(|_| Ok(())).collect()
    }
    async fn ready(&self) -> bool {
        true
    }
    fn in_flight(&self) -> usize {
        0
    }
    async fn flush(&self, _: Duration) -> Result<(), PortError> {
        Ok(())
    }
}

/// Draining: once shutdown begins, readiness answers 503 `draining` while
/// the gateway still accepts events for `http.drain_ms`; then it stops.
#[tokio::test]
async fn shutdown_drains_first_readiness_fails_while_events_are_still_accepted() {
    let mut c = config();
    c.http.drain_ms = 1_500;
    let h = Harness::start(c).await;
    let client = h.client();
    let (key, e) = (h.a.key.clone(), event(h.a.campaigns[0], "click"));
    let stopping = tokio::spawn(h.stop());
    let mut draining = None;
    for _ in 0..200 {
        let (status, body) = client.get("/health/ready").await;
        if status == 503 {
            draining = Some(body);
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let body = draining.expect("readiness fails once shutdown begins");
    let report: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(report["status"], "draining", "{report}");
    let r = client.send_with(&key, &e).await;
    assert_eq!(r.status, 202, "still accepting while draining: {}", r.body);
    stopping.await.expect("stopped");
}

#[tokio::test]
async fn shutdown_lets_in_flight_requests_finish_then_stops_accepting() {
    let log = HeldLog::default();
    let mut c = config();
    // No draining: the listener closes as shutdown begins.
    c.http.drain_ms = 0;
    let h = Harness::start_with(c, log.clone()).await;
    let (client, key, e) = (
        h.client(),
        h.a.key.clone(),
        event(h.a.campaigns[0], "click"),
    );
    let in_flight = tokio::spawn(async move { client.send_with(&key, &e).await });
    log.entered.notified().await; // the request is waiting on the log
    let addr = h.url.trim_start_matches("http://").to_owned();
    let stopping = tokio::spawn(h.stop());
    // Shutdown has begun: new connections are refused while the request waits.
    let mut refused = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(&addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(
        refused,
        "no longer accepting connections once shutdown began"
    );
    log.release.notify_one();
    let r = in_flight.await.expect("request task");
    assert_eq!(r.status, 202, "the in-flight request completes: {}", r.body);
    stopping.await.expect("clean stop");
}
