//! `adpulse alerter`: alert rules evaluated on the window results in
//! Kafka, recorded in Postgres (a system session: it works across
//! tenants), notifications delivered; `/health/*` and `/metrics` on
//! `alerts.listen`.

use std::sync::Arc;

use adpulse_alerter::{Alerter, serve};
use adpulse_config::Config;
use adpulse_kafka::GroupConsumer;
use adpulse_postgres::Database;
use anyhow::Context as _;

/// Joins the alerters' group and runs until SIGTERM or Ctrl-C.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(&config.alerts.listen)
        .await
        .with_context(|| format!("binding {}", config.alerts.listen))?;
    let k = &config.kafka;
    crate::ensure_topics(k, &[&k.metrics_topic]).await?;
    let db = Database::connect(&config.postgres)
        .await
        .context("connecting to postgres")?;
    let source = GroupConsumer::new(k, &config.alerts.group_id, &k.metrics_topic)
        .context("joining the alerter group")?;
    let alerter = Alerter::new(
        config.alerts.clone(),
        &k.metrics_topic,
        Box::new(source),
        Arc::new(db),
    )?;
    serve(alerter, listener, config.http, crate::shutdown_signal()).await?;
    Ok(())
}
