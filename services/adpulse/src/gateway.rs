//! `adpulse gateway`: the ingestion gateway on Kafka and Postgres.

use adpulse_config::Config;
use adpulse_gateway::{Gateway, serve};
use adpulse_kafka::KafkaEventLog;
use adpulse_postgres::Database;
use anyhow::Context as _;

/// Ensures the topics exist, then serves until SIGTERM or Ctrl-C.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let k = &config.kafka;
    crate::ensure_topics(k, &[&k.events_topic, &k.rejected_topic]).await?;
    let log = KafkaEventLog::new(&config.kafka)?;
    let db = Database::connect(&config.postgres)
        .await
        .context("connecting to postgres")?;
    let gateway = Gateway::new(config.gateway.clone(), config.limits.limits(), log, db)
        .map_err(anyhow::Error::msg)?;
    let listener = tokio::net::TcpListener::bind(&config.gateway.listen)
        .await
        .with_context(|| format!("binding {}", config.gateway.listen))?;
    serve(gateway, listener, crate::shutdown_signal()).await?;
    Ok(())
}
