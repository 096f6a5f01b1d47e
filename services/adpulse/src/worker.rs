//! `adpulse worker`: the stream worker on Kafka, Postgres, the CQL cluster
//! and Redis, with `/health/*` and `/metrics` on `worker.listen`.

use std::sync::Arc;

use adpulse_config::Config;
use adpulse_kafka::{GroupConsumer, KafkaEventLog};
use adpulse_postgres::Database;
use adpulse_worker::{IdentityLinks, Sinks, Worker, serve};
use anyhow::Context as _;

/// Joins the group and processes until SIGTERM or Ctrl-C.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(&config.worker.listen)
        .await
        .with_context(|| format!("binding {}", config.worker.listen))?;
    let k = &config.kafka;
    crate::ensure_topics(k, &[&k.events_topic, &k.rejected_topic, &k.metrics_topic]).await?;
    let sinks = sinks(&config).await?;
    let db = Database::connect(&config.postgres)
        .await
        .context("connecting to postgres")?;
    let switches = crate::switches::follow(
        Arc::new(db),
        std::time::Duration::from_millis(config.ops.switch_poll_ms),
    )
    .await;
    let source = GroupConsumer::new(k, &config.worker.group_id, &k.events_topic)
        .context("joining the worker group")?;
    let worker = Worker::new(config, Box::new(source), sinks).with_switches(switches);
    serve(worker, listener, crate::shutdown_signal()).await?;
    Ok(())
}

/// The production sinks: Postgres, the CQL archive, Redis (live counters,
/// and identity links when capping keeps its counters there) and Kafka.
pub async fn sinks(config: &Config) -> anyhow::Result<Sinks> {
    let db = Database::connect(&config.postgres)
        .await
        .context("connecting to postgres")?;
    let links = crate::open::capping(config)
        .await?
        .map(|(counters, links)| IdentityLinks { links, counters });
    Ok(Sinks {
        db: Arc::new(db),
        archive: crate::open::archive(config).await?,
        live: crate::open::live(config).await?,
        links,
        log: Arc::new(KafkaEventLog::new(&config.kafka).context("the kafka producer")?),
    })
}
