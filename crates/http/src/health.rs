//! `/health/live` and `/health/ready` for every service, and draining.
//!
//! Readiness answers JSON naming every dependency the service was built
//! with, its state and how long it took to answer:
//!
//! ```json
//! {"status": "degraded", "service": "gateway", "checks": [
//!   {"name": "event_log", "required": true, "state": "up", "latency_ms": 0.8},
//!   {"name": "capping_redis", "required": false, "state": "down", "latency_ms": 1000.2,
//!    "error": "no answer within 1000 ms"}]}
//! ```
//!
//! - `ready` (200): every dependency answers;
//! - `degraded` (200): a dependency the service can do without (it has a
//!   fallback, e.g. a cache) does not; the replica still takes traffic;
//! - `not_ready` (503): a required one does not;
//! - `draining` (503): the process is shutting down.
//!
//! Checks run at once, each with its own time limit (`timeout`), so one
//! dependency that hangs does not hide the others. Every answer also sets
//! `adpulse_dependency_up{service,dependency}` and records
//! `adpulse_dependency_check_seconds`.
//!
//! Draining ([`Health::drain`]): when the shutdown signal comes, readiness
//! fails at once while the listener keeps serving for `drain_ms`, so a load
//! balancer (or Kubernetes' endpoints) stops sending new requests before
//! the listener closes; then the server stops accepting, lets requests in
//! flight finish, and the process exits.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;

type Probe =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync>;

#[derive(Clone)]
struct Check {
    name: &'static str,
    required: bool,
    probe: Probe,
}

/// A service's dependencies and whether it is draining; cheap to clone
/// (clones share the draining flag).
#[derive(Clone)]
pub struct Health {
    service: &'static str,
    checks: Vec<Check>,
    timeout: Duration,
    draining: Arc<AtomicBool>,
}

/// What readiness says overall.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Every dependency answers.
    Ready,
    /// An optional dependency does not: still taking traffic.
    Degraded,
    /// A required dependency does not.
    NotReady,
    /// Shutting down.
    Draining,
}

/// One dependency's answer.
#[derive(Clone, Debug, Serialize)]
pub struct CheckReport {
    /// The dependency.
    pub name: &'static str,
    /// Whether the service is not ready without it.
    pub required: bool,
    /// `up` or `down`.
    pub state: &'static str,
    /// How long it took to answer (or to time out).
    pub latency_ms: f64,
    /// Why it is down.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The readiness answer.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Overall.
    pub status: Status,
    /// Which service answers.
    pub service: &'static str,
    /// Every dependency, in the order they were added.
    pub checks: Vec<CheckReport>,
}

/// How long one dependency may take to answer readiness, by default
/// (under the 3 s probe timeout Kubernetes and the chart use).
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

impl Health {
    /// `service`'s readiness, no dependencies yet; each check may take
    /// [`CHECK_TIMEOUT`].
    pub fn new(service: &'static str) -> Self {
        Self {
            service,
            checks: Vec::new(),
            timeout: CHECK_TIMEOUT,
            draining: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Each check may take `timeout`.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Adds a dependency the service cannot serve without.
    #[must_use]
    pub fn require<F, Fut>(self, name: &'static str, probe: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.with(name, true, probe)
    }

    /// Adds a dependency the service has a fallback for: its failure
    /// makes the replica `degraded`, still ready.
    #[must_use]
    pub fn prefer<F, Fut>(self, name: &'static str, probe: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.with(name, false, probe)
    }

    fn with<F, Fut>(mut self, name: &'static str, required: bool, probe: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        let probe: Probe = Arc::new(move || Box::pin(probe()));
        self.checks.push(Check {
            name,
            required,
            probe,
        });
        self
    }

    /// Whether the process is shutting down.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    /// Checks every dependency at once.
    pub async fn report(&self) -> Report {
        let limit = self.timeout;
        let runs = self.checks.iter().map(|c| {
            let probe = Arc::clone(&c.probe);
            async move {
                let started = Instant::now();
                let outcome = match tokio::time::timeout(limit, probe()).await {
                    Ok(r) => r,
                    Err(_) => Err(format!("no answer within {} ms", limit.as_millis())),
                };
                (c, outcome, started.elapsed())
            }
        });
        let answers = futures_util::future::join_all(runs).await;
        let mut status = Status::Ready;
        let mut checks = Vec::with_capacity(answers.len());
        for (c, outcome, took) in answers {
            crate::metrics::dependency(self.service, c.name, c.required, outcome.is_ok(), took);
            if outcome.is_err() {
                status = match (status, c.required) {
                    (_, true) | (Status::NotReady, _) => Status::NotReady,
                    _ => Status::Degraded,
                };
            }
            checks.push(CheckReport {
                name: c.name,
                required: c.required,
                state: if outcome.is_ok() { "up" } else { "down" },
                latency_ms: took.as_secs_f64() * 1000.0,
                error: outcome.err(),
            });
        }
        if self.is_draining() {
            status = Status::Draining;
        }
        Report {
            status,
            service: self.service,
            checks,
        }
    }

    /// `GET /health/live` (the process answers) and `GET /health/ready`
    /// (the report; 503 unless ready or degraded).
    pub fn router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        let me = self.clone();
        Router::new()
            .route("/health/live", get(|| async { "ok" }))
            .route(
                "/health/ready",
                get(move || {
                    let me = me.clone();
                    async move { me.report().await.into_response() }
                }),
            )
    }

    /// A shutdown signal that drains first: when `shutdown` resolves,
    /// readiness starts failing, and this resolves `grace` later (give
    /// it to the server, which then stops accepting and finishes what is
    /// in flight).
    pub fn drain<F: Future<Output = ()> + Send>(
        &self,
        shutdown: F,
        grace: Duration,
    ) -> impl Future<Output = ()> + Send + use<F> {
        let draining = Arc::clone(&self.draining);
        let service = self.service;
        async move {
            shutdown.await;
            draining.store(true, Ordering::Relaxed);
            crate::metrics::draining(service);
            if !grace.is_zero() {
                tracing::info!(
                    service,
                    grace_ms = u64::try_from(grace.as_millis()).unwrap_or(u64::MAX),
                    "draining: readiness fails, requests are still served"
                );
                tokio::time::sleep(grace).await;
            }
        }
    }
}

impl IntoResponse for Report {
    fn into_response(self) -> Response {
        let code = match self.status {
            Status::Ready | Status::Degraded => StatusCode::OK,
            Status::NotReady | Status::Draining => StatusCode::SERVICE_UNAVAILABLE,
        };
        (code, axum::Json(self)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn health() -> Health {
        Health::new("test")
            .with_timeout(Duration::from_millis(100))
            .require("db", || async { Ok(()) })
            .prefer("cache", || async { Err("refused".to_owned()) })
    }

    #[tokio::test]
    async fn an_optional_dependency_down_is_degraded_and_still_ready() {
        let r = health().report().await;
        assert_eq!(r.status, Status::Degraded);
        let states: Vec<_> = r.checks.iter().map(|c| (c.name, c.state)).collect();
        assert_eq!(states, [("db", "up"), ("cache", "down")]);
        assert_eq!(r.checks[1].error.as_deref(), Some("refused"));
        assert_eq!(r.into_response().status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn a_required_dependency_that_hangs_is_not_ready_within_the_limit() {
        let h = health().require("log", std::future::pending);
        let started = Instant::now();
        let r = h.report().await;
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(r.status, Status::NotReady);
        let log = &r.checks[2];
        assert_eq!((log.name, log.state, log.required), ("log", "down", true));
        assert!(log.latency_ms >= 100.0, "{}", log.latency_ms);
        assert_eq!(
            log.error.as_deref(),
            Some("no answer within 100 ms"),
            "{log:?}"
        );
        assert_eq!(r.into_response().status(), StatusCode::SERVICE_UNAVAILABLE);
    }

    #[tokio::test]
    async fn draining_fails_readiness_before_the_signal_is_passed_on() {
        let h = Health::new("test")
            .with_timeout(Duration::from_millis(100))
            .require("db", || async { Ok(()) });
        assert_eq!(h.report().await.status, Status::Ready);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let drained = tokio::spawn(h.drain(
            async {
                let _ = rx.await;
            },
            Duration::from_millis(300),
        ));
        tx.send(()).expect("send");
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!drained.is_finished(), "still serving during the grace");
        assert_eq!(h.report().await.status, Status::Draining);
        tokio::time::timeout(Duration::from_secs(5), drained)
            .await
            .expect("passed on after the grace")
            .expect("joined");
    }
}
