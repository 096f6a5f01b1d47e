//! The `[alerts]` section: how alert channels are checked and how the
//! alerter evaluates and delivers.

use serde::Deserialize;

/// Alert rules and their notifications (the API checks channels with it;
/// `adpulse alerter` evaluates and delivers with it).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertsConfig {
    /// Whether channels may point at loopback, private, link-local or
    /// reserved addresses (receivers on the same network, tests). Off, a
    /// tenant cannot make adpulse call its own internals (SSRF).
    pub allow_private_destinations: bool,
    /// The alerter's `/health/*` and `/metrics`.
    pub listen: String,
    /// The alerters' consumer group on the window-result topic.
    pub group_id: String,
    /// How long a campaign's facts and a tenant's rules are kept before
    /// being read again (a rule change takes effect within it).
    pub cache_ms: u64,
    /// How often every rule is evaluated again without a new result (a
    /// `for` duration running out, a trailing span moving on).
    pub tick_ms: u64,
    /// Attempts of one delivery before it is a dead letter.
    pub max_attempts: u32,
    /// The first retry's delay; each next one doubles (with jitter), up
    /// to `retry_max_ms`.
    pub retry_base_ms: u64,
    /// The longest delay between two attempts.
    pub retry_max_ms: u64,
    /// One delivery's time limit (connect, send, answer).
    pub request_timeout_ms: u64,
    /// Consecutive failures that open a destination's circuit breaker.
    pub breaker_failures: u32,
    /// How long an open breaker refuses before it lets one trial through.
    pub breaker_open_ms: u64,
    /// Deliveries sent at once.
    pub max_in_flight: usize,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        Self {
            allow_private_destinations: false,
            listen: "127.0.0.1:8083".into(),
            group_id: "adpulse-alerter".into(),
            cache_ms: 5_000,
            tick_ms: 1_000,
            max_attempts: 10,
            retry_base_ms: 5_000,
            retry_max_ms: 3_600_000,
            request_timeout_ms: 10_000,
            breaker_failures: 5,
            breaker_open_ms: 30_000,
            max_in_flight: 32,
        }
    }
}
