//! `/health/live`, `/health/ready` and `/metrics`, and running the worker
//! beside them.

use std::future::Future;

use std::sync::Arc;

use crate::{Sinks, Worker, WorkerError, err};

/// Whether the worker's dependencies answer (for `/health/ready`).
#[derive(Clone)]
pub struct Health {
    pub(crate) sinks: Arc<Sinks>,
}

impl Health {
    /// True while the store, the archive, the live counters and the event
    /// log all answer.
    pub async fn ready(&self) -> bool {
        let s = &self.sinks;
        let (db, archive, live, log) =
            tokio::join!(s.db.ping(), s.archive.ping(), s.live.ping(), s.log.ready());
        db.is_ok() && archive.is_ok() && live.is_ok() && log
    }

    /// `/health/live`, `/health/ready` and `/metrics`.
    pub fn router(self) -> axum::Router {
        use axum::http::StatusCode;
        use axum::routing::get;
        axum::Router::new()
            .route("/health/live", get(|| async { "ok" }))
            .route(
                "/health/ready",
                get(
                    |axum::extract::State(h): axum::extract::State<Self>| async move {
                        if h.ready().await {
                            (StatusCode::OK, "ready")
                        } else {
                            (
                                StatusCode::SERVICE_UNAVAILABLE,
                                "a dependency does not answer",
                            )
                        }
                    },
                ),
            )
            .merge(adpulse_telemetry::metrics_router())
            .with_state(self)
    }
}

/// Runs `worker` and its health endpoints on `listener` (with the listener
/// defences of the worker's `[http]` configuration) until `shutdown`, then
/// stops both (the worker flushes and leaves its group).
pub async fn serve(
    worker: Worker,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), WorkerError> {
    let (tx, rx) = tokio::sync::watch::channel(false);
    let stop = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stopped| *stopped).await;
    };
    let http = adpulse_http::serve(
        listener,
        worker.health().router(),
        "worker",
        worker.cfg.http,
        stop(rx.clone()),
    );
    let signal = async move {
        shutdown.await;
        let _ = tx.send(true);
    };
    let (http, run, ()) = tokio::join!(http, worker.run(stop(rx)), signal);
    http.map_err(err)?;
    run
}
