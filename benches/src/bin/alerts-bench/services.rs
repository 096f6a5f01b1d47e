//! The gateway, the stream worker and the alerter, in process, composed as
//! `adpulse gateway`, `adpulse worker` and `adpulse alerter` compose them,
//! each with a Postgres pool of its own. The alerter runs on a thread and
//! runtime of its own (named `alerter`), so the CPU it uses is that
//! thread's.

use std::sync::Arc;

use adpulse_alerter::Alerter;
use adpulse_config::Config;
use adpulse_cql::{Cql, CqlArchive};
use adpulse_gateway::Gateway;
use adpulse_gateway::capping::Capping;
use adpulse_kafka::{GroupConsumer, KafkaEventLog};
use adpulse_postgres::Database;
use adpulse_redis::Redis;
use adpulse_worker::{IdentityLinks, Sinks, Worker, WorkerError};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::{Res, err};

pub struct Services {
    gateway: (oneshot::Sender<()>, JoinHandle<std::io::Result<()>>),
    worker: (oneshot::Sender<()>, JoinHandle<Result<(), WorkerError>>),
    alerter: (
        oneshot::Sender<()>,
        std::thread::JoinHandle<Result<(), String>>,
    ),
    /// `http://127.0.0.1:PORT`.
    pub gateway_url: String,
}

async fn gateway(
    cfg: &Config,
    redis: &Redis,
) -> Res<(String, oneshot::Sender<()>, JoinHandle<std::io::Result<()>>)> {
    let log = KafkaEventLog::new(&cfg.kafka)?;
    let db = Database::connect(&cfg.postgres).await?;
    let shared = Arc::new(redis.clone());
    let capping = Capping::new(shared.clone(), shared, &cfg.capping);
    let gateway = Gateway::new(
        cfg.gateway.clone(),
        cfg.limits.limits(),
        Arc::new(log),
        Arc::new(db),
    )?
    .with_capping(Some(capping));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(adpulse_gateway::serve(
        gateway,
        listener,
        cfg.http,
        async move {
            let _ = stopped.await;
        },
    ));
    Ok((url, stop, task))
}

async fn worker(
    cfg: &Config,
    redis: &Redis,
) -> Res<(oneshot::Sender<()>, JoinHandle<Result<(), WorkerError>>)> {
    let sinks = Sinks {
        db: Arc::new(Database::connect(&cfg.postgres).await?),
        archive: Arc::new(CqlArchive::new(Cql::connect(&cfg.cql).await?).await?),
        live: Arc::new(redis.clone()),
        links: Some(IdentityLinks {
            links: Arc::new(redis.clone()),
            counters: Arc::new(redis.clone()),
        }),
        log: Arc::new(KafkaEventLog::new(&cfg.kafka)?),
    };
    let source = GroupConsumer::new(&cfg.kafka, &cfg.worker.group_id, &cfg.kafka.events_topic)?;
    let worker = Worker::new(cfg.clone(), Box::new(source), sinks);
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(worker.run(async move {
        let _ = stopped.await;
    }));
    Ok((stop, task))
}

/// The alerter until `stopped`, on the calling thread.
fn alerter(cfg: &Config, stopped: oneshot::Receiver<()>) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(err)?;
    rt.block_on(async move {
        let db = Database::connect(&cfg.postgres).await.map_err(err)?;
        let k = &cfg.kafka;
        let source = GroupConsumer::new(k, &cfg.alerts.group_id, &k.metrics_topic).map_err(err)?;
        let alerter = Alerter::new(
            cfg.alerts.clone(),
            &k.metrics_topic,
            Box::new(source),
            Arc::new(db),
        )
        .map_err(err)?;
        alerter
            .run(async move {
                let _ = stopped.await;
            })
            .await;
        Ok(())
    })
}

pub async fn start(cfg: &Config, redis: &Redis) -> Res<Services> {
    let (gateway_url, gstop, gtask) = gateway(cfg, redis).await?;
    let worker = worker(cfg, redis).await?;
    let (astop, astopped) = oneshot::channel::<()>();
    let acfg = cfg.clone();
    let athread = std::thread::Builder::new()
        .name("alerter".into())
        .spawn(move || alerter(&acfg, astopped))?;
    Ok(Services {
        gateway: (gstop, gtask),
        worker,
        alerter: (astop, athread),
        gateway_url,
    })
}

impl Services {
    /// The gateway first (it flushes its log), then the worker, then the
    /// alerter (it commits what it holds).
    pub async fn stop(self) -> Res<()> {
        let _ = self.gateway.0.send(());
        self.gateway.1.await??;
        let _ = self.worker.0.send(());
        self.worker.1.await??;
        let _ = self.alerter.0.send(());
        let thread = self.alerter.1;
        tokio::task::spawn_blocking(move || thread.join())
            .await?
            .map_err(|_| "the alerter thread panicked")??;
        Ok(())
    }
}
