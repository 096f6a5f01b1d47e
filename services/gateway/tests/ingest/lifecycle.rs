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
    assert_eq!(h.get("/health/ready").await.0, 503);
    assert_eq!(h.get("/health/live").await.0, 200);
    h.stop().await;
}

#[tokio::test]
async fn health_and_metrics_are_served() {
    let h = Harness::start(config()).await;
    assert_eq!(h.get("/health/live").await.0, 200);
    assert_eq!(h.get("/health/ready").await.0, 200);
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

#[tokio::test]
async fn shutdown_lets_in_flight_requests_finish_then_stops_accepting() {
    let log = HeldLog::default();
    let h = Harness::start_with(config(), log.clone()).await;
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
