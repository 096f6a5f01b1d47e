//! Kafka stopped in the middle of a load: the gateway answers 503 (never 202,
//! never hanging past the delivery timeout), serves again once Kafka is back
//! without being restarted, and every event it acknowledged is in the topic.
//!
//! This test stops and starts the local stack's real Kafka broker, so it
//! lives alone in its own test binary (cargo runs test binaries one after
//! another, so no other test sees the outage).

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Harness, PARTITIONS, config, event};

const DELIVERY_TIMEOUT_MS: u64 = 3_000;

fn stack(action: &str) {
    adpulse_testkit::Server::Kafka.stack(action);
}

/// Starts Kafka again even if the test fails half-way.
struct RestartOnDrop;

impl Drop for RestartOnDrop {
    fn drop(&mut self) {
        stack("up");
    }
}

#[derive(Default)]
struct Outcomes {
    accepted: Vec<String>,
    statuses: Vec<(u16, Duration, Instant)>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_outage_gets_503_and_loses_nothing_acknowledged() {
    let mut cfg = config();
    cfg.kafka.delivery_timeout_ms = DELIVERY_TIMEOUT_MS;
    cfg.kafka.request_timeout_ms = 1_000;
    let h = Arc::new(Harness::start(cfg).await);
    let outcomes = Arc::new(Mutex::new(Outcomes::default()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let senders = start_senders(&h, &outcomes, &stop);

    let t0 = Instant::now();
    tokio::task::block_in_place(|| {
        wait_for("20 accepted events", &|| count(&outcomes, 202, t0) >= 20)
    });
    let guard = kafka_down_gets_503_and_not_ready(&h, &outcomes).await;
    kafka_back_serves_again_without_a_restart(&h, &outcomes, guard).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for s in senders {
        s.await.expect("sender");
    }

    let accepted = every_answer_was_202_or_503_within_the_timeout(&outcomes);
    every_acknowledged_event_is_in_the_topic(&h, accepted).await;
    match Arc::try_unwrap(h) {
        Ok(h) => h.stop().await,
        Err(_) => panic!("harness still shared"),
    }
}

/// The load: 4 senders, each one request at a time, until told to stop
/// (or 3 minutes pass), recording every answer in `outcomes`.
fn start_senders(
    h: &Arc<Harness>,
    outcomes: &Arc<Mutex<Outcomes>>,
    stop: &Arc<std::sync::atomic::AtomicBool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut senders = Vec::new();
    for i in 0..4 {
        let (h, outcomes, stop) = (Arc::clone(h), Arc::clone(outcomes), Arc::clone(stop));
        senders.push(tokio::spawn(async move {
            let deadline = Instant::now() + Duration::from_secs(180);
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && Instant::now() < deadline {
                let e = event(h.a.campaigns[i % 3], "impression");
                let started = Instant::now();
                let r = h.send(&h.a, &e).await;
                {
                    let mut o = outcomes.lock().expect("lock");
                    o.statuses
                        .push((r.status, started.elapsed(), Instant::now()));
                    if r.status == 202 {
                        o.accepted
                            .push(e["event_id"].as_str().expect("id").to_owned());
                    }
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }));
    }
    senders
}

/// The answers of `status` given at or after `since`.
fn count(outcomes: &Mutex<Outcomes>, status: u16, since: Instant) -> usize {
    outcomes
        .lock()
        .expect("lock")
        .statuses
        .iter()
        .filter(|(s, _, at)| *s == status && *at >= since)
        .count()
}

/// Blocks until `cond` holds, for at most 90 s.
fn wait_for(what: &str, cond: &dyn Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Kafka stopped: answers turn 503 and the gateway is not ready. Returns
/// the guard that starts Kafka again if the test fails from here on.
async fn kafka_down_gets_503_and_not_ready(
    h: &Harness,
    outcomes: &Mutex<Outcomes>,
) -> RestartOnDrop {
    let guard = RestartOnDrop;
    tokio::task::spawn_blocking(|| stack("stop"))
        .await
        .expect("stop kafka");
    let down = Instant::now();
    tokio::task::block_in_place(|| {
        wait_for("10 answers of 503", &|| count(outcomes, 503, down) >= 10)
    });
    assert_eq!(
        h.get("/health/ready").await.0,
        503,
        "not ready while Kafka is down"
    );
    guard
}

/// Kafka started again: events are accepted again and the gateway is
/// ready, without being restarted.
async fn kafka_back_serves_again_without_a_restart(
    h: &Harness,
    outcomes: &Mutex<Outcomes>,
    guard: RestartOnDrop,
) {
    tokio::task::spawn_blocking(|| stack("up"))
        .await
        .expect("start kafka");
    std::mem::forget(guard);
    let up = Instant::now();
    tokio::task::block_in_place(|| {
        wait_for("20 accepted events after the restart", &|| {
            count(outcomes, 202, up) >= 20
        })
    });
    assert_eq!(h.get("/health/ready").await.0, 200, "ready again");
}

/// Every answer was 202 or 503, none later than the delivery timeout
/// (and a margin); returns the ids of the events acknowledged.
fn every_answer_was_202_or_503_within_the_timeout(outcomes: &Mutex<Outcomes>) -> HashSet<String> {
    let o = outcomes.lock().expect("lock");
    let limit = Duration::from_millis(DELIVERY_TIMEOUT_MS) + Duration::from_secs(5);
    for (status, took, _) in &o.statuses {
        assert!(
            *status == 202 || *status == 503,
            "only 202 or 503 under an outage, got {status}"
        );
        assert!(
            *took <= limit,
            "an answer took {took:?}, past the delivery timeout"
        );
    }
    let n503 = o.statuses.iter().filter(|(s, _, _)| *s == 503).count();
    let accepted: HashSet<String> = o.accepted.iter().cloned().collect();
    eprintln!(
        "outage test: {} requests, {} accepted, {n503} answered 503",
        o.statuses.len(),
        accepted.len()
    );
    accepted
}

/// Every acknowledged event is in the events topic.
async fn every_acknowledged_event_is_in_the_topic(h: &Harness, accepted: HashSet<String>) {
    // Every acknowledged event is in the topic (503'd ones may be too: the
    // sender would retry them and downstream counts each event_id once).
    let consumer =
        adpulse_kafka::Consumer::from_beginning(h.kafka(), &h.kafka().events_topic, PARTITIONS)
            .expect("consumer");
    let mut missing = accepted.clone();
    while !missing.is_empty() {
        let Some(r) = consumer
            .recv(Duration::from_secs(30))
            .await
            .expect("consume")
        else {
            panic!("{} acknowledged events are not in the topic", missing.len());
        };
        let v: serde_json::Value =
            serde_json::from_slice(r.payload.as_deref().expect("value")).expect("json");
        missing.remove(v["event_id"].as_str().expect("id"));
    }
}
