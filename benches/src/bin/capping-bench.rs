//! `capping-bench`: the parts of the frequency-capping benchmark
//! (`benches/capping.sh` runs them in one go and prints the tables):
//!
//! - `serve`: a gateway deciding on Redis, with one tenant, its key and
//!   campaigns capped at `--cap` per day (written to `--out`), for
//!   `adpulse-load --mode decide`;
//! - `library`: decisions through the library (the gateway's `Decider`) on
//!   Redis or in process, as fast as they answer, with latency percentiles
//!   and a count of people allowed past the cap;
//! - `memory`: Redis memory per active (person, campaign) pair, filled
//!   through the real reservation script;
//! - `sketch`: the count-min sketch's memory and measured over-cap rate
//!   against exact counting, sized for the pairs (and, for comparison, at a
//!   fixed size).
//!
//! Each prints one JSON line on stdout.

use adpulse_domain::ports::prelude::*;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use adpulse_capping::decide::{Candidate, Decider, OnFailure};
use adpulse_capping::memory::MemoryStore;
use adpulse_capping::sketch::{CountMin, SketchSize};
use adpulse_config::{CappingConfig, Config};
use adpulse_domain::CampaignId;
use adpulse_domain::targeting::{CapPeriod, CapScope, CapWindow, FrequencyCap};
use adpulse_gateway::capping::Capping;
use adpulse_gateway::{Gateway, NullEventLog, serve};
use adpulse_postgres::Database;
use adpulse_redis::Redis;
use clap::{Parser, Subcommand};
use hdrhistogram::Histogram;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// A gateway deciding on Redis, until SIGTERM.
    Serve {
        #[arg(long, default_value = "127.0.0.1:8092")]
        listen: String,
        #[arg(long, default_value_t = 100)]
        campaigns: usize,
        #[arg(long, default_value_t = 3)]
        cap: u32,
        #[arg(long)]
        out: PathBuf,
    },
    /// Decisions through the library.
    Library {
        /// `redis` or `memory`.
        #[arg(long, default_value = "redis")]
        backend: String,
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        #[arg(long, default_value_t = 10)]
        duration: u64,
        #[arg(long, default_value_t = 1_000_000)]
        people: usize,
        #[arg(long, default_value_t = 100)]
        campaigns: usize,
        #[arg(long, default_value_t = 3)]
        cap: u32,
    },
    /// Redis memory per active (person, campaign) pair.
    Memory {
        #[arg(long)]
        people: u64,
        /// Capped campaigns each person has seen today.
        #[arg(long, default_value_t = 1)]
        campaigns_per_person: usize,
        #[arg(long, default_value_t = 256)]
        concurrency: usize,
    },
    /// The sketch's over-cap rate against exact counting.
    Sketch {
        /// Active (person, campaign) pairs.
        #[arg(long)]
        pairs: u64,
        /// Target over-cap rate to size for.
        #[arg(long, default_value_t = 0.01)]
        rate: f64,
        /// A fixed width instead of sizing (with `--depth`).
        #[arg(long)]
        width: Option<usize>,
        #[arg(long, default_value_t = 5)]
        depth: usize,
        #[arg(long, default_value_t = 3)]
        cap: u32,
    },
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let out = runtime.block_on(async {
        match args.command {
            Command::Serve {
                listen,
                campaigns,
                cap,
                out,
            } => serve_gateway(&listen, campaigns, cap, &out).await,
            Command::Library {
                backend,
                concurrency,
                duration,
                people,
                campaigns,
                cap,
            } => library(&backend, concurrency, duration, people, campaigns, cap).await,
            Command::Memory {
                people,
                campaigns_per_person,
                concurrency,
            } => memory(people, campaigns_per_person, concurrency).await,
            Command::Sketch {
                pairs,
                rate,
                width,
                depth,
                cap,
            } => Ok(sketch(pairs, rate, width, depth, cap)),
        }
    })?;
    #[allow(clippy::print_stdout)]
    {
        println!("{out}");
    }
    Ok(())
}

fn daily(max: u32) -> FrequencyCap {
    FrequencyCap {
        max,
        per: CapPeriod::Day,
        scope: CapScope::Campaign,
        window: CapWindow::Calendar,
    }
}

async fn serve_gateway(
    listen: &str,
    campaigns: usize,
    cap: u32,
    out: &std::path::Path,
) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    let mut cfg = Config::load(None)?;
    cfg.gateway.tenant_events_per_sec = 100_000_000;
    cfg.gateway.tenant_burst = 100_000_000;
    let id = uuid::Uuid::new_v4().simple().to_string();
    let db = Database::connect_in_schema(&cfg.postgres, &format!("bench_{}", &id[..8])).await?;
    db.migrate().await?;
    let tenant = db.create_tenant("bench").await?;
    let targeting = serde_json::json!({ "frequency_cap": daily(cap) }).to_string();
    let mut ids = String::new();
    for i in 0..campaigns {
        let c = db
            .create_campaign(tenant, &format!("capped {i}"), None)
            .await?;
        let (_, version) = db
            .campaign_targeting(tenant, c)
            .await?
            .ok_or("campaign vanished")?;
        db.set_campaign_targeting(tenant, c, version, &targeting)
            .await?;
        ids.push_str(&format!("{c}\n"));
    }
    let mut random = [0u8; 32];
    getrandom::fill(&mut random)?;
    let key = db.create_ingest_key(tenant, "bench", random).await?;
    let redis = Redis::connect(&cfg.redis).await?;
    redis.delete_prefix().await?;
    let redis = Arc::new(redis);
    let capping = Capping::new(redis.clone(), redis, &CappingConfig::default());
    let gateway = Gateway::new(
        cfg.gateway.clone(),
        cfg.limits.limits(),
        Arc::new(NullEventLog),
        Arc::new(db),
    )?
    .with_capping(Some(capping));
    let listener = tokio::net::TcpListener::bind(listen).await?;
    std::fs::create_dir_all(out)?;
    std::fs::write(out.join("campaigns"), ids)?;
    std::fs::write(out.join("key"), &key.secret)?;
    eprintln!("capping-bench: gateway deciding on Redis at {listen}");
    let shutdown = async {
        if let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            term.recv().await;
        }
    };
    serve(gateway, listener, cfg.http, shutdown).await?;
    Ok(serde_json::json!({"served": listen}))
}

async fn library(
    backend: &str,
    concurrency: usize,
    duration: u64,
    people: usize,
    campaigns: usize,
    cap: u32,
) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    let candidates: Vec<Candidate> = (0..campaigns)
        .map(|_| Candidate {
            campaign: CampaignId::from_uuid(uuid::Uuid::now_v7()),
            ad: None,
            timezone: chrono_tz::Europe::Berlin,
            cap: Some(daily(cap)),
        })
        .collect();
    match backend {
        "redis" => {
            let cfg = Config::load(None)?;
            let redis = Redis::connect(&cfg.redis).await?;
            redis.delete_prefix().await?;
            let d = Decider::new(Arc::new(redis.clone()), OnFailure::Deny);
            let out = drive(d, concurrency, duration, people, candidates, cap).await;
            redis.delete_prefix().await?;
            out
        }
        "memory" => {
            let d = Decider::new(Arc::new(MemoryStore::new()), OnFailure::Deny);
            drive(d, concurrency, duration, people, candidates, cap).await
        }
        other => Err(format!("--backend is redis or memory, not {other}").into()),
    }
}

/// `concurrency` tasks deciding for random people and campaigns until the
/// time is up; 2 s of warm-up first.
async fn drive(
    decider: Decider,
    concurrency: usize,
    duration: u64,
    people: usize,
    candidates: Vec<Candidate>,
    cap: u32,
) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    let decider = Arc::new(decider);
    let candidates = Arc::new(candidates);
    let allowed: Arc<Vec<AtomicU32>> = Arc::new(
        (0..people * candidates.len())
            .map(|_| AtomicU32::new(0))
            .collect(),
    );
    let measuring = Arc::new(AtomicBool::new(false));
    let decisions = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let measure_from = start + Duration::from_secs(2);
    let end = measure_from + Duration::from_secs(duration.min(120));
    let mut tasks = Vec::new();
    for i in 0..concurrency.max(1) {
        let (decider, candidates, allowed, measuring, decisions) = (
            Arc::clone(&decider),
            Arc::clone(&candidates),
            Arc::clone(&allowed),
            Arc::clone(&measuring),
            Arc::clone(&decisions),
        );
        tasks.push(tokio::spawn(async move {
            let mut rng = fastrand::Rng::with_seed(i as u64);
            let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("bounds");
            let mut n = 0u32;
            while Instant::now() < end {
                // An in-process store never waits: let the clock task run.
                n = n.wrapping_add(1);
                if n.is_multiple_of(32) {
                    tokio::task::yield_now().await;
                }
                let (p, c) = (rng.usize(..people), rng.usize(..candidates.len()));
                let person = format!("l:u-{p}#bench");
                let t = Instant::now();
                let out = decider
                    .decide(
                        &person,
                        std::slice::from_ref(&candidates[c]),
                        chrono::Utc::now(),
                    )
                    .await;
                let took = t.elapsed();
                if out.first().is_some_and(|o| o.allow) {
                    allowed[p * candidates.len() + c].fetch_add(1, Ordering::Relaxed);
                }
                if measuring.load(Ordering::Relaxed) {
                    let _ = hist.record(u64::try_from(took.as_micros()).unwrap_or(u64::MAX).max(1));
                    decisions.fetch_add(1, Ordering::Relaxed);
                }
            }
            hist
        }));
    }
    tokio::time::sleep_until(measure_from.into()).await;
    measuring.store(true, Ordering::Relaxed);
    let measured_at = Instant::now();
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    for t in tasks {
        hist.add(t.await?)?;
    }
    let secs = measured_at.elapsed().as_secs_f64();
    let n = decisions.load(Ordering::Relaxed);
    let violations = allowed
        .iter()
        .filter(|a| a.load(Ordering::Relaxed) > cap)
        .count();
    Ok(serde_json::json!({
        "decisions": n,
        "decisions_per_sec": n as f64 / secs,
        "p50_ms": hist.value_at_quantile(0.5) as f64 / 1000.0,
        "p99_ms": hist.value_at_quantile(0.99) as f64 / 1000.0,
        "p999_ms": hist.value_at_quantile(0.999) as f64 / 1000.0,
        "allowed": allowed.iter().map(|a| u64::from(a.load(Ordering::Relaxed))).sum::<u64>(),
        "violations": violations,
        "concurrency": concurrency,
    }))
}

async fn memory(
    people: u64,
    per_person: usize,
    concurrency: usize,
) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    let cfg = Config::load(None)?;
    let redis = Redis::connect(&cfg.redis).await?;
    let _: () = redis::cmd("FLUSHALL")
        .query_async(&mut redis.connection())
        .await?;
    let before = used(redis.clone()).await?;
    let campaigns: Vec<Candidate> = (0..1000)
        .map(|_| Candidate {
            campaign: CampaignId::from_uuid(uuid::Uuid::now_v7()),
            ad: None,
            timezone: chrono_tz::Europe::Berlin,
            cap: Some(daily(3)),
        })
        .collect();
    let decider = Arc::new(Decider::new(Arc::new(redis.clone()), OnFailure::Deny));
    let campaigns = Arc::new(campaigns);
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (decider, campaigns, next) = (
            Arc::clone(&decider),
            Arc::clone(&campaigns),
            Arc::clone(&next),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let p = next.fetch_add(1, Ordering::Relaxed);
                if p >= people {
                    break;
                }
                // The person's campaigns today, decided as one ad request.
                let first = usize::try_from(p).unwrap_or(0) % campaigns.len();
                let batch: Vec<Candidate> = (0..per_person)
                    .map(|k| campaigns[(first + k * 7) % campaigns.len()].clone())
                    .collect();
                let person = format!("l:user-{p}#bench");
                decider.decide(&person, &batch, chrono::Utc::now()).await;
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    let fill_secs = started.elapsed().as_secs_f64();
    let after = used(redis.clone()).await?;
    let keys: u64 = redis::cmd("DBSIZE")
        .query_async(&mut redis.connection())
        .await?;
    let _: () = redis::cmd("FLUSHALL")
        .query_async(&mut redis.connection())
        .await?;
    let pairs = people * per_person as u64;
    let bytes = after.saturating_sub(before);
    Ok(serde_json::json!({
        "people": people,
        "campaigns_per_person": per_person,
        "pairs": pairs,
        "keys": keys,
        "bytes": bytes,
        "bytes_per_pair": bytes as f64 / pairs as f64,
        "bytes_per_person": bytes as f64 / people as f64,
        "fill_decisions_per_sec": people as f64 / fill_secs,
    }))
}

/// Redis's `used_memory`.
async fn used(redis: Redis) -> Result<u64, Box<dyn std::error::Error>> {
    let info: String = redis::cmd("INFO")
        .arg("memory")
        .query_async(&mut redis.connection())
        .await?;
    info.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .ok_or_else(|| "INFO has no used_memory".into())
}

/// Every pair asks `cap + 1` times, round by round (all pairs once, then
/// again): exact counting allows the first `cap` of each and refuses the
/// last. Over-capped: a request exact counting allows that the sketch
/// refuses; a violation: the opposite.
fn sketch(
    pairs: u64,
    rate: f64,
    width: Option<usize>,
    depth: usize,
    cap: u32,
) -> serde_json::Value {
    let size = match width {
        Some(width) => SketchSize { width, depth },
        None => SketchSize::for_pairs(pairs, rate),
    };
    let mut cm = CountMin::new(size);
    let (mut exact_allowed, mut over_capped, mut violations) = (0u64, 0u64, 0u64);
    let started = Instant::now();
    for round in 0..=cap {
        let exact = round < cap;
        for pair in 0..pairs {
            let allow = cm.reserve(&pair.to_le_bytes(), cap).allow;
            if exact {
                exact_allowed += 1;
                over_capped += u64::from(!allow);
            } else {
                violations += u64::from(allow);
            }
        }
    }
    let ops = pairs * u64::from(cap + 1);
    serde_json::json!({
        "pairs": pairs,
        "width": size.width,
        "depth": size.depth,
        "bytes": size.bytes(),
        "bytes_per_pair": size.bytes() as f64 / pairs as f64,
        "target_rate": if width.is_some() { serde_json::Value::Null } else { rate.into() },
        "bound": size.over_cap_bound(pairs),
        "over_cap_rate": over_capped as f64 / exact_allowed as f64,
        "violations": violations,
        "ops_per_sec": ops as f64 / started.elapsed().as_secs_f64(),
    })
}
