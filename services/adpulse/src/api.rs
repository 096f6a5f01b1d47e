//! `adpulse api`: the campaign management API on Postgres (tenant-scoped
//! sessions), with `/health/*` and `/metrics`, on `api.listen`.

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
    tracing::info!(listen = %config.api.listen, "api listening");
    adpulse_api::serve(&config.api, db, listener, crate::shutdown_signal()).await?;
    Ok(())
}
