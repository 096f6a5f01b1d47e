//! `/health/live`, `/health/ready` and `/metrics`, and running the worker
//! beside them.

use std::future::Future;
use std::sync::Arc;

use adpulse_cql::Cql;
use adpulse_domain::ports::EventLog as _;
use adpulse_kafka::KafkaEventLog;
use adpulse_postgres::Database;
use adpulse_redis::Redis;

use crate::{Worker, WorkerError, err};

/// Whether the worker's dependencies answer (for `/health/ready`).
#[derive(Clone)]
pub struct Health {
    pub(crate) db: Database,
    pub(crate) cql: Arc<Cql>,
    pub(crate) redis: Redis,
    pub(crate) kafka: KafkaEventLog,
}

impl Health {
    /// True while Postgres, the CQL cluster, Redis and Kafka all answer.
    pub async fn ready(&self) -> bool {
        let (db, cql, redis, kafka) = tokio::join!(
            self.db.ping(),
            self.cql.ping(),
            self.redis.ping(),
            self.kafka.ready()
        );
        db.is_ok() && cql.is_ok() && redis.is_ok() && kafka
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

/// Runs `worker` and its health endpoints on `listener` until `shutdown`,
/// then stops both (the worker flushes and leaves its group).
pub async fn serve(
    worker: Worker,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), WorkerError> {
    let (tx, rx) = tokio::sync::watch::channel(false);
    let stop = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stopped| *stopped).await;
    };
    let http =
        axum::serve(listener, worker.health().router()).with_graceful_shutdown(stop(rx.clone()));
    let signal = async move {
        shutdown.await;
        let _ = tx.send(true);
    };
    let (http, run, ()) = tokio::join!(http.into_future(), worker.run(stop(rx)), signal);
    http.map_err(err)?;
    run
}
