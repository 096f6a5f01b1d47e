//! Calls to dependencies that can fail: a circuit breaker around each
//! (with the call's timeout and its metrics), and jittered backoff for the
//! retries of calls that are safe to repeat.
//!
//! A [`Breaker`] counts failures (errors and timeouts) in a row. At
//! `failures` it opens: calls are refused at once ([`Refused::Open`]) for
//! `open_for`, so a dead dependency costs the caller nothing and the
//! caller's fallback answers instead of a request waiting out a timeout.
//! Then one trial call goes through (half open): success closes the
//! breaker, failure opens it again.
//!
//! Metrics, labelled by the breaker's name:
//! `adpulse_breaker_state` (0 closed, 1 open, 2 half open),
//! `adpulse_breaker_calls_total{outcome}` (ok, error, timeout, rejected) and
//! `adpulse_breaker_opened_total`.

use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// How a breaker trips.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Failures in a row that open it.
    pub failures: u32,
    /// How long it stays open before a trial.
    pub open_for: Duration,
    /// The longest one call may take; longer is a failure.
    pub timeout: Duration,
}

/// Why a call through a breaker gave no value.
#[derive(Debug)]
pub enum Refused<E> {
    /// The breaker is open: the dependency was not called.
    Open,
    /// The call took longer than the timeout (and was abandoned).
    Timeout,
    /// The call failed.
    Failed(E),
}

impl<E> Refused<E> {
    /// The call's own error, or `unavailable(reason)` for a call the
    /// breaker refused or abandoned: the caller's error type either way.
    pub fn into_error(self, unavailable: impl FnOnce(String) -> E) -> E
    where
        E: std::fmt::Display,
    {
        match self {
            Self::Failed(e) => e,
            other => unavailable(other.to_string()),
        }
    }
}

impl<E: std::fmt::Display> std::fmt::Display for Refused<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Open => f.write_str(
                "circuit open: the dependency failed repeatedly and is not called for now",
            ),
            Self::Timeout => f.write_str("the dependency did not answer in time"),
            Self::Failed(e) => e.fmt(f),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
    },
    /// One trial in flight since `since` (a trial abandoned by its caller
    /// never reports: after `open_for` plus the timeout, another may go).
    HalfOpen {
        since: Instant,
    },
}

/// A circuit breaker around one dependency. Cheap to share (`Arc`).
#[derive(Debug)]
pub struct Breaker {
    name: &'static str,
    cfg: BreakerConfig,
    state: Mutex<State>,
}

impl Breaker {
    /// A closed breaker named `name` (its metrics label).
    pub fn new(name: &'static str, cfg: BreakerConfig) -> Self {
        let b = Self {
            name,
            cfg: BreakerConfig {
                failures: cfg.failures.max(1),
                ..cfg
            },
            state: Mutex::new(State::Closed { failures: 0 }),
        };
        b.publish(State::Closed { failures: 0 });
        b
    }

    /// Runs `call` unless the breaker is open, within the timeout, and
    /// records how it went.
    pub async fn call<T, E, F>(&self, call: F) -> Result<T, Refused<E>>
    where
        F: Future<Output = Result<T, E>>,
    {
        if !self.admit(Instant::now()) {
            self.count("rejected");
            return Err(Refused::Open);
        }
        let (result, outcome) = match tokio::time::timeout(self.cfg.timeout, call).await {
            Ok(Ok(v)) => (Ok(v), "ok"),
            Ok(Err(e)) => (Err(Refused::Failed(e)), "error"),
            Err(_) => (Err(Refused::Timeout), "timeout"),
        };
        self.count(outcome);
        self.record(result.is_ok(), Instant::now());
        result
    }

    /// Whether calls are refused now (open, or a trial in flight).
    pub fn is_open(&self) -> bool {
        !matches!(self.lock(), State::Closed { .. })
    }

    fn lock(&self) -> State {
        *self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn admit(&self, now: Instant) -> bool {
        let mut s = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let stuck = self.cfg.open_for + self.cfg.timeout;
        match *s {
            State::Closed { .. } => true,
            State::Open { until } if now >= until => {
                *s = State::HalfOpen { since: now };
                self.publish(*s);
                true
            }
            State::HalfOpen { since } if now.duration_since(since) >= stuck => {
                *s = State::HalfOpen { since: now };
                true
            }
            State::Open { .. } | State::HalfOpen { .. } => false,
        }
    }

    fn record(&self, ok: bool, now: Instant) {
        let mut s = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let next = match (*s, ok) {
            (_, true) => State::Closed { failures: 0 },
            (State::Closed { failures }, false) if failures + 1 < self.cfg.failures => {
                State::Closed {
                    failures: failures + 1,
                }
            }
            (State::Open { until }, false) => State::Open { until },
            (State::Closed { .. } | State::HalfOpen { .. }, false) => {
                metrics::counter!("adpulse_breaker_opened_total", "breaker" => self.name)
                    .increment(1);
                State::Open {
                    until: now + self.cfg.open_for,
                }
            }
        };
        if std::mem::discriminant(&next) != std::mem::discriminant(&*s) {
            self.publish(next);
        }
        *s = next;
    }

    fn publish(&self, s: State) {
        let v = match s {
            State::Closed { .. } => 0.0,
            State::Open { .. } => 1.0,
            State::HalfOpen { .. } => 2.0,
        };
        metrics::gauge!("adpulse_breaker_state", "breaker" => self.name).set(v);
    }

    fn count(&self, outcome: &'static str) {
        metrics::counter!("adpulse_breaker_calls_total", "breaker" => self.name, "outcome" => outcome)
            .increment(1);
    }
}

/// The wait before retry number `attempt` (0 for the first retry) of a
/// call that is safe to repeat: exponential from `base`, capped at `max`,
/// with half of it random ("equal jitter"), so that callers that failed
/// together do not retry together.
pub fn backoff(attempt: u32, base: Duration, max: Duration) -> Duration {
    let full = base
        .saturating_mul(2u32.saturating_pow(attempt.min(30)))
        .min(max);
    let half = full / 2;
    half + half.mul_f64(fastrand::f64())
}

/// HELP text for the breakers' series (each service calls it once).
pub fn describe() {
    metrics::describe_gauge!(
        "adpulse_breaker_state",
        "Circuit breaker state by breaker: 0 closed, 1 open (calls refused, the fallback answers), 2 half open (one trial call)"
    );
    metrics::describe_counter!(
        "adpulse_breaker_calls_total",
        "Calls through a circuit breaker by outcome: ok, error, timeout, rejected (refused while open)"
    );
    metrics::describe_counter!(
        "adpulse_breaker_opened_total",
        "Times a circuit breaker opened"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> BreakerConfig {
        BreakerConfig {
            failures: 3,
            open_for: Duration::from_secs(5),
            timeout: Duration::from_millis(100),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn opens_after_failures_in_a_row_refuses_then_closes_after_a_good_trial() {
        let b = Breaker::new("test", cfg());
        let calls = std::sync::atomic::AtomicU32::new(0);
        let fail = || async {
            calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Err::<(), _>("down")
        };
        assert!(matches!(b.call(fail()).await, Err(Refused::Failed("down"))));
        assert!(
            b.call(async { Ok::<_, &str>(1) }).await.is_ok(),
            "a success resets the count"
        );
        for _ in 0..2 {
            let _ = b.call(fail()).await;
        }
        assert!(!b.is_open(), "two in a row do not open it");
        let _ = b.call(fail()).await;
        assert!(b.is_open(), "three in a row do");
        let before = calls.load(std::sync::atomic::Ordering::Relaxed);
        assert!(matches!(b.call(fail()).await, Err(Refused::Open)));
        assert_eq!(
            calls.load(std::sync::atomic::Ordering::Relaxed),
            before,
            "not called while open"
        );

        tokio::time::advance(Duration::from_secs(5)).await;
        // The trial fails: open again for another open_for.
        assert!(matches!(b.call(fail()).await, Err(Refused::Failed(_))));
        assert!(matches!(b.call(fail()).await, Err(Refused::Open)));
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(b.call(async { Ok::<_, &str>(7) }).await.ok(), Some(7));
        assert!(!b.is_open(), "a good trial closes it");
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_past_the_timeout_is_a_failure() {
        let b = Breaker::new("slow", cfg());
        for _ in 0..3 {
            let slow = async {
                tokio::time::sleep(Duration::from_secs(60)).await;
                Ok::<(), &str>(())
            };
            assert!(matches!(b.call(slow).await, Err(Refused::Timeout)));
        }
        assert!(b.is_open());
    }

    #[tokio::test(start_paused = true)]
    async fn an_abandoned_trial_does_not_hold_the_breaker_half_open() {
        let b = Breaker::new("abandoned", cfg());
        for _ in 0..3 {
            let _ = b.call(async { Err::<(), _>("down") }).await;
        }
        tokio::time::advance(Duration::from_secs(5)).await;
        // The trial's caller gives up before it ends.
        let trial = b.call(std::future::pending::<Result<(), &str>>());
        let _ = tokio::time::timeout(Duration::from_millis(1), trial).await;
        assert!(matches!(
            b.call(async { Ok::<_, &str>(()) }).await,
            Err(Refused::Open)
        ));
        tokio::time::advance(Duration::from_secs(6)).await;
        assert!(b.call(async { Ok::<_, &str>(()) }).await.is_ok());
    }

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let base = Duration::from_millis(100);
        let max = Duration::from_secs(5);
        for attempt in 0..40 {
            let full = base
                .saturating_mul(2u32.saturating_pow(attempt.min(30)))
                .min(max);
            let d = backoff(attempt, base, max);
            assert!(
                d >= full / 2 && d <= full,
                "attempt {attempt}: {d:?} of {full:?}"
            );
        }
        let waits: std::collections::BTreeSet<_> = (0..20).map(|_| backoff(3, base, max)).collect();
        assert!(waits.len() > 1, "jittered");
    }
}
