//! A circuit breaker per destination (channel): after `failures` failed
//! deliveries in a row it opens, and the channel's deliveries wait
//! (unsent, their retry schedule untouched) until `open_for` has passed;
//! then one trial goes through (half open): success closes it, failure
//! opens it again. One dead endpoint so costs a timeout per `open_for`,
//! not one per notification, and never holds up other channels.

use std::time::{Duration, Instant};

/// A destination's breaker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Breaker {
    /// Sending; `failures` in a row so far.
    Closed {
        /// Consecutive failures.
        failures: u32,
    },
    /// Refusing until `until`.
    Open {
        /// When a trial may go.
        until: Instant,
    },
    /// One trial in flight.
    HalfOpen,
}

impl Default for Breaker {
    fn default() -> Self {
        Self::Closed { failures: 0 }
    }
}

impl Breaker {
    /// Whether a delivery may go now; a breaker whose time is up lets
    /// this one through as its trial.
    pub fn admit(&mut self, now: Instant) -> bool {
        match *self {
            Self::Closed { .. } => true,
            Self::Open { until } if now >= until => {
                *self = Self::HalfOpen;
                true
            }
            Self::Open { .. } | Self::HalfOpen => false,
        }
    }

    /// Records how a delivery went; true if this opened the breaker.
    pub fn record(&mut self, ok: bool, now: Instant, failures: u32, open_for: Duration) -> bool {
        let open = |b: &mut Self| {
            *b = Self::Open {
                until: now + open_for,
            };
            true
        };
        match (*self, ok) {
            (_, true) => {
                *self = Self::default();
                false
            }
            (Self::HalfOpen, false) => open(self),
            (Self::Closed { failures: n }, false) if n + 1 >= failures => open(self),
            (Self::Closed { failures: n }, false) => {
                *self = Self::Closed { failures: n + 1 };
                false
            }
            (Self::Open { .. }, false) => false,
        }
    }

    /// Whether it is refusing.
    pub fn is_open(&self) -> bool {
        !matches!(self, Self::Closed { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_failures_in_a_row_and_closes_after_a_good_trial() {
        let t0 = Instant::now();
        let open_for = Duration::from_secs(30);
        let mut b = Breaker::default();
        assert!(!b.record(false, t0, 3, open_for));
        assert!(!b.record(true, t0, 3, open_for)); // a success resets the count
        assert!(!b.record(false, t0, 3, open_for));
        assert!(!b.record(false, t0, 3, open_for));
        assert!(b.record(false, t0, 3, open_for));
        assert!(!b.admit(t0 + Duration::from_secs(29)));
        assert!(b.admit(t0 + open_for));
        // Only one trial at a time.
        assert!(!b.admit(t0 + open_for));
        // A failed trial opens it again; a good one closes it.
        assert!(b.record(false, t0 + open_for, 3, open_for));
        assert!(b.admit(t0 + open_for * 2));
        assert!(!b.record(true, t0 + open_for * 2, 3, open_for));
        assert_eq!(b, Breaker::Closed { failures: 0 });
    }
}
