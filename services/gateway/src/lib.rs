//! The ingestion gateway: the front door for ad servers.
//!
//! Stateless and horizontally scaled. A request is authenticated by its
//! ingest key, rate-limited per tenant, each event validated by the domain
//! and checked to belong to the key's tenant, then appended to the event log
//! (Kafka: topic `adpulse.events.v1`, keyed by campaign). 202 means the log
//! acknowledged every accepted event; anything the gateway could still lose
//! is answered 503, never 202. The parts:
//!
//! - [`auth`]: ingest key → tenant and campaign → tenant, cached;
//! - [`limit`]: per-tenant and per-IP rate limits and refusal budgets;
//! - `rejected`: bad rows on the rejected stream, bounded per tenant;
//! - [`body`]: content types, gzip, batch splitting, size limits;
//! - `ingest`: the two routes;
//! - [`capping`]: frequency-capping decisions for ad servers;
//! - [`error`]: the error body every refusal uses.

pub mod auth;
pub mod body;
pub mod budget;
pub mod capping;
pub mod error;
mod ingest;
pub mod limit;
mod metrics;
mod null_log;
mod rejected;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use adpulse_config::{GatewayConfig, HttpConfig};
use adpulse_domain::Limits;
use adpulse_domain::ports::{Directory, EventLog};
use adpulse_domain::switch::Switchboard;
use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::post;
use tokio::net::TcpListener;

pub use null_log::NullEventLog;

use crate::auth::Auth;
use crate::capping::Capping;
use crate::limit::Limiter;

/// Everything a request needs, shared by all of them.
pub struct Gateway {
    cfg: GatewayConfig,
    limits: Limits,
    log: Arc<dyn EventLog>,
    auth: Auth,
    limiter: Limiter,
    rows: rejected::RowBound,
    capping: Option<Capping>,
    /// Campaigns stopped by their budget (capping answers for them).
    stops: Arc<budget::Stops>,
    health: adpulse_http::Health,
    /// The kill switches in force (none unless the caller follows them).
    switches: Switchboard,
}

impl Gateway {
    /// A gateway appending to `log` and resolving ownership through `directory`.
    pub fn new(
        cfg: GatewayConfig,
        limits: Limits,
        log: Arc<dyn EventLog>,
        directory: Arc<dyn Directory>,
    ) -> Result<Self, String> {
        metrics::describe();
        let health = {
            let (log, directory) = (Arc::clone(&log), Arc::clone(&directory));
            adpulse_http::Health::new("gateway")
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
                .prefer("directory", move || {
                    let d = Arc::clone(&directory);
                    async move { d.ping().await.map_err(|e| e.to_string()) }
                })
        };
        Ok(Self {
            health,
            switches: Switchboard::default(),
            limiter: Limiter::new(&cfg)?,
            rows: rejected::RowBound::new(cfg.rejected_rows_per_tenant_per_minute),
            stops: Arc::new(budget::Stops::new(Arc::clone(&directory))),
            auth: Auth::new(directory, Duration::from_secs(cfg.auth_cache_ttl_secs)),
            cfg,
            limits,
            log,
            capping: None,
        })
    }

    /// Follows the kill switches of `board` (pausing a tenant's
    /// ingestion, capping without its store).
    #[must_use]
    pub fn with_switches(mut self, board: Switchboard) -> Self {
        self.switches = board;
        self
    }

    /// Trips the directory's circuit breaker (ingest keys, campaigns) on
    /// `cfg` instead of the defaults.
    #[must_use]
    pub fn with_directory_breaker(mut self, cfg: adpulse_resilience::BreakerConfig) -> Self {
        self.auth = self.auth.with_breaker(cfg);
        self
    }

    /// Serves frequency-capping decisions too.
    #[must_use]
    pub fn with_capping(mut self, capping: Option<Capping>) -> Self {
        if let Some(c) = &capping {
            let counters = c.counters();
            self.health = self.health.prefer("capping_counters", move || {
                let c = Arc::clone(&counters);
                async move { c.ping().await.map_err(|e| e.to_string()) }
            });
        }
        self.capping = capping;
        self
    }

    /// Readiness: the event log is required (202 means it acknowledged);
    /// the directory (ingest keys and campaigns, cached) and the capping
    /// counters (decisions follow `capping.on_failure` without them) are
    /// not. Shared by every router of this gateway, so draining shows in
    /// all of them.
    pub fn health(&self) -> adpulse_http::Health {
        self.health.clone()
    }

    /// The gateway's routes.
    pub fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route("/v1/events", post(ingest::one))
            .route("/v1/events/batch", post(ingest::batch))
            .route("/v1/frequency/decide", post(capping::decide))
            .route("/v1/frequency/decide/batch", post(capping::decide_batch))
            .route("/v1/frequency/release", post(capping::release))
            .layer(middleware::from_fn(observe))
            .merge(self.health().router())
            .merge(adpulse_telemetry::metrics_router())
            .with_state(self)
    }
}

/// Serves the gateway on `listener` with the listener defences of `http`
/// until `shutdown` resolves, then stops accepting, lets in-flight requests
/// finish and flushes the event log.
pub async fn serve(
    gateway: Gateway,
    listener: TcpListener,
    http: HttpConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let gw = Arc::new(gateway);
    let sweeper = tokio::spawn({
        let gw = Arc::clone(&gw);
        async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                gw.housekeeping(false).await;
            }
        }
    });
    let stops = (gw.capping.is_some()).then(|| {
        tokio::spawn(poll_stops(
            Arc::clone(&gw.stops),
            Duration::from_millis(gw.cfg.budget_poll_ms),
        ))
    });
    tracing::info!(addr = %listener.local_addr()?, "gateway listening");
    let app = Arc::clone(&gw).router();
    let shutdown = gw
        .health
        .drain(shutdown, Duration::from_millis(http.drain_ms));
    adpulse_http::serve(listener, app, "gateway", http, shutdown).await?;
    sweeper.abort();
    if let Some(stops) = stops {
        stops.abort();
    }
    gw.housekeeping(true).await;
    let grace = Duration::from_secs(gw.cfg.shutdown_grace_secs);
    if let Err(e) = gw.log.flush(grace).await {
        tracing::warn!(error = %e, in_flight = gw.log.in_flight(), "event log not fully flushed at shutdown");
    }
    tracing::info!("gateway stopped");
    Ok(())
}

/// Reads the budget stops every `every`; a failed read keeps the last
/// list (and is logged once until a read succeeds again).
async fn poll_stops(stops: Arc<budget::Stops>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        tick.tick().await;
        match stops.refresh().await {
            Ok(_) => failing = false,
            Err(e) if !failing => {
                failing = true;
                tracing::warn!(error = %e, "reading budget stops failed; the last list stays in force");
            }
            Err(_) => {}
        }
    }
}

/// Request metrics and a span per request (continuing the sender's trace).
async fn observe(request: Request, next: Next) -> Response {
    let route = metrics::route_label(
        request
            .extensions()
            .get::<MatchedPath>()
            .map(MatchedPath::as_str),
    );
    let span = tracing::info_span!("request", method = %request.method(), route);
    adpulse_telemetry::adopt_remote_parent(&span, request.headers());
    let started = Instant::now();
    let response = tracing::Instrument::instrument(next.run(request), span).await;
    metrics::request(route, response.status().as_u16(), started.elapsed());
    response
}
