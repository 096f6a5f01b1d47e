//! `adpulse migrate`: brings Postgres and the CQL keyspace to the schema this
//! binary was built with. Safe to run any number of times, and by several
//! processes at once (Postgres migrations take an advisory lock; CQL
//! statements are `IF NOT EXISTS`).

use std::time::{Duration, Instant};

use adpulse_config::Config;
use adpulse_cql::Cql;
use adpulse_domain::ports::Connected as _;
use adpulse_postgres::Database;
use anyhow::Context as _;

/// Options of `adpulse migrate`.
#[derive(clap::Args)]
pub struct Args {
    /// Keep retrying unreachable databases for this many seconds (for
    /// containers that start together).
    #[arg(long, default_value_t = 0)]
    wait: u64,
}

/// Applies every pending migration.
pub async fn run(config: Config, args: Args) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(args.wait);

    let db = retry(
        deadline,
        "postgres",
        || Database::connect(&config.postgres),
        |e| e.is_retryable(),
    )
    .await?;
    let ran = db.migrate().await.context("postgres migrations")?;
    tracing::info!(ran, applied = ?db.applied().await?, "postgres schema up to date");
    db.close().await;

    let cql = retry(
        deadline,
        "cql",
        || Cql::connect(&config.cql),
        |e| e.is_retryable(),
    )
    .await?;
    let ran = cql
        .migrate(config.cql.replication_factor)
        .await
        .context("cql migrations")?;
    tracing::info!(ran, keyspace = cql.keyspace(), applied = ?cql.applied().await?, "cql schema up to date");
    Ok(())
}

/// Calls `connect` until it succeeds, fails for good, or `deadline` passes.
async fn retry<T, E, F, Fut>(
    deadline: Instant,
    what: &str,
    mut connect: F,
    retryable: impl Fn(&E) -> bool,
) -> anyhow::Result<T>
where
    E: std::error::Error + Send + Sync + 'static,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut backoff = Duration::from_millis(200);
    loop {
        match connect().await {
            Ok(v) => return Ok(v),
            Err(e) if retryable(&e) && Instant::now() + backoff < deadline => {
                tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "{what} not reachable yet");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
            Err(e) => return Err(e).with_context(|| format!("connecting to {what}")),
        }
    }
}
