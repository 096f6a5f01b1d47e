//! `adpulse up` killed with SIGKILL in the middle of a load, and started
//! again on the same data folder, several times over: no acknowledged
//! event is lost and none is counted twice.
//!
//! Senders post batches of new events and keep what each request came to:
//! 202 is acknowledged; no answer (the process died under it) or any other
//! answer is unknown. After a restart every unknown batch is sent again
//! with the same event ids, as a client that retries does (and so is each
//! sender's last acknowledged batch, as by a client that lost the answer).
//! The live totals, the day reports and the raw events must then equal
//! exactly the distinct events sent, and no reading along the way may
//! count more.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::{NaiveDate, Utc};
use common::http::Http;
use common::platform::{Platform, Reference, Tenant, event, until};
use serde_json::Value;

/// Kills per test.
const KILLS: usize = 3;
/// Concurrent senders.
const SENDERS: usize = 4;
/// Events per request.
const BATCH: usize = 40;
/// How long numbers may take to settle after a restart.
const SETTLE: Duration = Duration::from_secs(60);

/// What one request came to.
struct Outcome {
    events: Vec<Value>,
    acknowledged: bool,
}

/// Posts new batches of `t`'s events until `stop` or until the gateway
/// stops answering; counts acknowledged events in `acked`.
async fn sender(
    gateway: Http,
    t: Tenant,
    seed: u64,
    stop: Arc<AtomicBool>,
    acked: Arc<AtomicUsize>,
) -> Vec<Outcome> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let (d0, d1) = days();
    let auth = format!("Bearer {}", t.key);
    let mut out = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let events: Vec<Value> = (0..BATCH)
            .map(|_| {
                let c = &t.campaigns[rng.usize(..t.campaigns.len())];
                let day = if rng.bool() { d0 } else { d1 };
                event(&mut rng, c, day, 50)
            })
            .collect();
        let reply = gateway
            .try_send(
                "POST",
                "/v1/events/batch",
                &[
                    ("authorization", &auth),
                    ("content-type", "application/json"),
                ],
                Value::from(events.clone()).to_string(),
            )
            .await;
        let acknowledged = matches!(&reply, Ok(r) if r.status == 202);
        if let Ok(r) = &reply {
            // Either durable in full, or (while dying) not acknowledged.
            assert!(
                r.status == 202 || r.status == 503,
                "{}: {}",
                r.status,
                String::from_utf8_lossy(&r.body)
            );
            if acknowledged {
                assert_eq!(r.json()["accepted"].as_u64(), Some(BATCH as u64));
            }
        }
        if acknowledged {
            acked.fetch_add(BATCH, Ordering::Relaxed);
        }
        out.push(Outcome {
            events,
            acknowledged,
        });
        if reply.is_err() {
            break;
        }
    }
    out
}

fn days() -> (NaiveDate, NaiveDate) {
    let yesterday = Utc::now().date_naive() - chrono::Duration::days(1);
    (yesterday - chrono::Duration::days(1), yesterday)
}

/// Sends `events` again until the gateway acknowledges them all.
async fn resend(p: &Platform, t: &Tenant, events: &[Value]) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = p
            .ingest(
                &t.key,
                "/v1/events/batch",
                "application/json",
                Value::from(events.to_vec()).to_string(),
            )
            .await;
        if r.status == 202 {
            assert_eq!(r.json()["accepted"].as_u64(), Some(events.len() as u64));
            return;
        }
        assert!(
            r.status == 503 && Instant::now() < deadline,
            "resend: {} {}",
            r.status,
            String::from_utf8_lossy(&r.body)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Live totals, day reports and raw events of every campaign equal the
/// reference, never counting more on the way there.
async fn check(p: &Platform, t: &Tenant, reference: &Reference, what: &str) {
    let (d0, d1) = days();
    for c in &t.campaigns {
        let want = reference.realtime(c);
        until(
            &format!("{what}: live totals of {c}"),
            SETTLE,
            &want,
            || p.realtime(&t.token, c),
            |have| {
                assert!(
                    have.iter().zip(&want).all(|(h, w)| h <= w),
                    "{what}: live totals of {c} count more than was sent: {have:?} > {want:?}"
                );
            },
        )
        .await;
        let want = reference.day_report(c);
        until(
            &format!("{what}: day report of {c}"),
            SETTLE,
            &want,
            || p.day_report(&t.token, c, d0, d1),
            |have| {
                assert!(
                    have.1.iter().zip(&want.1).all(|(h, w)| h <= w),
                    "{what}: the day report of {c} counts more than was sent: {:?} > {:?}",
                    have.1,
                    want.1
                );
            },
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_mid_load_loses_no_acknowledged_event_and_counts_none_twice() {
    let mut p = Platform::embedded().await;
    let t = p.tenant("Crash", 3).await;
    let mut reference = Reference::default();
    for round in 1..=KILLS {
        kill_mid_load_restart_and_resend(&mut p, &t, &mut reference, round).await;
    }
    raw_events_are_listed_once(&p, &t, &reference).await;
}

/// One round: load from several senders, `kill -9` mid-load, restart, resend
/// what is unknown or likeliest unapplied, and check the numbers.
async fn kill_mid_load_restart_and_resend(
    p: &mut Platform,
    t: &Tenant,
    reference: &mut Reference,
    round: usize,
) {
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(AtomicUsize::new(0));
    let senders: Vec<_> = (0..SENDERS)
        .map(|i| {
            tokio::spawn(sender(
                p.gateway.clone(),
                t.clone(),
                (round * 100 + i) as u64,
                Arc::clone(&stop),
                Arc::clone(&acked),
            ))
        })
        .collect();
    // Load for one to two seconds (and at least a few acknowledged
    // batches), then the kill, with the senders still sending.
    let started = Instant::now();
    let load = Duration::from_millis(fastrand::u64(1_000..2_000));
    while started.elapsed() < load || acked.load(Ordering::Relaxed) < 10 * BATCH {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "round {round}: only {} events acknowledged in 30 s",
            acked.load(Ordering::Relaxed)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let pid = p.pid();
    p.kill();
    let acked_before_kill = acked.load(Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    assert!(acked_before_kill > 0, "the kill hit a running load");

    let (mut unknown, mut last_acknowledged) = (Vec::new(), Vec::new());
    for s in senders {
        let mut last = None;
        for o in s.await.expect("sender") {
            reference.add(&o.events);
            if o.acknowledged {
                last = Some(o.events);
            } else {
                unknown.push(o.events);
            }
        }
        last_acknowledged.extend(last);
    }
    eprintln!(
        "round {round}: killed pid {pid} after {:?}: {acked_before_kill} events acknowledged, {} batches unknown",
        started.elapsed(),
        unknown.len()
    );

    p.restart().await;
    for events in &unknown {
        resend(p, t, events).await;
    }
    // A client that lost an acknowledgement sends again too: the last
    // acknowledged batches, the likeliest to be unapplied at the kill.
    for events in &last_acknowledged {
        resend(p, t, events).await;
    }
    check(p, t, reference, &format!("after kill {round} and restart")).await;
}

/// The raw events, once each.
async fn raw_events_are_listed_once(p: &Platform, t: &Tenant, reference: &Reference) {
    let (d0, d1) = days();
    for c in &t.campaigns {
        for day in [d0, d1] {
            let want = reference.raw_events(c, day);
            until(
                &format!("raw events of {c} on {day}"),
                SETTLE,
                &want,
                || async {
                    let mut listed = p.raw_events(&t.token, c, day, 1000).await;
                    listed.sort();
                    listed
                },
                |_| {},
            )
            .await;
        }
    }
}
