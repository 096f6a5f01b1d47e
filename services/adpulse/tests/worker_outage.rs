//! Redis, then Postgres, taken away while events flow: the worker stops
//! committing (or stops writing live counters), retries with backoff,
//! resumes by itself, and ends exact.
//!
//! This test stops and starts the local stack's real Redis and Postgres, so
//! it lives alone in its own test binary (cargo runs test binaries one after
//! another).

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use adpulse_cql::Cql;
use adpulse_testkit::Server;
use adpulse_worker::Worker;
use common::worker::{Reference, env};
use tokio::sync::Mutex;

/// Brings both servers back even if the test fails half-way.
struct RestartOnDrop;

impl Drop for RestartOnDrop {
    fn drop(&mut self) {
        Server::Redis.stack("up");
        Server::Postgres.stack("up");
    }
}

async fn outage(server: Server, seconds: u64) {
    tokio::task::spawn_blocking(move || server.stack("stop"))
        .await
        .expect("stop");
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    tokio::task::spawn_blocking(move || server.stack("up"))
        .await
        .expect("up");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_and_postgres_outages_end_exact() {
    let env = Arc::new(env().await);
    let guard = RestartOnDrop;
    let worker = Worker::new(
        env.cfg.clone(),
        env.db.clone(),
        Cql::connect(&env.cfg.cql).await.expect("cql"),
        env.redis.clone(),
    )
    .await
    .expect("worker");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(worker.run(async {
        let _ = stopped.await;
    }));

    let reference = Arc::new(Mutex::new(Reference::default()));
    let sent = Arc::new(std::sync::atomic::AtomicI64::new(0));
    let load = {
        let (env, reference, sent) = (Arc::clone(&env), Arc::clone(&reference), Arc::clone(&sent));
        tokio::spawn(async move {
            let mut rng = fastrand::Rng::with_seed(23);
            let mut earlier = Vec::new();
            for i in 0..2_000 {
                let e = env.event(&mut rng);
                env.send(&e).await;
                sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                reference
                    .lock()
                    .await
                    .events
                    .insert(e["event_id"].as_str().expect("id").to_owned(), e.clone());
                earlier.push(e);
                if rng.u32(0..10) == 0 {
                    env.send(&earlier[rng.usize(..earlier.len())]).await;
                    sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                if i % 20 == 0 {
                    tokio::time::sleep(Duration::from_millis(80)).await;
                }
            }
        })
    };

    tokio::time::sleep(Duration::from_millis(1_500)).await;
    outage(Server::Redis, 3).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    // Longer than the pool's acquire timeout (5 s): flushes fail and are retried.
    outage(Server::Postgres, 7).await;
    load.await.expect("load");

    let total = sent.load(std::sync::atomic::Ordering::Relaxed);
    let deadline = Instant::now() + Duration::from_secs(120);
    while env.applied_offsets().await < total {
        assert!(
            Instant::now() < deadline,
            "applied {} of {total} records",
            env.applied_offsets().await
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Live counters that failed during the Redis outage are retried every second.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let _ = stop.send(());
    running.await.expect("join").expect("worker");
    std::mem::forget(guard);

    let reference = reference.lock().await;
    eprintln!(
        "outages: {total} records sent, {} distinct events",
        reference.events.len()
    );
    env.check(&reference).await;
    drop(reference);
    match Arc::try_unwrap(env) {
        Ok(env) => env.cleanup().await,
        Err(_) => panic!("env still shared"),
    }
}
