//! Chaos: `adpulse worker` processes killed with SIGKILL at random moments
//! while events keep arriving, restarted each time, and two workers sharing
//! the partitions with one of them killed. At the end every Postgres count
//! and sum, every Redis live counter, HLL reach and the set of CQL rows equal
//! exactly the distinct events sent; resends (10%) count once.
//!
//! It runs real worker processes (the `adpulse` binary built by cargo for
//! this test) against the local stack; bounded: a few hundred milliseconds
//! to two seconds between kills, every wait capped.

mod common;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use common::worker::{Env, env, spawn_load};

/// Starts `adpulse worker` on `env`'s topics, schema, keyspace and prefix.
fn spawn_worker(env: &Env) -> Child {
    let c = &env.cfg;
    Command::new(env!("CARGO_BIN_EXE_adpulse"))
        .arg("worker")
        .env("ADPULSE__KAFKA__BROKERS", &c.kafka.brokers)
        .env("ADPULSE__KAFKA__EVENTS_TOPIC", &c.kafka.events_topic)
        .env("ADPULSE__KAFKA__REJECTED_TOPIC", &c.kafka.rejected_topic)
        .env("ADPULSE__KAFKA__METRICS_TOPIC", &c.kafka.metrics_topic)
        .env("ADPULSE__POSTGRES__URL", c.postgres.url.expose())
        .env(
            "ADPULSE__POSTGRES__SCHEMA",
            c.postgres.schema.as_deref().expect("schema"),
        )
        .env("ADPULSE__CQL__NODES", format!("[\"{}\"]", c.cql.nodes[0]))
        .env("ADPULSE__CQL__KEYSPACE", &c.cql.keyspace)
        .env("ADPULSE__REDIS__URL", c.redis.url.expose())
        .env("ADPULSE__REDIS__KEY_PREFIX", &c.redis.key_prefix)
        .env("ADPULSE__WORKER__GROUP_ID", &c.worker.group_id)
        .env("ADPULSE__WORKER__LISTEN", "127.0.0.1:0")
        .env("ADPULSE__WORKER__MAX_BATCH_WAIT_MS", "50")
        .env("ADPULSE__TELEMETRY__LOG_FILTER", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start adpulse worker")
}

fn kill(child: &mut Child) {
    let _ = child.kill(); // SIGKILL: no flush, no goodbye
    let _ = child.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_workers_leave_every_count_exact() {
    let env = Arc::new(env().await);
    // The load: 3,000 distinct events, 10% resent, over ~15 s.
    let load = spawn_load(&env, 3_000, 11, Duration::from_millis(100));

    let mut rng = fastrand::Rng::with_seed(5);
    let mut worker = spawn_worker(&env);
    let mut kills = 0;
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(rng.u64(300..2_000))).await;
        kill(&mut worker);
        kills += 1;
        worker = spawn_worker(&env);
    }
    // Two workers share the partitions; then one dies.
    let mut second = spawn_worker(&env);
    tokio::time::sleep(Duration::from_millis(rng.u64(3_000..5_000))).await;
    kill(&mut second);
    kills += 1;
    let (reference, total) = load.await.expect("load");
    env.wait_applied(total, Duration::from_secs(120)).await;
    // Let the last batch's live counters land, then stop the survivor cleanly.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(worker.id().to_string())
        .status();
    let _ = worker.wait();

    eprintln!(
        "chaos: {kills} SIGKILLs, {total} records sent, {} distinct events",
        reference.events.len()
    );
    env.check(&reference).await;
    match Arc::try_unwrap(env) {
        Ok(env) => env.cleanup().await,
        Err(_) => panic!("env still shared"),
    }
}
