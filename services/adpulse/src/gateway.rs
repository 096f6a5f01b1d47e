//! `adpulse gateway`: the ingestion gateway on Kafka and Postgres, and the
//! frequency-capping decisions on Redis (or in process, as configured).

use adpulse_config::{CappingBackend, Config};
use adpulse_gateway::capping::Capping;
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
    let redis = if config.capping.backend == CappingBackend::Redis {
        Some(
            adpulse_redis::Redis::connect(&config.redis)
                .await
                .context("connecting to redis for frequency capping (capping.backend = off runs the gateway without it)")?,
        )
    } else {
        None
    };
    let capping = Capping::from_config(&config.capping, redis).map_err(anyhow::Error::msg)?;
    let gateway = Gateway::new(config.gateway.clone(), config.limits.limits(), log, db)
        .map_err(anyhow::Error::msg)?
        .with_capping(capping);
    let listener = tokio::net::TcpListener::bind(&config.gateway.listen)
        .await
        .with_context(|| format!("binding {}", config.gateway.listen))?;
    serve(gateway, listener, config.http, crate::shutdown_signal()).await?;
    Ok(())
}
