//! `adpulse api`: the campaign management and reporting API on Postgres
//! (tenant-scoped sessions) and the live counters in Redis, with
//! `/health/*` and `/metrics`, on `api.listen`.

use adpulse_config::Config;
use adpulse_postgres::Database;
use anyhow::Context as _;

/// Serves until SIGTERM or Ctrl-C, then finishes in-flight requests.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(&config.api.listen)
        .await
        .with_context(|| format!("binding {}", config.api.listen))?;
    let db = Database::connect_for_tenants(&config.postgres)
        .await
        .context("connecting to postgres")?;
    let live = adpulse_redis::Redis::connect(&config.redis)
        .await
        .context("connecting to redis (the live counters behind realtime reports)")?;
    tracing::info!(listen = %config.api.listen, "api listening");
    adpulse_api::serve(
        &config.api,
        db,
        Some(live),
        listener,
        crate::shutdown_signal(),
    )
    .await?;
    Ok(())
}
