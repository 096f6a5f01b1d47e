//! `/health/live`, `/health/ready` and `/metrics`, and running the worker
//! beside them.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use adpulse_http::Health;

use crate::{Sinks, Worker, WorkerError, err};

/// Readiness: the store, the archive and the event log are required (a
/// flush cannot commit without them); the live counters are not (their
/// campaigns are marked stale and written again when Redis is back).
pub(crate) fn health(sinks: &Arc<Sinks>) -> Health {
    let (db, archive, live, log) = (
        Arc::clone(&sinks.db),
        Arc::clone(&sinks.archive),
        Arc::clone(&sinks.live),
        Arc::clone(&sinks.log),
    );
    Health::new("worker")
        .require("store", move || {
            let db = Arc::clone(&db);
            async move { db.ping().await.map_err(|e| e.to_string()) }
        })
        .require("archive", move || {
            let a = Arc::clone(&archive);
            async move { a.ping().await.map_err(|e| e.to_string()) }
        })
        .require("event_log", move || {
            let log = Arc::clone(&log);
            async move {
                if log.ready().await {
                    Ok(())
                } else {
                    Err("the event log does not answer".to_owned())
                }
            }
        })
        .prefer("live_counters", move || {
            let l = Arc::clone(&live);
            async move { l.ping().await.map_err(|e| e.to_string()) }
        })
}

/// Runs `worker` and its health endpoints on `listener` (with the listener
/// defences of the worker's `[http]` configuration) until `shutdown`, then
/// stops both (the worker flushes and leaves its group). Nothing routes
/// requests to a worker, so it does not wait out `drain_ms`: readiness
/// fails and the worker stops at once, handing its partitions over sooner.
pub async fn serve(
    worker: Worker,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), WorkerError> {
    let health = worker.health();
    let (tx, rx) = tokio::sync::watch::channel(false);
    let stop = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stopped| *stopped).await;
    };
    let router = health.router().merge(adpulse_telemetry::metrics_router());
    let http = adpulse_http::serve(
        listener,
        router,
        "worker",
        worker.cfg.http,
        stop(rx.clone()),
    );
    let signal = async move {
        health.drain(shutdown, Duration::ZERO).await;
        let _ = tx.send(true);
    };
    let (http, run, ()) = tokio::join!(http, worker.run(stop(rx)), signal);
    http.map_err(err)?;
    run
}
