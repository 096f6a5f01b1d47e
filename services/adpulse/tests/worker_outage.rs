//! Redis, then Postgres, taken away while events flow: the worker stops
//! committing (or stops writing live counters), retries with backoff,
//! resumes by itself, and ends exact.
//!
//! This test stops and starts the local stack's real Redis and Postgres, so
//! it lives alone in its own test binary (cargo runs test binaries one after
//! another).

mod common;

use std::sync::Arc;
use std::time::Duration;

use adpulse_testkit::Server;
use common::worker::{env, spawn_load};

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
    let worker = env.start_worker().await;

    let load = spawn_load(&env, 2_000, 23, Duration::from_millis(80));

    tokio::time::sleep(Duration::from_millis(1_500)).await;
    outage(Server::Redis, 3).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    // Longer than the pool's acquire timeout (5 s): flushes fail and are retried.
    outage(Server::Postgres, 7).await;
    let (reference, total) = load.await.expect("load");
    env.wait_applied(total, Duration::from_secs(120)).await;
    // Live counters that failed during the Redis outage are retried every second.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    worker.stop().await;
    std::mem::forget(guard);

    eprintln!(
        "outages: {total} records sent, {} distinct events",
        reference.events.len()
    );
    env.check(&reference).await;
    match Arc::try_unwrap(env) {
        Ok(env) => env.cleanup().await,
        Err(_) => panic!("env still shared"),
    }
}
