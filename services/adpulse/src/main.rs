//! `adpulse`: one binary for every role. This file only parses the command
//! line, loads the configuration and hands both to the command.

mod admin;
mod admin_switch;
mod alerter;
mod api;
mod gateway;
mod guarded;
mod migrate;
mod open;
mod probe;
mod switches;
mod up;
mod worker;

use std::path::PathBuf;
use std::process::ExitCode;

use adpulse_config::{Config, Role};
use clap::{Parser, Subcommand};

/// glibc's allocator fragments under the gateway's many short-lived, mixed
/// size allocations across threads; mimalloc measured markedly faster there
/// (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Real-time ad-campaign events.
#[derive(Parser)]
#[command(name = "adpulse", version, about)]
struct Cli {
    /// TOML configuration file; `ADPULSE__SECTION__KEY` variables override it.
    #[arg(long, short, global = true, env = "ADPULSE_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole platform in this process on embedded backends, with
    /// every byte in one data folder: no servers to install.
    Up(up::Args),
    /// Apply the Postgres migrations and the CQL schema, creating the keyspace
    /// if needed.
    Migrate(migrate::Args),
    /// Run the ingestion gateway (HTTP → Kafka).
    Gateway,
    /// Run a stream worker (Kafka → Postgres, CQL, Redis).
    Worker,
    /// Run the campaign management API (HTTP → Postgres).
    Api,
    /// Run an alerter (window results in Kafka → rules → notifications).
    Alerter,
    /// Create tenants, users, campaigns and ingest keys.
    Admin(admin::AdminArgs),
    /// Check the configuration and print it (secrets redacted).
    Config,
    /// Exit 0 if GET URL answers 2xx (for container health checks).
    Probe {
        /// An http:// URL.
        url: String,
    },
}

impl Command {
    /// What the configuration is checked for.
    fn role(&self) -> Role {
        match self {
            Self::Up(_) => Role::Up,
            Self::Migrate(_) => Role::Migrate,
            Self::Gateway => Role::Gateway,
            Self::Worker => Role::Worker,
            Self::Api => Role::Api,
            Self::Alerter => Role::Alerter,
            Self::Admin(_) | Self::Config | Self::Probe { .. } => Role::Admin,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Probe { url } = &cli.command {
        return match probe::run(url) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("adpulse probe: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    let config = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("adpulse: {e}");
            return ExitCode::from(2);
        }
    };
    // Every problem of the configuration is reported here, at once, before
    // any command opens a connection: an unset secret must not surface as
    // a failure to reach a database.
    if let Err(problems) = config.check(cli.command.role()) {
        if matches!(cli.command, Command::Config) {
            eprintln!("{config:#?}");
        }
        eprintln!("adpulse: {problems}");
        return ExitCode::from(2);
    }
    let result = match cli.command {
        Command::Config => {
            eprintln!("{config:#?}");
            Ok(())
        }
        Command::Up(args) => run("up", &config, |c| up::run(c, args)),
        Command::Migrate(args) => run("migrate", &config, |c| migrate::run(c, args)),
        Command::Gateway => run("gateway", &config, gateway::run),
        Command::Worker => run("worker", &config, worker::run),
        Command::Api => run("api", &config, api::run),
        Command::Alerter => run("alerter", &config, alerter::run),
        Command::Admin(cmd) => run("admin", &config, |c| admin::run(c, cmd)),
        Command::Probe { .. } => Ok(()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("adpulse: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Starts telemetry and a runtime, runs `f`, and flushes telemetry.
fn run<F, Fut>(service: &'static str, config: &Config, f: F) -> anyhow::Result<()>
where
    F: FnOnce(Config) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let telemetry = adpulse_telemetry::init(&config.telemetry, service)?;
    let result = runtime.block_on(f(config.clone()));
    telemetry.shutdown();
    result
}

/// Creates `topics` (with the configured partitions and replication) where
/// they do not exist yet.
async fn ensure_topics(
    kafka: &adpulse_config::KafkaConfig,
    topics: &[&String],
) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let admin = adpulse_kafka::Admin::new(kafka)?;
    for topic in topics {
        admin
            .ensure_topic(topic, kafka.partitions, kafka.replication_factor)
            .await
            .with_context(|| format!("ensuring topic {topic}"))?;
    }
    Ok(())
}

/// Resolves on SIGTERM (how orchestrators stop a process) or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown requested");
}
