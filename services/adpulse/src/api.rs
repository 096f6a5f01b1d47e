//! `adpulse api`: the campaign management and reporting API on Postgres
//! (tenant-scoped sessions), the live counters in Redis and the raw-event
//! archive (CQL), with
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
    let archive = adpulse_cql::Cql::connect(&config.cql)
        .await
        .context("connecting to the CQL archive (raw events)")?;
    let archive = adpulse_backends::Archive::cql(archive)
        .await
        .context("preparing the CQL archive's statements")?;
    let state = adpulse_api::AppState::new(&config.api, db)?
        .with_live(live)
        .with_archive(archive);
    tracing::info!(listen = %config.api.listen, "api listening");
    adpulse_api::serve(
        &config.api,
        state,
        listener,
        config.http,
        crate::shutdown_signal(),
    )
    .await?;
    Ok(())
}
