//! Delivery: drains the outbox the evaluator writes. Every alerter runs
//! it; a delivery is leased to one of them at a time (the lease runs out
//! if that alerter dies, and the delivery is due again), sent, and its
//! attempt recorded with what follows: sent, a retry at a time chosen by
//! [`backoff`], or a dead letter after the last attempt (the API lists
//! and replays those).
//!
//! At least once: a delivery whose attempt was sent but not recorded (a
//! crash in between) is sent again with the same `webhook-id` (e-mail:
//! the same `Message-ID`), which is what receivers deduplicate on.

pub mod backoff;
pub mod breaker;
pub mod email;
pub mod send;
pub mod sign;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use adpulse_config::AlertsConfig;
use adpulse_domain::alert::ledger::{Attempt, DueDelivery, NextStep};
use adpulse_domain::ports::AlertLedger;
use chrono::{TimeDelta, Utc};
use tokio::sync::Notify;
use tokio::task::JoinSet;
use uuid::Uuid;

use self::breaker::Breaker;
use self::email::Mailer;
use self::send::{SendError, Sender};
use crate::metrics;

/// How often the outbox is polled when nothing wakes the deliverer.
const POLL: Duration = Duration::from_millis(250);

/// The delivery loop's state.
pub struct Deliverer {
    cfg: Arc<AlertsConfig>,
    ledger: Arc<dyn AlertLedger>,
    sender: Sender,
    /// One per channel; locked only between awaits.
    breakers: Arc<Mutex<HashMap<Uuid, Breaker>>>,
    /// Woken by the evaluator after a commit that added deliveries.
    wake: Arc<Notify>,
}

impl Deliverer {
    /// A deliverer of `ledger`'s outbox.
    pub fn new(
        cfg: Arc<AlertsConfig>,
        ledger: Arc<dyn AlertLedger>,
        wake: Arc<Notify>,
    ) -> Result<Self, String> {
        let mailer = Mailer::from_config(&cfg)?;
        let sender = Sender::new(
            Duration::from_millis(cfg.request_timeout_ms),
            cfg.allow_private_destinations,
            mailer,
        )?;
        Ok(Self {
            cfg,
            ledger,
            sender,
            breakers: Arc::default(),
            wake,
        })
    }

    /// Delivers until `shutdown`, then waits for the attempts in flight.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut flying: JoinSet<()> = JoinSet::new();
        loop {
            while flying.try_join_next().is_some() {}
            let room = self.cfg.max_in_flight.saturating_sub(flying.len());
            if room > 0 {
                match self.lease(room).await {
                    Ok(due) => {
                        for d in due {
                            flying.spawn(self.attempt(d));
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "leasing deliveries failed"),
                }
            }
            tokio::select! {
                () = &mut shutdown => break,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(POLL) => {}
                Some(_) = flying.join_next(), if !flying.is_empty() => {}
            }
        }
        while flying.join_next().await.is_some() {}
    }

    async fn lease(&self, limit: usize) -> Result<Vec<DueDelivery>, String> {
        let now = Utc::now();
        // Long enough for one attempt and its record.
        let lease =
            TimeDelta::milliseconds(i64::try_from(self.cfg.request_timeout_ms).unwrap_or(0))
                + TimeDelta::seconds(5);
        self.ledger
            .lease_deliveries(now, now + lease, i64::try_from(limit).unwrap_or(i64::MAX))
            .await
            .map_err(|e| e.to_string())
    }

    /// One attempt of `d`, unless its channel's breaker is open (then the
    /// lease runs out and the delivery is due again, its schedule
    /// untouched).
    fn attempt(&self, d: DueDelivery) -> impl std::future::Future<Output = ()> + Send + 'static {
        let cfg = Arc::clone(&self.cfg);
        let ledger = Arc::clone(&self.ledger);
        let sender = self.sender.clone();
        let breakers = Arc::clone(&self.breakers);
        async move {
            let channel = d.delivery.channel;
            let admitted = breakers
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(channel)
                .or_default()
                .admit(Instant::now());
            if !admitted {
                metrics::held_by_breaker(d.kind);
                return;
            }
            let started = Utc::now();
            let clock = Instant::now();
            let result = sender.send(&d, started.timestamp()).await;
            let took = clock.elapsed();
            let opened = breakers
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(channel)
                .or_default()
                .record(
                    result.is_ok(),
                    Instant::now(),
                    cfg.breaker_failures,
                    Duration::from_millis(cfg.breaker_open_ms),
                );
            if opened {
                tracing::warn!(%channel, "destination failing: circuit breaker open");
                metrics::breaker_opened(d.kind);
            }
            let number = d.delivery.attempts + 1;
            let next = next_step(&cfg, &result, number);
            metrics::attempt(d.kind, &next, took);
            let attempt = Attempt {
                number,
                at: started,
                status_code: match &result {
                    Ok(s) => s.map(i32::from),
                    Err(e) => e.status().map(i32::from),
                },
                error: result.as_ref().err().map(ToString::to_string),
                duration_ms: i64::try_from(took.as_millis()).unwrap_or(i64::MAX),
            };
            if let Err(e) = ledger.record_attempt(d.delivery.id, &attempt, next).await {
                // The lease runs out and it is sent again: at least once.
                tracing::warn!(delivery = %d.delivery.id, error = %e, "recording an attempt failed");
            }
        }
    }
}

/// What follows attempt `number` (its result as [`Sender::send`] gives
/// it): sent, a retry, or a dead letter (after the last attempt, for a
/// destination that may never be reached, or an answer that a retry
/// would not change).
pub fn next_step(
    cfg: &AlertsConfig,
    result: &Result<Option<u16>, SendError>,
    number: i32,
) -> NextStep {
    match result {
        Ok(_) => NextStep::Sent,
        Err(SendError::Refused(_) | SendError::Rejected(_)) => NextStep::Dead,
        Err(_) if number >= i32::try_from(cfg.max_attempts).unwrap_or(i32::MAX) => NextStep::Dead,
        Err(_) => {
            let wait = backoff::delay(
                u32::try_from(number + 1).unwrap_or(u32::MAX),
                Duration::from_millis(cfg.retry_base_ms),
                Duration::from_millis(cfg.retry_max_ms),
                fastrand::f64(),
            );
            NextStep::RetryAt(Utc::now() + TimeDelta::from_std(wait).unwrap_or(TimeDelta::MAX))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_until_the_last_attempt_then_dead_letters() {
        let cfg = AlertsConfig {
            max_attempts: 3,
            ..AlertsConfig::default()
        };
        let failed = Err(SendError::Status(500));
        assert!(matches!(next_step(&cfg, &failed, 1), NextStep::RetryAt(_)));
        assert!(matches!(next_step(&cfg, &failed, 2), NextStep::RetryAt(_)));
        assert_eq!(next_step(&cfg, &failed, 3), NextStep::Dead);
        assert_eq!(next_step(&cfg, &Ok(Some(204)), 1), NextStep::Sent);
        assert_eq!(next_step(&cfg, &Ok(None), 1), NextStep::Sent, "e-mail");
        // A destination that may never be reached is not retried, nor an
        // answer that says it never will be (SMTP 5xx).
        let refused = Err(SendError::Refused("private".into()));
        assert_eq!(next_step(&cfg, &refused, 1), NextStep::Dead);
        let rejected = Err(SendError::Rejected("550 no such mailbox".into()));
        assert_eq!(next_step(&cfg, &rejected, 1), NextStep::Dead);
        // A transient SMTP answer (4xx) or no connection is retried.
        let transient = Err(SendError::Transport("SMTP: 451".into()));
        assert!(matches!(
            next_step(&cfg, &transient, 1),
            NextStep::RetryAt(_)
        ));
    }
}
