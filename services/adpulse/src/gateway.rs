//! `adpulse gateway`: the ingestion gateway on Kafka and Postgres, and the
//! frequency-capping decisions on Redis (or in process, as configured).

use std::sync::Arc;

use adpulse_config::Config;
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
    let capping = Capping::from_config(&config.capping, crate::open::capping(&config).await?)
        .map_err(anyhow::Error::msg)?
        .map(|c| c.with_breaker(crate::open::breaker(&config, config.redis.timeout_ms)));
    let db = Arc::new(db);
    let switches = crate::switches::follow(
        Arc::clone(&db) as Arc<dyn adpulse_domain::ports::Switches>,
        std::time::Duration::from_millis(config.ops.switch_poll_ms),
    )
    .await;
    let gateway = Gateway::new(
        config.gateway.clone(),
        config.limits.limits(),
        Arc::new(log),
        db,
    )
    .map_err(anyhow::Error::msg)?
    .with_directory_breaker(crate::open::breaker(
        &config,
        config.ops.directory_timeout_ms,
    ))
    .with_capping(capping)
    .with_switches(switches);
    let listener = tokio::net::TcpListener::bind(&config.gateway.listen)
        .await
        .with_context(|| format!("binding {}", config.gateway.listen))?;
    serve(gateway, listener, config.http, crate::shutdown_signal()).await?;
    Ok(())
}
