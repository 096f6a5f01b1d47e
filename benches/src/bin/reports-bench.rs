//! `reports-bench`: history for the reporting benchmark.
//!
//! `load` fills a Postgres schema with `--events` events over
//! `--campaigns` campaigns and `--days` days, through the stream worker's
//! own aggregation path (`AggregateBatch` → `Database::commit_batch`, under
//! a partition claim like the worker's), and reports how long it took and
//! how many bytes the aggregates take per event. Events are deterministic
//! for a seed: 90% impressions, 9% clicks, 1% conversions; each campaign
//! has a main channel (70%); people are drawn from a pool with Zipf skew,
//! so they come back across days.
//!
//! Prints one JSON line on stdout.

use std::time::Instant;

use adpulse_config::Config;
use adpulse_domain::aggregate::AggregateBatch;
use adpulse_domain::{AdId, Channel, Event, EventId, EventType, Micros, UserIds};
use adpulse_postgres::Database;
use chrono::{Duration, Utc};
use clap::{Parser, Subcommand};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fill a schema with history.
    Load {
        /// The Postgres schema (created; must not exist).
        #[arg(long)]
        schema: String,
        #[arg(long, default_value_t = 10_000)]
        campaigns: usize,
        #[arg(long, default_value_t = 90)]
        days: i64,
        #[arg(long, default_value_t = 50_000_000)]
        events: u64,
        /// Distinct people.
        #[arg(long, default_value_t = 5_000_000)]
        people: u64,
        /// Events per committed batch.
        #[arg(long, default_value_t = 20_000)]
        batch: usize,
        #[arg(long, default_value_t = 90)]
        seed: u64,
    },
}

const CHANNELS: [Channel; 5] = [
    Channel::Display,
    Channel::Social,
    Channel::Search,
    Channel::Video,
    Channel::Native,
];
const ZONES: [&str; 6] = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Asia/Tokyo",
    "Europe/London",
    "America/Los_Angeles",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let out = runtime.block_on(async {
        match args.command {
            Command::Load {
                schema,
                campaigns,
                days,
                events,
                people,
                batch,
                seed,
            } => load(&schema, campaigns, days, events, people, batch, seed).await,
        }
    })?;
    #[allow(clippy::print_stdout)]
    {
        println!("{out}");
    }
    Ok(())
}

async fn load(
    schema: &str,
    campaigns: usize,
    days: i64,
    events: u64,
    people: u64,
    batch_events: usize,
    seed: u64,
) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    let cfg = Config::load(None)?;
    let db = Database::connect_in_schema(&cfg.postgres, schema).await?;
    db.migrate().await?;
    let tenant = db.create_tenant("reports bench").await?;
    let mut ids = Vec::with_capacity(campaigns);
    for i in 0..campaigns {
        let c = db
            .create_campaign(tenant, &format!("campaign {i}"), None)
            .await?;
        ids.push(c);
    }
    for (i, zone) in ZONES.iter().enumerate() {
        let these: Vec<uuid::Uuid> = ids
            .iter()
            .skip(i)
            .step_by(ZONES.len())
            .map(|c| *c.as_uuid())
            .collect();
        db.set_campaign_zones(zone, &these).await?;
    }
    let mut rng = fastrand::Rng::with_seed(seed);
    let main_channel: Vec<Channel> = (0..campaigns)
        .map(|_| CHANNELS[rng.usize(..CHANNELS.len())])
        .collect();
    let end = Utc::now()
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .ok_or("midnight")?
        .and_utc();
    let span_ms = days * 86_400_000;
    let mut claim = db
        .claim_partition("reports-bench", schema, 0)
        .await?;
    let started = Instant::now();
    let mut batch = AggregateBatch::default();
    let mut offset = claim.next_offset;
    let mut sent = 0u64;
    let ad: AdId = serde_json::from_value(serde_json::json!("creative-1"))?;
    while sent < events {
        let c = rng.usize(..campaigns);
        let roll = rng.u32(0..100);
        let event_type = match roll {
            0..=89 => EventType::Impression,
            90..=98 => EventType::Click,
            _ => EventType::Conversion,
        };
        // Zipf-like people: a power of a uniform number skews toward the
        // pool's start, so the same people come back.
        let person = ((rng.f64().powi(3)) * people as f64) as u64;
        let event = Event {
            event_id: EventId::from_uuid(uuid::Uuid::from_u128(rng.u128(..))),
            event_type,
            campaign_id: ids[c],
            ad_id: ad.clone(),
            channel: if rng.u32(0..10) < 7 {
                main_channel[c]
            } else {
                CHANNELS[rng.usize(..CHANNELS.len())]
            },
            occurred_at: end - Duration::milliseconds(rng.i64(1..span_ms)),
            user: Some(UserIds {
                device_id: Some(format!("p{person}")),
                ..UserIds::default()
            }),
            cost_micros: Micros::new(if event_type == EventType::Conversion {
                0
            } else {
                rng.i64(100..5_000)
            })
            .unwrap_or_default(),
            revenue_micros: Micros::new(if event_type == EventType::Conversion {
                rng.i64(1_000_000..90_000_000)
            } else {
                0
            })
            .unwrap_or_default(),
            attributes: std::collections::BTreeMap::new(),
        };
        batch.add(&event, tenant);
        sent += 1;
        if batch.events() >= batch_events || sent == events {
            offset += batch.events() as i64;
            match db.commit_batch(&mut claim, offset, &batch).await? {
                adpulse_postgres::Commit::Applied(_) => {}
                adpulse_postgres::Commit::Fenced => return Err("fenced".into()),
            }
            batch = AggregateBatch::default();
            if sent % 1_000_000 < batch_events as u64 {
                eprintln!(
                    "reports-bench: {sent} events in {:.0} s",
                    started.elapsed().as_secs_f64()
                );
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let bytes = db.relation_bytes("campaign_aggregates").await?;
    let rows = db.aggregate_rows().await?;
    Ok(serde_json::json!({
        "schema": schema,
        "tenant": tenant.to_string(),
        "campaigns": campaigns,
        "days": days,
        "events": events,
        "seconds": secs,
        "events_per_sec": events as f64 / secs,
        "aggregate_rows": rows,
        "aggregate_bytes": bytes,
        "bytes_per_event": bytes as f64 / events as f64,
    }))
}

