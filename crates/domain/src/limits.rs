//! The bounds an event must respect; part of the configuration, so operators
//! can tune them without a release.

use std::time::Duration;

/// What the parser accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted event body, in bytes.
    pub max_event_bytes: usize,
    /// How far `occurred_at` may lie in the future of the receiver's clock
    /// (sender clocks drift).
    pub max_future_skew: Duration,
    /// How far `occurred_at` may lie in the past: events older than the
    /// retention horizon could never be reported, so they are refused.
    pub retention: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_event_bytes: 16 * 1024,
            max_future_skew: Duration::from_secs(5 * 60),
            retention: Duration::from_secs(30 * 24 * 3600),
        }
    }
}
