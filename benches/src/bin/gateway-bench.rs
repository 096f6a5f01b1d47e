//! `gateway-bench`: the gateway as the benchmark runs it, on a null event
//! log (`--sink null`: the gateway's own cost) or on Kafka (`--sink kafka`),
//! with a real Postgres directory. It creates a tenant, `--campaigns`
//! campaigns and an ingest key in a private schema, writes the key and the
//! campaign ids into `--out`, serves until SIGTERM/Ctrl-C, then removes the
//! schema (and the Kafka topic it created).

use adpulse_domain::ports::prelude::*;
use std::path::PathBuf;
use std::sync::Arc;

use adpulse_config::Config;
use adpulse_gateway::{Gateway, NullEventLog, serve};
use adpulse_kafka::{Admin, KafkaEventLog};
use adpulse_postgres::Database;
use clap::Parser;

/// The same allocator as the `adpulse` binary, so the benchmark measures
/// what ships.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
struct Args {
    /// null or kafka.
    #[arg(long, default_value = "null")]
    sink: String,
    /// Listen address.
    #[arg(long, default_value = "127.0.0.1:8091")]
    listen: String,
    /// Campaigns to create.
    #[arg(long, default_value_t = 1000)]
    campaigns: usize,
    /// Folder for `key` and `campaigns`.
    #[arg(long)]
    out: PathBuf,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(args))
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let mut cfg = Config::load(None)?;
    cfg.gateway.tenant_events_per_sec = 100_000_000;
    cfg.gateway.tenant_burst = 100_000_000;
    let id = uuid::Uuid::new_v4().simple().to_string();
    let schema = format!("bench_{}", &id[..8]);
    let db = Database::connect_in_schema(&cfg.postgres, &schema).await?;
    db.migrate().await?;
    write_fixture(&db, &args).await?;

    let listener = tokio::net::TcpListener::bind(&args.listen).await?;
    let shutdown = shutdown_signal();
    let limits = cfg.limits.limits();
    eprintln!("gateway-bench: {} sink on {}", args.sink, args.listen);
    match args.sink.as_str() {
        "null" => {
            serve(
                Gateway::new(
                    cfg.gateway.clone(),
                    limits,
                    Arc::new(NullEventLog),
                    Arc::new(db.clone()),
                )?,
                listener,
                cfg.http,
                shutdown,
            )
            .await?
        }
        "kafka" => {
            cfg.kafka.events_topic = format!("bench.{}.events", &id[..8]);
            cfg.kafka.rejected_topic = format!("bench.{}.rejected", &id[..8]);
            let admin = Admin::new(&cfg.kafka)?;
            admin
                .ensure_topic(&cfg.kafka.events_topic, cfg.kafka.partitions, 1)
                .await?;
            admin.ensure_topic(&cfg.kafka.rejected_topic, 1, 1).await?;
            let log = KafkaEventLog::new(&cfg.kafka)?;
            serve(
                Gateway::new(
                    cfg.gateway.clone(),
                    limits,
                    Arc::new(log),
                    Arc::new(db.clone()),
                )?,
                listener,
                cfg.http,
                shutdown,
            )
            .await?;
            admin.delete_topic(&cfg.kafka.events_topic).await?;
            admin.delete_topic(&cfg.kafka.rejected_topic).await?;
        }
        other => return Err(format!("unknown sink {other:?}: null or kafka").into()),
    }
    db.drop_schema().await?;
    Ok(())
}

/// Resolves on Ctrl-C or, on Unix, SIGTERM.
async fn shutdown_signal() {
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let shutdown = async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            () = shutdown => {},
            _ = term.recv() => {},
        }
        Ok::<_, std::io::Error>(())
    };
    let _ = shutdown.await;
}

/// A tenant with `args.campaigns` campaigns and an ingest key, written to
/// `args.out` (`campaigns`, one id a line, and `key`).
async fn write_fixture(db: &Database, args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let tenant = db.create_tenant("bench").await?;
    let mut ids = String::new();
    for i in 0..args.campaigns {
        ids.push_str(
            &db.create_campaign(tenant, &format!("bench {i}"), None)
                .await?
                .to_string(),
        );
        ids.push('\n');
    }
    let mut random = [0u8; 32];
    getrandom::fill(&mut random)?;
    let key = db.create_ingest_key(tenant, "bench", random).await?;
    std::fs::create_dir_all(&args.out)?;
    std::fs::write(args.out.join("campaigns"), ids)?;
    std::fs::write(args.out.join("key"), &key.secret)?;
    Ok(())
}
