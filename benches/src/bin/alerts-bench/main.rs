//! `alerts-bench`: alerting and budget stops end to end, in one process on
//! the local stack (`benches/alerts.sh` runs it after the evaluation
//! micro-benchmark, `benches/alerts_eval.rs`):
//!
//! 1. Fresh topics, Postgres schema (migrated), CQL keyspace and Redis
//!    prefix; `--tenants` tenants written through the store, each with an
//!    ingest key, a background campaign, one webhook channel to the
//!    bench's receiver and `--rules` rules of mixed kinds
//!    (`adpulse_benches::alert_rule_mix`, every one covering all of the
//!    tenant's campaigns, so every window result evaluates them all);
//!    probe campaigns spread over the tenants ([`seed`]).
//! 2. In process: the gateway (Kafka, Postgres, capping on Redis), the
//!    stream worker (Kafka, Cassandra, Postgres, Redis) and the alerter
//!    (its group on the metrics topic, a system-scope Postgres session) on
//!    a thread of its own, whose CPU time is its own ([`services`]); a
//!    webhook receiver on another ([`receiver`]).
//! 3. Capacity: impressions through the gateway as fast as it answers;
//!    end to end = events accepted ÷ (start → the worker applied them all).
//! 4. Steady load at `--rate` (default half that capacity) for `--seconds`,
//!    round robin over the tenants, while [`probe`]s measure the 202 of an
//!    event that crosses a threshold → the webhook naming its campaign (and,
//!    as the baseline, → the live counter in Redis showing it), and the 202
//!    of an impression reaching a budget → decisions answering
//!    `budget_exhausted` ([`phases`]).
//!
//! Prints markdown on stdout ([`report`]), progress on stderr; `--out FILE`
//! keeps every probe and figure as JSON. Everything it creates is removed
//! at the end, also when it fails.

mod load;
mod observe;
mod phases;
mod probe;
mod receiver;
mod report;
mod seed;
mod services;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use adpulse_config::Config;
use adpulse_cql::Cql;
use adpulse_domain::ports::prelude::*;
use adpulse_kafka::Admin;
use adpulse_postgres::Database;
use adpulse_redis::Redis;
use clap::Parser;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The command line (`benches/alerts.sh` passes its knobs).
#[derive(Parser, Clone)]
pub struct Args {
    /// Tenants, each with a background campaign, a webhook channel and
    /// `--rules` rules.
    #[arg(long, default_value_t = 1000)]
    pub tenants: usize,
    /// Rules per tenant (at least 2: the probes' two).
    #[arg(long, default_value_t = 10)]
    pub rules: usize,
    /// Events per second of the steady load; 0: half the measured
    /// end-to-end capacity.
    #[arg(long, default_value_t = 0.0)]
    pub rate: f64,
    /// Seconds of steady load (the probes run inside it).
    #[arg(long, default_value_t = 60)]
    pub seconds: u64,
    /// Seconds of the closed-loop capacity burst (after 3 s of warm-up).
    #[arg(long, default_value_t = 10)]
    pub capacity_seconds: u64,
    /// Click probes (alert latency).
    #[arg(long, default_value_t = 100)]
    pub probes: usize,
    /// Budget probes (time to `budget_exhausted`).
    #[arg(long, default_value_t = 50)]
    pub budget_probes: usize,
    /// Events per request of the load.
    #[arg(long, default_value_t = 20)]
    pub batch: usize,
    /// Connections of the closed-loop burst (and requests in flight, at
    /// most, four times that, at the fixed rate).
    #[arg(long, default_value_t = 16)]
    pub connections: usize,
    /// Writes every probe and figure here as JSON.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// A result whose error is shown and ends the run.
pub type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// An error as text (for tasks, whose errors must be `Send`).
pub fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

fn main() -> Res<()> {
    let args = Args::parse();
    if args.rules < 2 || args.tenants == 0 || args.batch == 0 {
        return Err("--rules must be at least 2, --tenants and --batch at least 1".into());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(args))
}

/// Names of this run's own: topics, schema, keyspace, Redis prefix,
/// groups; the alerter may deliver to loopback (the receiver).
fn configure(id: &str) -> Res<Config> {
    let mut cfg = Config::load(None)?;
    cfg.kafka.events_topic = format!("bench.{id}.events");
    cfg.kafka.rejected_topic = format!("bench.{id}.rejected");
    cfg.kafka.metrics_topic = format!("bench.{id}.metrics");
    cfg.postgres.schema = Some(format!("bench_{id}"));
    cfg.cql.keyspace = format!("bench_{id}");
    cfg.redis.key_prefix = format!("bench_{id}");
    cfg.worker.group_id = format!("bench-{id}-worker");
    cfg.alerts.group_id = format!("bench-{id}-alerter");
    cfg.alerts.allow_private_destinations = true;
    // Capping on the stack's Redis, as `adpulse gateway` runs it.
    cfg.capping.backend = adpulse_config::CappingBackend::Redis;
    Ok(cfg)
}

async fn run(args: Args) -> Res<()> {
    // The recorder every service in this process reports to.
    let _ = adpulse_telemetry::prometheus();
    let id = uuid::Uuid::new_v4().simple().to_string();
    let cfg = configure(&id[..8])?;
    let logs = adpulse_config::TelemetryConfig {
        log_filter: std::env::var("BENCH_LOG").unwrap_or_else(|_| "warn".into()),
        ..cfg.telemetry.clone()
    };
    let _telemetry = adpulse_telemetry::init(&logs, "alerts-bench")?;
    let admin = Admin::new(&cfg.kafka)?;
    let k = &cfg.kafka;
    admin.ensure_topic(&k.events_topic, k.partitions, 1).await?;
    admin.ensure_topic(&k.rejected_topic, 1, 1).await?;
    admin
        .ensure_topic(&k.metrics_topic, k.partitions, 1)
        .await?;
    let db = Database::connect(&cfg.postgres).await?;
    let cql = Cql::connect(&cfg.cql).await?;
    let redis = Redis::connect(&cfg.redis).await?;
    let outcome = async {
        db.migrate().await?;
        cql.migrate(1).await?;
        bench(&args, &cfg, &db, &redis).await
    }
    .await;
    // Everything this run made goes, whatever happened.
    for topic in [&k.events_topic, &k.rejected_topic, &k.metrics_topic] {
        if let Err(e) = admin.delete_topic(topic).await {
            eprintln!("alerts-bench: cleanup: topic {topic}: {e}");
        }
    }
    if let Err(e) = cql.drop_keyspace().await {
        eprintln!("alerts-bench: cleanup: keyspace: {e}");
    }
    if let Err(e) = redis.delete_prefix().await {
        eprintln!("alerts-bench: cleanup: redis prefix: {e}");
    }
    if let Err(e) = db.drop_schema().await {
        eprintln!("alerts-bench: cleanup: schema: {e}");
    }
    outcome
}

/// Seeds, starts the services and the receiver, measures, stops them.
async fn bench(args: &Args, cfg: &Config, db: &Database, redis: &Redis) -> Res<()> {
    let receiver = Arc::new(receiver::Receiver::start()?);
    let seeding = Instant::now();
    let (tenants, probes) = seed::seed(db, args, &receiver.url).await?;
    let seed_secs = seeding.elapsed().as_secs_f64();
    eprintln!(
        "seeded {} tenants, {} rules, {} probe campaigns in {seed_secs:.1} s",
        args.tenants,
        args.tenants * args.rules,
        probes.len()
    );
    let services = services::start(cfg, redis).await?;
    let run = phases::Bench {
        args,
        cfg,
        db,
        redis,
        load: Arc::new(load::Load::new(&services.gateway_url, tenants, args.batch)),
        receiver: Arc::clone(&receiver),
        probes,
        results: observe::TopicCount::start(cfg, &cfg.kafka.metrics_topic)?,
    };
    let outcome = run.all(seed_secs).await;
    let stopped = services.stop().await;
    drop(receiver);
    outcome?;
    stopped
}

/// Records the worker has applied (the sum of its next offsets).
pub async fn applied(db: &Database, group: &str, topic: &str) -> i64 {
    db.applied_offsets(group, topic).await.unwrap_or(0)
}

/// Waits until the worker has applied `records`; when it had.
pub async fn drained(db: &Database, cfg: &Config, records: i64, within: Duration) -> Res<Instant> {
    let deadline = Instant::now() + within;
    loop {
        let n = applied(db, &cfg.worker.group_id, &cfg.kafka.events_topic).await;
        if n >= records {
            return Ok(Instant::now());
        }
        if Instant::now() > deadline {
            return Err(
                format!("the worker applied {n} of {records} records in {within:?}").into(),
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
