//! `adpulse alerter`: evaluates alert rules on the stream worker's window
//! results and delivers their notifications.
//!
//! - [`evaluator`]: the consuming side (partitions of the window-result
//!   stream, claims, commits of states, history and outbox in one
//!   transaction with the position);
//! - [`evaluate`]: one pass of a campaign's rules over one sample (pure);
//! - [`facts`]: what is known of the watched campaigns (the campaign, its
//!   tenant's rules, its day base), refreshed in bulk beside the loop;
//! - [`recent`]: trailing spans from successive results;
//! - [`budget`]: today in the campaign's zone, and budget stops;
//! - [`deliver`]: the outbox drained: leases, signed webhooks, Slack
//!   messages and e-mails (SMTP), backoff with jitter, a breaker per
//!   destination, dead letters;
//! - [`metrics`]: what it counts.
//!
//! It holds two ports: the window results (`EventSource`: Kafka in the
//! distributed shape, the embedded log in `adpulse up`) and the ledger
//! (`AlertLedger`: Postgres or SQLite).

pub mod budget;
pub mod deliver;
pub mod evaluate;
pub mod evaluator;
pub mod facts;
mod metrics;
pub mod recent;

use std::future::Future;
use std::sync::Arc;

use adpulse_config::{AlertsConfig, HttpConfig};
use adpulse_domain::ports::{AlertLedger, EventSource};
use tokio::sync::Notify;

use crate::deliver::Deliverer;
use crate::evaluator::Evaluator;
use crate::facts::Facts;

/// An alerter that cannot start.
#[derive(Debug, thiserror::Error)]
#[error("alerter: {0}")]
pub struct AlerterError(String);

/// A configured alerter: its evaluator, what the evaluator knows of its
/// campaigns, and its deliverer, sharing the ledger.
pub struct Alerter {
    evaluator: Evaluator,
    facts: Arc<Facts>,
    refresh: std::time::Duration,
    deliverer: Deliverer,
    health: adpulse_http::Health,
}

impl Alerter {
    /// An alerter reading `source` (a member of `cfg.group_id` on
    /// `topic`, the window-result stream) and recording in `ledger`.
    pub fn new(
        cfg: AlertsConfig,
        topic: &str,
        source: Box<dyn EventSource>,
        ledger: Arc<dyn AlertLedger>,
    ) -> Result<Self, AlerterError> {
        metrics::describe();
        let cfg = Arc::new(cfg);
        let wake = Arc::new(Notify::new());
        let deliverer = Deliverer::new(Arc::clone(&cfg), Arc::clone(&ledger), Arc::clone(&wake))
            .map_err(AlerterError)?;
        let facts = Arc::new(Facts::new(Arc::clone(&ledger)));
        let refresh = std::time::Duration::from_millis(cfg.cache_ms.max(10));
        let evaluator = Evaluator::new(
            cfg,
            topic.to_owned(),
            source,
            Arc::clone(&ledger),
            Arc::clone(&facts),
            wake,
        );
        let health = adpulse_http::Health::new("alerter").require("ledger", move || {
            let l = Arc::clone(&ledger);
            async move { l.ping().await.map_err(|e| e.to_string()) }
        });
        Ok(Self {
            evaluator,
            facts,
            refresh,
            deliverer,
            health,
        })
    }

    /// Runs both sides (and the refresh of the evaluator's facts) until
    /// `shutdown`; the evaluator commits what it holds, the deliverer
    /// finishes the attempts in flight.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) {
        let (tx, rx) = tokio::sync::watch::channel(false);
        let stop = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        let signal = async move {
            shutdown.await;
            let _ = tx.send(true);
        };
        tokio::join!(
            self.facts.run(self.refresh, stop(rx.clone())),
            self.evaluator.run(stop(rx.clone())),
            self.deliverer.run(stop(rx)),
            signal
        );
    }

    /// Readiness: the ledger is required.
    pub fn health(&self) -> adpulse_http::Health {
        self.health.clone()
    }

    /// `/health/live`, `/health/ready` and `/metrics`.
    pub fn router(&self) -> axum::Router {
        self.health
            .router()
            .merge(adpulse_telemetry::metrics_router())
    }
}

/// Runs `alerter` and its health endpoints on `listener` until
/// `shutdown`.
pub async fn serve(
    alerter: Alerter,
    listener: tokio::net::TcpListener,
    http: HttpConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), AlerterError> {
    let (tx, rx) = tokio::sync::watch::channel(false);
    let stop = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let served = adpulse_http::serve(
        listener,
        alerter.router(),
        "alerter",
        http,
        stop(rx.clone()),
    );
    // Nothing routes requests to an alerter: readiness fails and it stops
    // at once, without waiting out `drain_ms`.
    let health = alerter.health();
    let signal = async move {
        health.drain(shutdown, std::time::Duration::ZERO).await;
        let _ = tx.send(true);
    };
    let (served, (), ()) = tokio::join!(served, alerter.run(stop(rx)), signal);
    served.map_err(|e| AlerterError(e.to_string()))
}
