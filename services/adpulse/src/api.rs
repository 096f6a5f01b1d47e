//! `adpulse api`: the campaign management and reporting API on Postgres
//! (tenant-scoped sessions), the live counters in Redis and the raw-event
//! archive (CQL), with `/health/*` and `/metrics`, on `api.listen`.

use std::sync::Arc;

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
    let db = Arc::new(db);
    let switches = crate::switches::follow(
        Arc::clone(&db) as Arc<dyn adpulse_domain::ports::Switches>,
        std::time::Duration::from_millis(config.ops.switch_poll_ms),
    )
    .await;
    let mut state = adpulse_api::AppState::new(&config.api, db)?
        .with_live(crate::open::live(&config).await?)
        .with_archive(crate::open::archive(&config).await?)
        .with_alerts(config.alerts.clone())
        .with_ops(
            switches,
            config.ops.token.as_ref().map(|t| t.expose().as_str()),
        );
    state.assets = state.assets.with_breaker(crate::open::breaker(
        &config,
        config.ops.object_storage_timeout_ms,
    ));
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
