//! `worker-bench`: the stream worker's throughput and freshness, side by
//! side with a consume-only baseline, in one run on this machine.
//!
//! 1. Preloads a fresh topic with `--events` realistic events (one campaign
//!    per partition with `--hot`: everything on one partition).
//! 2. Baseline: an rdkafka consumer reads them all and discards them.
//! 3. The worker (in process, real Postgres, Cassandra and Redis) applies
//!    them all: events/s into every sink.
//! 4. Freshness: while a steady load runs at `--fraction` of that rate,
//!    marker events are sent every 100 ms and their campaign's live counter
//!    polled in Redis: the time from produce to visible, p50/p99/max.
//!
//! Prints a markdown table. Everything it creates (topic, schema,
//! keyspace, key prefix) is removed at the end.

use adpulse_domain::ports::prelude::*;
use std::sync::Arc;
use std::time::{Duration, Instant};

use adpulse_config::Config;
use adpulse_cql::{Cql, CqlArchive};
use adpulse_domain::CampaignId;
use adpulse_domain::ports::{LogRecord, Stream};
use adpulse_kafka::{Admin, Consumer, GroupConsumer, KafkaEventLog};
use adpulse_postgres::Database;
use adpulse_redis::Redis;
use adpulse_worker::{IdentityLinks, Sinks, Worker};
use clap::Parser;
use hdrhistogram::Histogram;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
struct Args {
    /// Events to preload.
    #[arg(long, default_value_t = 200_000)]
    events: usize,
    /// Everything on one partition (one hot campaign).
    #[arg(long)]
    hot: bool,
    /// Steady load during the freshness phase, as a fraction of the measured worker rate.
    #[arg(long, default_value_t = 0.5)]
    fraction: f64,
    /// Seconds of the freshness phase.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(run(args))
}

fn event(campaign: CampaignId, n: u64, rng: &mut fastrand::Rng) -> Vec<u8> {
    let kind = match rng.u32(0..100) {
        0..=89 => "impression",
        90..=98 => "click",
        _ => "conversion",
    };
    event_of(kind, campaign, n, rng)
}

fn event_of(kind: &str, campaign: CampaignId, n: u64, rng: &mut fastrand::Rng) -> Vec<u8> {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    format!(
        r#"{{"event_id":"{}","type":"{kind}","campaign_id":"{campaign}","ad_id":"creative-{}","channel":"display","occurred_at":"{now}","user":{{"device_id":"d-{}"}},"cost_micros":{},"revenue_micros":0,"attributes":{{"country":"GB"}}}}"#,
        uuid::Uuid::from_u128(rng.u128(..) & !(0xf << 76) | (0x4 << 76) | u128::from(n)),
        rng.u32(1..20),
        rng.u32(0..100_000),
        rng.i64(100..3_000),
    )
    .into_bytes()
}

fn record(campaign: CampaignId, tenant: &str, payload: Vec<u8>) -> LogRecord {
    LogRecord {
        stream: Stream::Events,
        key: campaign.to_string().into_bytes(),
        payload,
        headers: vec![
            ("tenant_id", tenant.as_bytes().to_vec()),
            (
                "ingested_at",
                chrono::Utc::now()
                    .timestamp_millis()
                    .to_string()
                    .into_bytes(),
            ),
        ],
    }
}

async fn applied(db: &Database, group: &str, topic: &str) -> i64 {
    db.applied_offsets(group, topic).await.unwrap_or(0)
}

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// Numbers the events in sending order and picks their campaigns at random.
struct Gen {
    tenant: String,
    campaigns: Vec<CampaignId>,
    rng: fastrand::Rng,
    n: u64,
}

impl Gen {
    /// The next event, of a random campaign.
    fn next_event(&mut self) -> LogRecord {
        self.n += 1;
        let c = self.campaigns[self.rng.usize(..self.campaigns.len())];
        record(c, &self.tenant, event(c, self.n, &mut self.rng))
    }

    /// The next event: an impression of `campaign`.
    fn impression(&mut self, campaign: CampaignId) -> LogRecord {
        self.n += 1;
        let payload = event_of("impression", campaign, self.n, &mut self.rng);
        record(campaign, &self.tenant, payload)
    }
}

async fn run(args: Args) -> Res<()> {
    let metrics = adpulse_telemetry::prometheus();
    let mut cfg = Config::load(None)?;
    // The worker's warnings (slow flushes, retries) on stderr.
    let logs = adpulse_config::TelemetryConfig {
        log_filter: std::env::var("BENCH_LOG").unwrap_or_else(|_| "warn".into()),
        ..cfg.telemetry.clone()
    };
    let _telemetry = adpulse_telemetry::init(&logs, "worker-bench")?;
    let id = uuid::Uuid::new_v4().simple().to_string();
    let id = &id[..8];
    let partitions = if args.hot { 1 } else { 12 };
    cfg.kafka.events_topic = format!("bench.{id}.events");
    cfg.kafka.rejected_topic = format!("bench.{id}.rejected");
    cfg.postgres.schema = Some(format!("bench_{id}"));
    cfg.cql.keyspace = format!("bench_{id}");
    cfg.redis.key_prefix = format!("bench_{id}");
    cfg.worker.group_id = format!("bench-{id}");
    let admin = Admin::new(&cfg.kafka)?;
    admin
        .ensure_topic(&cfg.kafka.events_topic, partitions, 1)
        .await?;
    admin.ensure_topic(&cfg.kafka.rejected_topic, 1, 1).await?;
    let db = Database::connect(&cfg.postgres).await?;
    db.migrate().await?;
    let cql = Cql::connect(&cfg.cql).await?;
    cql.migrate(1).await?;
    let redis = Redis::connect(&cfg.redis).await?;
    let log = KafkaEventLog::new(&cfg.kafka)?;
    let mut generator = Gen {
        tenant: uuid::Uuid::now_v7().to_string(),
        campaigns: (0..if args.hot { 1 } else { 100 })
            .map(|_| CampaignId::from_uuid(uuid::Uuid::now_v7()))
            .collect(),
        rng: fastrand::Rng::with_seed(3),
        n: 0,
    };

    preload(&log, &mut generator, &args).await?;
    let baseline = consume_only_baseline(&cfg, partitions, args.events).await?;

    // The worker, from the start of the topic.
    let (stop, running) = start_worker(&cfg, &db, &redis).await?;
    let t = Instant::now();
    let total = args.events as i64;
    while applied(&db, &cfg.worker.group_id, &cfg.kafka.events_topic).await < total {
        if t.elapsed() > Duration::from_secs(600) {
            return Err("worker did not finish the preload in 10 minutes".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let worker_rate = args.events as f64 / t.elapsed().as_secs_f64();
    eprintln!("worker: {worker_rate:.0} events/s into all sinks");

    // Freshness under a steady load at a fraction of that rate.
    let rate = (worker_rate * args.fraction).max(10.0);
    let (hist, sent) =
        freshness_under_load(&log, &redis, &mut generator, rate, args.seconds, total).await?;
    while applied(&db, &cfg.worker.group_id, &cfg.kafka.events_topic).await < sent {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = stop.send(());
    running.await??;
    // Where the worker's time went: seconds spent per sink over the run.
    for line in metrics.render().lines() {
        if line.starts_with("adpulse_worker_sink_duration_seconds_sum")
            || line.starts_with("adpulse_worker_sink_duration_seconds_count")
        {
            eprintln!("{line}");
        }
    }
    print_row(&args, baseline, worker_rate, rate, &hist);
    admin.delete_topic(&cfg.kafka.events_topic).await?;
    admin.delete_topic(&cfg.kafka.rejected_topic).await?;
    cql.drop_keyspace().await?;
    redis.delete_prefix().await?;
    db.drop_schema().await?;
    Ok(())
}

/// Appends `args.events` events to the log, 5,000 at a time.
async fn preload(log: &KafkaEventLog, generator: &mut Gen, args: &Args) -> Res<()> {
    eprintln!(
        "preloading {} events ({})",
        args.events,
        if args.hot {
            "one hot campaign, one partition"
        } else {
            "100 campaigns, 12 partitions"
        }
    );
    while (generator.n as usize) < args.events {
        let chunk: Vec<LogRecord> = (0..5_000.min(args.events - generator.n as usize))
            .map(|_| generator.next_event())
            .collect();
        for r in log.append(chunk).await {
            r?;
        }
    }
    Ok(())
}

/// Baseline: read everything, discard; events/s.
async fn consume_only_baseline(cfg: &Config, partitions: i32, events: usize) -> Res<f64> {
    let consumer = Consumer::from_beginning(&cfg.kafka, &cfg.kafka.events_topic, partitions)?;
    let t = Instant::now();
    let mut read = 0;
    while read < events {
        match consumer.recv(Duration::from_secs(10)).await? {
            Some(_) => read += 1,
            None => return Err("baseline consumer stalled".into()),
        }
    }
    let baseline = events as f64 / t.elapsed().as_secs_f64();
    drop(consumer);
    eprintln!("consume-only baseline: {baseline:.0} events/s");
    Ok(baseline)
}

/// The worker in process, from the start of the topic, as `adpulse worker`
/// composes it; the sender stops it.
async fn start_worker(
    cfg: &Config,
    db: &Database,
    redis: &Redis,
) -> Res<(
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<Result<(), adpulse_worker::WorkerError>>,
)> {
    let sinks = Sinks {
        db: Arc::new(db.clone()),
        archive: Arc::new(CqlArchive::new(Cql::connect(&cfg.cql).await?).await?),
        live: Arc::new(redis.clone()),
        // As `adpulse worker` composes it: links kept when capping counts
        // in Redis.
        links: (cfg.capping.backend == adpulse_config::CappingBackend::Redis).then(|| {
            IdentityLinks {
                links: Arc::new(redis.clone()),
                counters: Arc::new(redis.clone()),
            }
        }),
        log: Arc::new(KafkaEventLog::new(&cfg.kafka)?),
    };
    let source = GroupConsumer::new(&cfg.kafka, &cfg.worker.group_id, &cfg.kafka.events_topic)?;
    let worker = Worker::new(cfg.clone(), Box::new(source), sinks);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(worker.run(async {
        let _ = stopped.await;
    }));
    Ok((stop, running))
}

/// A steady load at `rate` for `seconds`, with a marker impression every
/// tick timed from produce to visible in its live counter; returns those
/// times (ms) and the records sent in all, counting the `sent` before.
async fn freshness_under_load(
    log: &KafkaEventLog,
    redis: &Redis,
    generator: &mut Gen,
    rate: f64,
    seconds: u64,
    mut sent: i64,
) -> Res<(Histogram<u64>, i64)> {
    let marker = generator.campaigns[0];
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000, 3)?;
    let phase_end = Instant::now() + Duration::from_secs(seconds);
    let tick = Duration::from_millis(100);
    let per_tick = (rate * tick.as_secs_f64()).round() as usize;
    let mut conn = redis.connection();
    let key = redis.realtime_key(marker);
    let mut next_tick = Instant::now();
    while Instant::now() < phase_end {
        next_tick += tick;
        let load: Vec<LogRecord> = (0..per_tick).map(|_| generator.next_event()).collect();
        sent += load.len() as i64;
        let appended = log.append(load);
        // The marker: its campaign's impressions must rise past what was sent.
        let before: i64 = redis::cmd("HGET")
            .arg(&key)
            .arg("impressions")
            .query_async::<Option<i64>>(&mut conn)
            .await?
            .unwrap_or(0);
        let started = Instant::now();
        for r in log.append(vec![generator.impression(marker)]).await {
            r?;
        }
        sent += 1;
        for r in appended.await {
            r?;
        }
        loop {
            let now: i64 = redis::cmd("HGET")
                .arg(&key)
                .arg("impressions")
                .query_async::<Option<i64>>(&mut conn)
                .await?
                .unwrap_or(0);
            if now > before {
                break;
            }
            if started.elapsed() > Duration::from_secs(30) {
                return Err("a marker event did not reach the live counter in 30 s".into());
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        hist.record(
            u64::try_from(started.elapsed().as_millis())
                .unwrap_or(u64::MAX)
                .max(1),
        )?;
        tokio::time::sleep_until(next_tick.into()).await;
    }
    Ok((hist, sent))
}

/// The result as one markdown table row on stdout.
#[allow(clippy::print_stdout)]
fn print_row(args: &Args, baseline: f64, worker_rate: f64, rate: f64, hist: &Histogram<u64>) {
    println!(
        "| {} | {} | {baseline:.0} | {worker_rate:.0} | {:.2} | {rate:.0} | {} / {} / {} |",
        if args.hot {
            "one hot campaign (1 partition)"
        } else {
            "100 campaigns (12 partitions)"
        },
        args.events,
        worker_rate / baseline,
        hist.value_at_quantile(0.5),
        hist.value_at_quantile(0.99),
        hist.max(),
    );
}
