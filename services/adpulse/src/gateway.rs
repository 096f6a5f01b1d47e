//! `adpulse gateway`: the ingestion gateway on Kafka and Postgres.

use adpulse_config::Config;
use adpulse_gateway::{Gateway, serve};
use adpulse_kafka::{Admin, KafkaEventLog};
use adpulse_postgres::Database;
use anyhow::Context as _;

/// Ensures the topics exist, then serves until SIGTERM or Ctrl-C.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let admin = Admin::new(&config.kafka)?;
    for topic in [&config.kafka.events_topic, &config.kafka.rejected_topic] {
        admin
            .ensure_topic(
                topic,
                config.kafka.partitions,
                config.kafka.replication_factor,
            )
            .await
            .with_context(|| format!("ensuring topic {topic}"))?;
    }
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
