//! `adpulse worker`: the stream worker on Kafka, Postgres, the CQL cluster
//! and Redis, with `/health/*` and `/metrics` on `worker.listen`.

use adpulse_config::Config;
use adpulse_worker::{Worker, serve};
use anyhow::Context as _;

/// Joins the group and processes until SIGTERM or Ctrl-C.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(&config.worker.listen)
        .await
        .with_context(|| format!("binding {}", config.worker.listen))?;
    let k = &config.kafka;
    crate::ensure_topics(k, &[&k.events_topic, &k.rejected_topic, &k.metrics_topic]).await?;
    let worker = Worker::connect(config).await?;
    serve(worker, listener, crate::shutdown_signal()).await?;
    Ok(())
}
